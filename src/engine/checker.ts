import { type BlobIndex, loadIndex, type PackContents, type PackedBlob } from './blob-index.ts';
import { BlobReader } from './blob-reader.ts';
import { objectId } from './crypto.ts';
import { readListing } from './listing.ts';
import { decodePackHeader, packId, packName, packTail } from './pack.ts';
import type { Repository } from './repository.ts';
import { listSnapshots } from './snapshot.ts';

export interface CheckFinding {
  /** The object at fault: `data/ab/ab…`, `index/…`, `snapshots/…`. */
  object: string;
  message: string;
  /** Snapshot files that depend on it, as `<snapshot id prefix>:<path>`. */
  affected: string[];
}

export interface CheckResult {
  snapshots: number;
  packs: number;
  blobs: number;
  packsRead: number;
  bytesRead: number;
  /**
   * Packs stored but named by no index, and their bytes: left by an interrupted backup or prune, or being
   * written by one that is still running. Not an error (no snapshot needs them); `prune` removes them.
   */
  unindexedPacks: number;
  unindexedBytes: number;
  findings: CheckFinding[];
}

export interface CheckOptions {
  /** Read and decrypt this fraction of packs (0 = structure only, 1 = all). */
  readData: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `repo verify`: the structure (indexes open, every indexed pack exists and is long enough, every snapshot
 * opens and every blob its listing names is indexed) and, when asked, the data: whole packs read, their
 * headers checked against their names, every blob decrypted, decompressed and checked against its keyed id.
 * Packs that no index names are counted, not reported as errors.
 */
export async function checkRepository(repo: Repository, options: CheckOptions): Promise<CheckResult> {
  const findings: CheckFinding[] = [];
  const badBlobs = new Map<string, CheckFinding>();
  const index = await loadIndex(repo, (object, message) =>
    findings.push({
      object,
      message: `${message} (the packs it lists can be re-indexed from their headers)`,
      affected: [],
    }),
  );

  // Each pack's blobs, gathered once: verify visits every pack, and scanning the whole index per pack
  // would grow with packs × blobs.
  const packs = new Map<string, PackedBlob[]>();
  for (const [id, at] of index.entries()) {
    const blobs = packs.get(at.pack) ?? [];
    if (blobs.length === 0) packs.set(at.pack, blobs);
    blobs.push({ id, type: at.type, offset: at.offset, length: at.length, rawLength: at.rawLength });
  }
  const stored = new Map((await repo.backend.list('data/')).map((info) => [info.name, info.size]));
  const indexedNames = new Set<string>();
  for (const [pack, blobs] of packs) {
    const name = packName(pack);
    indexedNames.add(name);
    const size = stored.get(name);
    const end = Math.max(...blobs.map((blob) => blob.offset + blob.length));
    if (size === undefined) {
      markPack(blobs, badBlobs, findings, name, 'is missing, but the index lists blobs in it');
    } else if (size < end + 4) {
      markPack(
        blobs,
        badBlobs,
        findings,
        name,
        `is truncated: ${size} bytes, the index needs at least ${end + 4}`,
      );
    }
  }

  let unindexedPacks = 0;
  let unindexedBytes = 0;
  for (const [name, size] of stored) {
    if (indexedNames.has(name)) continue;
    unindexedPacks++;
    unindexedBytes += size;
  }

  let packsRead = 0;
  let bytesRead = 0;
  if (options.readData > 0) {
    const broken = new Set(findings.map((finding) => finding.object));
    const subset = [...packs.keys()].filter(
      (pack) => !broken.has(packName(pack)) && (options.readData >= 1 || sampled(pack, options.readData)),
    );
    for (const pack of subset) {
      options.onProgress?.(packsRead, subset.length);
      const result = await readPack(repo, index, { pack, blobs: packs.get(pack)! });
      packsRead++;
      bytesRead += result.bytes;
      for (const problem of result.problems) {
        const finding: CheckFinding = { object: packName(pack), message: problem.message, affected: [] };
        findings.push(finding);
        for (const blob of problem.blobs) badBlobs.set(blob, finding);
      }
    }
  }

  const reader = new BlobReader(repo, index);
  const snapshots = await listSnapshots(repo, (id, message) =>
    findings.push({ object: `snapshots/${id}`, message, affected: [] }),
  );
  for (const { id, snapshot } of snapshots) {
    const label = id.slice(0, 8);
    for (const blob of snapshot.tree) {
      const bad = badBlobs.get(blob);
      if (bad) bad.affected.push(`${label}:(listing of ${snapshot.system})`);
      else if (!index.has(blob)) {
        findings.push({
          object: `snapshots/${id}`,
          message: `listing blob ${blob} is in no index`,
          affected: [`${label}:(listing)`],
        });
      }
    }
    try {
      for await (const node of readListing(reader, snapshot.tree, (message) =>
        findings.push({ object: `snapshots/${id}`, message, affected: [] }),
      )) {
        for (const blob of node.content ?? []) {
          const bad = badBlobs.get(blob);
          if (bad) {
            if (bad.affected.at(-1) !== `${label}:${node.path}`) bad.affected.push(`${label}:${node.path}`);
          } else if (!index.has(blob)) {
            const finding: CheckFinding = {
              object: `blob ${blob}`,
              message: 'is in no index',
              affected: [`${label}:${node.path}`],
            };
            findings.push(finding);
            badBlobs.set(blob, finding);
          }
        }
      }
    } catch (error) {
      findings.push({
        object: `snapshots/${id}`,
        message: `listing cannot be read: ${(error as Error).message}`,
        affected: [],
      });
    }
  }
  return {
    snapshots: snapshots.length,
    packs: packs.size,
    blobs: index.size,
    packsRead,
    bytesRead,
    unindexedPacks,
    unindexedBytes,
    findings,
  };
}

function markPack(
  blobs: readonly PackedBlob[],
  badBlobs: Map<string, CheckFinding>,
  findings: CheckFinding[],
  name: string,
  message: string,
): void {
  const finding: CheckFinding = { object: name, message, affected: [] };
  findings.push(finding);
  for (const blob of blobs) badBlobs.set(blob.id, finding);
}

/** A stable sample: the same packs are chosen for the same fraction, so repeated runs can be compared. */
function sampled(pack: string, fraction: number): boolean {
  return Number.parseInt(pack.slice(0, 8), 16) / 0x1_0000_0000 < fraction;
}

async function readPack(
  repo: Repository,
  index: BlobIndex,
  indexed: PackContents,
): Promise<{ bytes: number; problems: { message: string; blobs: string[] }[] }> {
  const { pack } = indexed;
  const name = packName(pack);
  const problems: { message: string; blobs: string[] }[] = [];
  const data = await repo.backend.read(name);
  const tail = packTail(data);
  if (!tail || packId(tail.header, tail.trailer) !== pack) {
    problems.push({ message: 'its header does not match its name (altered or damaged)', blobs: [] });
  }
  try {
    const header = decodePackHeader(repo, name, data);
    const inHeader = new Set(header.map((blob) => blob.id));
    const missing = indexed.blobs.filter((blob) => !inHeader.has(blob.id));
    if (missing.length > 0) {
      problems.push({
        message: `${missing.length} indexed blobs are not in its header`,
        blobs: missing.map((b) => b.id),
      });
    }
  } catch (error) {
    problems.push({ message: (error as Error).message, blobs: [] });
  }
  const reader = new BlobReader(repo, index);
  for (const blob of indexed.blobs) {
    try {
      const plain = await reader.decode(
        blob.id,
        { ...blob, pack },
        name,
        data.subarray(blob.offset, blob.offset + blob.length),
      );
      if (objectId(repo.idKey, plain) !== blob.id) throw new Error(`blob ${blob.id} does not hash to its id`);
    } catch (error) {
      problems.push({ message: (error as Error).message, blobs: [blob.id] });
    }
  }
  return { bytes: data.length, problems };
}
