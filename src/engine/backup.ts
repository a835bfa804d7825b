import { hostname } from 'node:os';
import { type ArchiveEntry, type ArchiveProgress, Archiver, type Problem } from './archiver.ts';
import { loadIndex } from './blob-index.ts';
import { BlobReader } from './blob-reader.ts';
import { BlobStore } from './blob-store.ts';
import { ContentPool } from './content-pool.ts';
import { type Node, readListing } from './listing.ts';
import { holdLocks } from './lock.ts';
import type { Repository } from './repository.ts';
import { listSnapshots, type Snapshot, type SnapshotRef, writeSnapshot } from './snapshot.ts';

export type BackupInput =
  | {
      kind: 'paths';
      paths: string[];
      entries: AsyncIterable<ArchiveEntry>;
      /** What the walk left out (sockets, unreadable directories …), filled as `entries` is read. */
      problems?: readonly Problem[];
    }
  | {
      kind: 'command';
      command: string[];
      filename: string;
      stdout: AsyncIterable<Uint8Array>;
      /** Settles when the command has exited: rejects on a non-zero exit, a signal or a timeout. */
      done: Promise<void>;
    };

export interface BackupResult {
  repository: string;
  snapshot: string;
  summary: Snapshot['summary'];
  problems: Problem[];
}

export interface BackupOptions {
  system: string;
  policy: string;
  onProgress?: (progress: ArchiveProgress) => void;
  now?: () => Date;
}

/**
 * One backup of one system into each of its repositories, in one pass over the source. Order of writes: packs,
 * then indexes, then the snapshot, so an interrupted or failed backup never leaves a snapshot that points at
 * missing data. A command that fails (exit code, signal, timeout) commits no snapshot anywhere.
 */
export async function backupSystem(
  repositories: Repository[],
  source: BackupInput | (() => BackupInput),
  options: BackupOptions,
): Promise<BackupResult[]> {
  const started = (options.now ?? (() => new Date()))();
  // Shared locks from before the index is read: a prune (exclusive) must not remove what this run dedups against.
  const locks = await holdLocks(repositories, 'shared', { purpose: `backup ${options.system}` });
  try {
    // A source given as a function starts only now: a command is not run while the repository is locked.
    const input = typeof source === 'function' ? source() : source;
    return await backupLocked(repositories, input, options, started);
  } finally {
    await locks.release();
  }
}

async function backupLocked(
  repositories: Repository[],
  input: BackupInput,
  options: BackupOptions,
  started: Date,
): Promise<BackupResult[]> {
  const prepared = await Promise.all(
    repositories.map(async (repo) => {
      const index = await loadIndex(repo);
      const previous = (await listSnapshots(repo, () => {})).filter(
        (ref) => ref.snapshot.system === options.system,
      );
      const parent = findParent(previous, input);
      const store = new BlobStore(repo, index);
      return {
        repo,
        store,
        parent,
        expected: previous.at(-1)?.snapshot.summary.bytes,
        nodes: parent ? await parentNodes(repo, store, parent.snapshot) : undefined,
      };
    }),
  );
  const pool = new ContentPool(
    prepared.map(({ store }) => store),
    { onBytes: () => archiver.report() },
  );
  const archiver = new Archiver(
    prepared.map(({ store, nodes }) => ({ store, parent: nodes })),
    pool,
    options.onProgress,
    prepared[0]?.expected,
  );
  const time = started.toISOString();
  const mtime = (BigInt(started.getTime()) * 1_000_000n).toString();
  try {
    if (input.kind === 'paths') {
      await archiver.addEntries(input.entries);
    } else {
      // Watch the command from the start, so a failure is seen even while its output is still being read.
      const exit = input.done.then(
        () => undefined,
        (error: unknown) => error,
      );
      await archiver.addStream(input.filename, input.stdout, {
        mode: 0o600,
        mtime,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
      });
      const failure = await exit;
      if (failure) throw failure;
    }
  } catch (error) {
    await pool.close();
    // Keep what was stored indexed, so the next run deduplicates against it; commit no snapshot.
    await Promise.allSettled(prepared.map(({ store }) => store.close()));
    throw error;
  }
  await pool.close();
  const trees = await archiver.finish();
  await Promise.all(prepared.map(({ store }) => store.close()));

  const durationMs = Date.now() - started.getTime();
  // The snapshot lists all that the source could not give: what the walk skipped and what could not be read.
  const problems: Problem[] = [
    ...(input.kind === 'paths' ? (input.problems ?? []) : []).map(({ path, message }) => ({ path, message })),
    ...archiver.problems,
  ];
  const results: BackupResult[] = [];
  for (let i = 0; i < prepared.length; i++) {
    const { repo, store, parent } = prepared[i]!;
    const summary = {
      files: archiver.totals.files,
      dirs: archiver.totals.dirs,
      symlinks: archiver.totals.symlinks,
      bytes: archiver.totals.bytes,
      bytesRead: archiver.totals.bytesRead,
      bytesAdded: store.stats.bytesAdded,
      bytesStored: store.stats.bytesStored,
      durationMs,
    };
    const snapshot: Snapshot = {
      version: 1,
      system: options.system,
      policy: options.policy,
      time,
      hostname: hostname(),
      source:
        input.kind === 'paths'
          ? { kind: 'paths', paths: input.paths }
          : { kind: 'command', command: input.command, filename: input.filename },
      tree: trees[i]!,
      ...(parent ? { parent: parent.id } : {}),
      summary,
      problems,
    };
    const id = await writeSnapshot(repo, snapshot);
    results.push({ repository: repo.location, snapshot: id, summary, problems });
  }
  return results;
}

/** The newest snapshot of the same system and source: its listing lets unchanged files go unread. */
function findParent(previous: SnapshotRef[], input: BackupInput): SnapshotRef | undefined {
  if (input.kind !== 'paths') return undefined;
  const same = previous.filter(
    (ref) =>
      ref.snapshot.source.kind === 'paths' &&
      JSON.stringify(ref.snapshot.source.paths) === JSON.stringify(input.paths),
  );
  return same[same.length - 1];
}

async function parentNodes(
  repo: Repository,
  store: BlobStore,
  snapshot: Snapshot,
): Promise<Map<string, Node>> {
  const nodes = new Map<string, Node>();
  const reader = new BlobReader(repo, store.index);
  try {
    for await (const node of readListing(reader, snapshot.tree)) {
      if (node.type === 'file' && node.content?.every((id) => store.index.has(id)))
        nodes.set(node.path, node);
    }
  } catch {
    // A damaged parent listing only costs re-reading files; the new snapshot does not depend on it.
  }
  return nodes;
}
