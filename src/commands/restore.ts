import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { loadIndex } from '../engine/blob-index.ts';
import { BlobReader } from '../engine/blob-reader.ts';
import { type Node, readListing } from '../engine/listing.ts';
import {
  normalizeInclude,
  type RestoreProblem,
  type RestoreTotals,
  restoreToStream,
  restoreTree,
} from '../engine/restorer.ts';
import { findSnapshot, listSnapshots } from '../engine/snapshot.ts';
import { type AccessOptions, openSystemRepository } from './repository-access.ts';

export interface RestoreCommandOptions extends AccessOptions {
  system: string;
  repository?: string;
  snapshot: string;
  /** A directory to restore into, or a stream to write one file to. */
  target: { dir: string } | { stream: Writable };
  /** Only this path of the snapshot (and what lies under it). */
  include?: string;
  /** `expected`: the bytes the restore will write, when known (a whole snapshot), for an ETA. */
  onProgress?: (totals: RestoreTotals, current: string, expected?: number) => void;
}

export interface RestoreResult {
  repository: string;
  snapshot: string;
  system: string;
  totals: RestoreTotals;
  problems: RestoreProblem[];
  /** Damaged snapshots and indexes the restore went on without, each naming its object. */
  warnings: string[];
  durationMs: number;
}

/** `restorable restore`: a snapshot, or a path in it, into a directory; or one file to a stream. */
export async function runRestore(options: RestoreCommandOptions): Promise<RestoreResult> {
  const started = Date.now();
  const { repo, name } = await openSystemRepository(options);
  const damaged: { id: string; message: string }[] = [];
  const refs = await listSnapshots(repo, (id, message) => damaged.push({ id, message }));
  const { id, snapshot } = chooseSnapshot(refs, damaged, options);
  // During an incident every byte that can be restored counts: a damaged index costs only the blobs it
  // alone lists (named per file), not the whole restore.
  const warnings = damaged.map((d) => `snapshots/${d.id} is damaged and was skipped: ${d.message}`);
  const index = await loadIndex(repo, (object, message) =>
    warnings.push(`${object} is damaged and was skipped: ${message}`),
  );
  const reader = new BlobReader(repo, index, { decodeThread: true });
  try {
    const restored = await restoreWith(
      reader,
      options,
      { repository: name, snapshot: id, system: snapshot.system },
      snapshot.tree,
      snapshot.summary.bytes,
      started,
    );
    return { ...restored, warnings };
  } finally {
    await reader.close();
  }
}

/**
 * The snapshot asked for. A damaged snapshot may be the newest, so `latest` among the readable ones comes
 * with the damage as a warning (see runRestore); an id that names a damaged snapshot says it is damaged.
 */
function chooseSnapshot(
  refs: Awaited<ReturnType<typeof listSnapshots>>,
  damaged: readonly { id: string; message: string }[],
  options: RestoreCommandOptions,
) {
  try {
    return findSnapshot(refs, options.snapshot, options.system);
  } catch (error) {
    const hit = damaged.find((d) => options.snapshot !== 'latest' && d.id.startsWith(options.snapshot));
    if (hit) throw new Error(`snapshots/${hit.id} is damaged: ${hit.message}`, { cause: error });
    throw error;
  }
}

async function restoreWith(
  reader: BlobReader,
  options: RestoreCommandOptions,
  result: { repository: string; snapshot: string; system: string },
  tree: readonly string[],
  snapshotBytes: number,
  started: number,
): Promise<Omit<RestoreResult, 'warnings'>> {
  const id = result.snapshot;
  if ('dir' in options.target) {
    const { totals, problems } = await restoreTree(reader, tree, resolve(options.target.dir), {
      ...(options.include !== undefined ? { include: options.include } : {}),
      ...(options.onProgress
        ? {
            onProgress: (totals: RestoreTotals, current: string) =>
              options.onProgress!(totals, current, options.include === undefined ? snapshotBytes : undefined),
          }
        : {}),
    });
    if (
      options.include !== undefined &&
      totals.files + totals.dirs + totals.symlinks === 0 &&
      problems.length === 0
    ) {
      throw new Error(`snapshot ${id.slice(0, 8)} holds nothing at ${options.include}`);
    }
    return { ...result, totals, problems, durationMs: Date.now() - started };
  }
  const node = await oneFile(reader, tree, options.include, id);
  const bytes = await restoreToStream(reader, node, options.target.stream);
  return {
    ...result,
    totals: { files: 1, dirs: 0, symlinks: 0, bytes },
    problems: [],
    durationMs: Date.now() - started,
  };
}

/** The file to stream: the one named, or the snapshot's only file (a command's output). */
async function oneFile(
  reader: BlobReader,
  tree: readonly string[],
  include: string | undefined,
  id: string,
): Promise<Node> {
  const wanted = include === undefined ? undefined : normalizeInclude(include);
  const files: Node[] = [];
  for await (const node of readListing(reader, tree)) {
    if (wanted === undefined ? node.type === 'file' : node.path === wanted) {
      files.push(node);
      if (files.length > 1) break;
    }
  }
  const label = id.slice(0, 8);
  if (files.length === 0)
    throw new Error(wanted ? `snapshot ${label} holds no ${wanted}` : `snapshot ${label} holds no file`);
  if (files.length > 1)
    throw new Error(`snapshot ${label} holds several files: name one with --path to write it to stdout`);
  const node = files[0]!;
  if (node.type !== 'file')
    throw new Error(`${node.path} in snapshot ${label} is a ${node.type}, not a file`);
  return node;
}
