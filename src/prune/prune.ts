/**
 * Prune: removes the snapshots a system's retention says to remove, then the data no remaining snapshot needs.
 *
 * Runs under an exclusive repository lock (see src/engine/lock.ts): no backup can be between reading the
 * index and writing its snapshot meanwhile, so a pack that no index names is a crashed backup's leftover and
 * a blob that no snapshot uses is garbage. The order of the writes and removals makes a crash at any point
 * leave a repository that `repo verify` passes and that a later prune finishes
 * (docs/decisions/0019-prune.md):
 *
 *  1. remove the snapshot objects selected for removal (what remains is a valid repository with fewer
 *     snapshots);
 *  2. read every remaining snapshot's listing (every system's) to find the blobs still used;
 *  3. write repacked packs (new packs holding the used blobs of mostly-unused packs; unindexed until 4);
 *  4. write ONE new index naming every pack that stays and the new ones;
 *  5. remove the old index objects (until then readers see each blob in the old pack or the new, both exist);
 *  6. remove the obsolete packs: unused, repacked, and never indexed (no index names them any more);
 *  7. extend the object-lock retention of what the remaining snapshots need.
 *
 * Nothing whose retain-until date is in the future is removed: it is reported as "locked until <date>".
 */

import {
  BlobIndex,
  decodeIndex,
  encodeIndex,
  type PackContents,
  type PackedBlob,
} from '../engine/blob-index.ts';
import { BlobReader } from '../engine/blob-reader.ts';
import { readListing } from '../engine/listing.ts';
import { holdLocks, LockedError } from '../engine/lock.ts';
import { PackWriter, packName } from '../engine/pack.ts';
import { type Repository, RepositoryError } from '../engine/repository.ts';
import { readSnapshot, type SnapshotRef } from '../engine/snapshot.ts';
import { NotFoundError } from '../storage/backend.ts';
import { type RetentionPolicy, type SnapshotDecision, selectSnapshots } from './select.ts';

/** One system whose snapshots are selected by its retention. */
export interface PruneTarget {
  system: string;
  retention: RetentionPolicy | undefined;
}

export interface PruneOptions {
  /** Decide and report only: nothing is locked, written or removed. */
  dryRun?: boolean;
  /** A pack whose unused share (by bytes) exceeds this is repacked (default 0.3). */
  repackThreshold?: number;
  /** The clock for selection, locks and retention (default: the system clock). */
  now?: () => Date;
  /** How long to wait for other locks (backups) to go away before failing (default 10 minutes). */
  lockWaitMs?: number;
  /** How often to look again meanwhile (default 5 s). */
  lockPollMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_REPACK_THRESHOLD = 0.3;
const DEFAULT_LOCK_WAIT_MS = 10 * 60 * 1000;
const DEFAULT_LOCK_POLL_MS = 5000;
/** A temporary file untouched for this long belongs to a write that will never finish. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;
/** Storage requests in flight at once for reads, removals and retention. */
const PARALLEL = 8;

export interface PruneDecision extends SnapshotDecision {
  system: string;
  /** True once the snapshot object is gone (never in a dry run). */
  removed: boolean;
  /** Selected for removal, but object lock protects it until then (ISO 8601). */
  lockedUntil?: string;
}

/** An object prune would have removed, but object lock protects. */
export interface LockedObject {
  object: string;
  until: string;
}

export interface SystemPrune {
  system: string;
  /** Snapshots kept (by decision, or because they are locked). */
  kept: number;
  /** Snapshots removed (or, in a dry run, to be removed). */
  removed: number;
  /** Of those removed, the ones past the maximum age. */
  disposals: number;
  /** Selected for removal, but still protected by object lock. */
  locked: number;
  decisions: PruneDecision[];
}

export interface RepositoryPrune {
  repository: string;
  dryRun: boolean;
  systems: SystemPrune[];
  /** Packs removed: no blob in them was used any more, or no index named them. */
  packsDeleted: number;
  /** Packs whose used blobs were copied into new packs, then removed. */
  packsRepacked: number;
  packsWritten: number;
  /** Index objects replaced by the one new index. */
  indexesReplaced: number;
  /** Temporary files of writes that never finished (a killed process's), removed. */
  temporariesRemoved: number;
  /** Bytes of the objects removed (snapshots, indexes, packs), less the bytes written by repacking. */
  bytesFreed: number;
  /** Objects whose retention was extended to the repository's object-lock period. */
  retentionExtended: number;
  locked: LockedObject[];
  /** What was left alone, and why (a damaged pack not repacked, a pack an undeletable index names). */
  notes: string[];
}

/** The result for one system, as the evidence records it. */
export interface PruneResult {
  kept: number;
  removed: number;
  disposals: number;
  locked: number;
  packsDeleted: number;
  packsRepacked: number;
  bytesFreed: number;
  decisions: PruneDecision[];
}

/** Prunes one system of a repository; the data pass covers the whole repository. */
export async function pruneSystem(
  repo: Repository,
  target: PruneTarget,
  options: PruneOptions = {},
): Promise<PruneResult> {
  const result = await pruneRepository(repo, [target], options);
  const system = result.systems[0]!;
  return {
    kept: system.kept,
    removed: system.removed,
    disposals: system.disposals,
    locked: system.locked,
    packsDeleted: result.packsDeleted,
    packsRepacked: result.packsRepacked,
    bytesFreed: result.bytesFreed,
    decisions: system.decisions,
  };
}

/**
 * Prunes the given systems of one repository, then its data. Retention is checked for every target before
 * anything happens (a RetentionError throws). Waits (bounded) for other holders' locks to go away.
 */
export async function pruneRepository(
  repo: Repository,
  targets: readonly PruneTarget[],
  options: PruneOptions = {},
): Promise<RepositoryPrune> {
  const clock = options.now ?? (() => new Date());
  // Selection errors (a bad retention) surface before any lock or storage access.
  for (const target of targets) selectSnapshots([], target.retention, clock());
  if (options.dryRun) return pruneLocked(repo, targets, options, clock);
  const lock = await waitForLock(repo, options, clock);
  try {
    return await pruneLocked(repo, targets, options, clock);
  } finally {
    await lock.release();
  }
}

async function waitForLock(
  repo: Repository,
  options: PruneOptions,
  clock: () => Date,
): Promise<{ release: () => Promise<void> }> {
  const deadline = Date.now() + (options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
  let told = false;
  for (;;) {
    try {
      return await holdLocks([repo], 'exclusive', {
        purpose: 'prune',
        now: clock,
        onProblem: (message) => options.log?.(message),
      });
    } catch (error) {
      if (!(error instanceof LockedError) || Date.now() >= deadline) throw error;
      if (!told) options.log?.(`${error.message} Waiting.`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, options.lockPollMs ?? DEFAULT_LOCK_POLL_MS));
    }
  }
}

/** Runs `work` over `items` with at most PARALLEL in flight; results in input order. */
async function mapLimit<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

interface ReadSnapshots {
  refs: SnapshotRef[];
  /** Snapshots whose metadata does not authenticate (or has an unknown shape): never removed, never counted. */
  unreadable: { id: string; message: string }[];
  sizes: Map<string, number>;
}

/**
 * Every snapshot. A snapshot that does not authenticate is set aside; a storage failure is an error, since a
 * snapshot that merely could not be read must not have its data removed.
 */
async function readSnapshots(repo: Repository): Promise<ReadSnapshots> {
  const objects = await repo.backend.list('snapshots/');
  const refs: SnapshotRef[] = [];
  const unreadable: ReadSnapshots['unreadable'] = [];
  await mapLimit(objects, async (object) => {
    const id = object.name.slice('snapshots/'.length);
    try {
      refs.push({ id, snapshot: await readSnapshot(repo, id) });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      if (error instanceof RepositoryError || error instanceof SyntaxError) {
        unreadable.push({ id, message: (error as Error).message });
        return;
      }
      throw error;
    }
  });
  return { refs, unreadable, sizes: new Map(objects.map((o) => [o.name, o.size])) };
}

/** The retain-until date of an object when it is in the future, else undefined. */
async function lockedUntil(repo: Repository, name: string, now: Date): Promise<Date | undefined> {
  const until = await repo.backend.retainedUntil?.(name);
  return until && until.getTime() > now.getTime() ? until : undefined;
}

async function pruneLocked(
  repo: Repository,
  targets: readonly PruneTarget[],
  options: PruneOptions,
  clock: () => Date,
): Promise<RepositoryPrune> {
  const now = clock();
  const dryRun = options.dryRun ?? false;
  const result: RepositoryPrune = {
    repository: repo.location,
    dryRun,
    systems: [],
    packsDeleted: 0,
    packsRepacked: 0,
    packsWritten: 0,
    indexesReplaced: 0,
    temporariesRemoved: 0,
    bytesFreed: 0,
    retentionExtended: 0,
    locked: [],
    notes: [],
  };
  const { refs, unreadable, sizes } = await readSnapshots(repo);
  const byId = new Map(refs.map((ref) => [ref.id, ref]));

  // 1. Selection per system, and removal of the snapshot objects.
  const removedIds = new Set<string>();
  for (const target of targets) {
    const mine = refs.filter((ref) => ref.snapshot.system === target.system);
    const candidates = [
      ...mine.map((ref) => ({ id: ref.id, time: ref.snapshot.time, authentic: true })),
      // Unreadable snapshots may be this system's: they are shown, kept, and counted by no rule.
      ...unreadable.map(({ id }) => ({ id, time: new Date(0), authentic: false })),
    ];
    const decisions = selectSnapshots(candidates, target.retention, now);
    const system: SystemPrune = {
      system: target.system,
      kept: 0,
      removed: 0,
      disposals: 0,
      locked: 0,
      decisions: [],
    };
    const rows = await mapLimit(decisions, async (decision): Promise<PruneDecision> => {
      const row: PruneDecision = { ...decision, system: target.system, removed: false };
      if (decision.decision !== 'remove' || !byId.has(decision.id)) return row;
      const name = `snapshots/${decision.id}`;
      const until = await lockedUntil(repo, name, now);
      if (until) {
        row.lockedUntil = until.toISOString();
        row.reasons = [...row.reasons, `locked until ${row.lockedUntil}`];
        result.locked.push({ object: name, until: row.lockedUntil });
        return row;
      }
      if (!dryRun) {
        await repo.backend.remove(name);
        row.removed = true;
        removedIds.add(decision.id);
        result.bytesFreed += sizes.get(name) ?? 0;
      }
      return row;
    });
    for (const row of rows) {
      if (row.decision === 'remove' && !row.lockedUntil) {
        system.removed++;
        if (row.disposal) system.disposals++;
      } else {
        system.kept++;
        if (row.lockedUntil) system.locked++;
      }
    }
    system.decisions = rows;
    result.systems.push(system);
  }
  if (dryRun) return result;

  const remaining = refs.filter((ref) => !removedIds.has(ref.id));
  await collectGarbage(repo, remaining, options, now, result);
  return result;
}

interface IndexedPack {
  id: string;
  /** Every blob any index lists in it, by id. */
  blobs: Map<string, PackedBlob>;
  /** Stored size, or undefined when the pack object is missing. */
  size: number | undefined;
  total: number;
  used: PackedBlob[];
  usedBytes: number;
  /** Named by an index object that cannot be removed: must stay as it is. */
  pinned: boolean;
}

/** Steps 2 to 7: finds what the remaining snapshots use and removes the rest. */
async function collectGarbage(
  repo: Repository,
  remaining: readonly SnapshotRef[],
  options: PruneOptions,
  now: Date,
  result: RepositoryPrune,
): Promise<void> {
  const threshold = options.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  // Every index, read as it is: a damaged one would make the packs it lists look unused, so it stops prune.
  const indexObjects = await repo.backend.list('index/');
  const indexes = await mapLimit(indexObjects, async (object) => {
    const id = object.name.slice('index/'.length);
    let packs: PackContents[];
    try {
      packs = decodeIndex(await repo.readSealed('index', 'index', id), `${repo.location}: ${object.name}`);
    } catch (error) {
      throw new RepositoryError(
        `${repo.location}: ${object.name} cannot be read (${(error as Error).message}); prune removed the snapshots it was asked to, but removes no data while an index is unreadable, since the packs it lists would look unused. Run \`restorable repo verify\`.`,
        { cause: error },
      );
    }
    return { name: object.name, size: object.size, packs };
  });
  const stored = new Map((await repo.backend.list('data/')).map((info) => [info.name, info.size]));
  const packs = new Map<string, IndexedPack>();
  const index = new BlobIndex();
  for (const { packs: listed } of indexes) {
    for (const contents of listed) {
      index.addPack(contents);
      let pack = packs.get(contents.pack);
      if (!pack) {
        pack = {
          id: contents.pack,
          blobs: new Map(),
          size: stored.get(packName(contents.pack)),
          total: 0,
          used: [],
          usedBytes: 0,
          pinned: false,
        };
        packs.set(contents.pack, pack);
      }
      for (const blob of contents.blobs) {
        if (!pack.blobs.has(blob.id)) {
          pack.blobs.set(blob.id, blob);
          pack.total += blob.length;
        }
      }
    }
  }

  // 2. The blobs the remaining snapshots use: their listings' tree blobs and every file's data blobs.
  const used = new Set<string>();
  const reader = new BlobReader(repo, index);
  for (const { id, snapshot } of remaining) {
    for (const blob of snapshot.tree) used.add(blob);
    try {
      for await (const node of readListing(reader, snapshot.tree)) {
        for (const blob of node.content ?? []) used.add(blob);
      }
    } catch (error) {
      throw new RepositoryError(
        `${repo.location}: the listing of snapshot ${id.slice(0, 8)} cannot be read (${(error as Error).message}); prune removed the snapshots it was asked to, but removes no data while it cannot tell what is used. Run \`restorable repo verify\`.`,
        { cause: error },
      );
    }
  }

  // Each used blob is kept in one pack: the stored pack with the largest used share that holds it, so a
  // pack repacked by an interrupted prune loses to the new pack that already holds its used blobs.
  const share = new Map<string, number>();
  for (const pack of packs.values()) {
    let bytes = 0;
    for (const blob of pack.blobs.values()) if (used.has(blob.id)) bytes += blob.length;
    share.set(pack.id, pack.total === 0 ? 0 : bytes / pack.total);
  }
  const ranked = [...packs.values()].sort(
    (a, b) =>
      Number(b.size !== undefined) - Number(a.size !== undefined) ||
      share.get(b.id)! - share.get(a.id)! ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const homed = new Set<string>();
  for (const pack of ranked) {
    for (const blob of pack.blobs.values()) {
      if (used.has(blob.id) && !homed.has(blob.id)) {
        homed.add(blob.id);
        pack.used.push(blob);
        pack.usedBytes += blob.length;
      }
    }
  }

  // What would go: indexed packs without a used blob, packs mostly unused, packs no index names.
  const toDelete: IndexedPack[] = [];
  const toRepack: IndexedPack[] = [];
  for (const pack of packs.values()) {
    if (pack.size === undefined) continue; // missing: dropped from the index unless used (verify reports it)
    if (pack.used.length === 0) toDelete.push(pack);
    else if ((pack.total - pack.usedBytes) / pack.total > threshold) toRepack.push(pack);
  }
  const unindexed = [...stored.keys()].filter((name) => !packs.has(name.slice(name.lastIndexOf('/') + 1)));
  const missingUnused = [...packs.values()].filter((p) => p.size === undefined && p.used.length === 0);

  // An old index that object lock keeps must stay correct: every pack it names stays.
  const rewrite =
    toDelete.length > 0 || toRepack.length > 0 || missingUnused.length > 0 || indexes.length > 1;
  const keptIndexes = new Set<string>();
  if (rewrite) {
    await mapLimit(indexes, async ({ name, packs: listed }) => {
      const until = await lockedUntil(repo, name, now);
      if (!until) return;
      keptIndexes.add(name);
      result.locked.push({ object: name, until: until.toISOString() });
      for (const contents of listed) {
        const pack = packs.get(contents.pack);
        if (pack) pack.pinned = true;
      }
    });
  }
  const lockCheck = async (list: IndexedPack[]) =>
    (
      await mapLimit(list, async (pack) => {
        if (pack.pinned) {
          result.notes.push(
            `${packName(pack.id)} is named by an index that object lock keeps: left as it is`,
          );
          return undefined;
        }
        const until = await lockedUntil(repo, packName(pack.id), now);
        if (until) {
          result.locked.push({ object: packName(pack.id), until: until.toISOString() });
          return undefined;
        }
        return pack;
      })
    ).filter((pack): pack is IndexedPack => pack !== undefined);
  const deleting = await lockCheck(toDelete);
  const repacking = await lockCheck(toRepack);
  const unindexedFree = (
    await mapLimit(unindexed, async (name) => {
      const until = await lockedUntil(repo, name, now);
      if (!until) return name;
      result.locked.push({ object: name, until: until.toISOString() });
      return undefined;
    })
  ).filter((name): name is string => name !== undefined);

  // 3. Repack: the used blobs' sealed bytes are copied as they are (a blob's seal names its id, not its
  // pack), after checking that each still authenticates, so damage is never copied into a new pack.
  const written: PackContents[] = [];
  let bytesWritten = 0;
  const writer = new PackWriter(repo, (contents, size) => {
    written.push(contents);
    bytesWritten += size;
  });
  const repacked: IndexedPack[] = [];
  for (const pack of repacking) {
    const name = packName(pack.id);
    const data = await repo.backend.read(name);
    const blobs = [...pack.used].sort((a, b) => a.offset - b.offset);
    const copies: { blob: PackedBlob; sealed: Uint8Array }[] = [];
    try {
      for (const blob of blobs) {
        const sealed = data.subarray(blob.offset, blob.offset + blob.length);
        await reader.decode(blob.id, { ...blob, pack: pack.id }, name, sealed);
        copies.push({ blob, sealed });
      }
    } catch (error) {
      result.notes.push(`${name} was not repacked: ${(error as Error).message}`);
      continue;
    }
    for (const { blob, sealed } of copies) await writer.add(blob.type, blob.id, sealed, blob.rawLength);
    repacked.push(pack);
  }
  await writer.close();
  result.packsWritten = written.length;

  const obsolete = new Set([...deleting, ...repacked].map((pack) => pack.id));
  const changed = obsolete.size > 0 || missingUnused.length > 0 || indexes.length > 1;

  // 4. One new index: every pack that stays (all its blobs, as before) and the new ones.
  if (changed) {
    const listing: PackContents[] = [];
    for (const pack of packs.values()) {
      if (obsolete.has(pack.id)) continue;
      if (pack.size === undefined && pack.used.length === 0) continue;
      listing.push({ pack: pack.id, blobs: [...pack.blobs.values()].sort((a, b) => a.offset - b.offset) });
    }
    listing.push(...written);
    const newIndex = `index/${await repo.writeSealed('index', 'index', encodeIndex(listing))}`;

    // 5. The old indexes (those object lock allows), now that the new one names everything that stays.
    const old = indexes.filter(({ name }) => name !== newIndex && !keptIndexes.has(name));
    await mapLimit(old, async ({ name, size }) => {
      await repo.backend.remove(name);
      result.bytesFreed += size;
    });
    result.indexesReplaced = old.length;
  }

  // 6. The obsolete packs, and those no index ever named (a crashed backup's or an interrupted prune's).
  const removals = [...[...obsolete].map((id) => packName(id)), ...unindexedFree];
  await mapLimit(removals, async (name) => {
    await repo.backend.remove(name);
    result.bytesFreed += stored.get(name) ?? 0;
  });
  result.packsDeleted = deleting.length + unindexedFree.length;
  result.packsRepacked = repacked.length;
  result.bytesFreed -= bytesWritten;

  // What killed writes left behind. Prune's lock keeps backups out, not a process waiting for a lock of its
  // own: an hour leaves any write still under way alone.
  const backend = repo.backend;
  if (backend.abandoned && backend.removeAbandoned) {
    const leftovers = await backend.abandoned(new Date(now.getTime() - ABANDONED_AFTER_MS));
    await mapLimit(leftovers, async ({ name, size }) => {
      await backend.removeAbandoned!(name);
      result.bytesFreed += size;
    });
    result.temporariesRemoved = leftovers.length;
  }

  // 7. Object lock: what the remaining snapshots need stays locked for the repository's lock period.
  const until = repo.backend.lockUntil?.(now);
  if (until && repo.backend.retain) {
    const needed = [
      'config',
      ...(await repo.backend.list('keys/')).map((info) => info.name),
      ...remaining.map((ref) => `snapshots/${ref.id}`),
      ...[...packs.values()]
        .filter((pack) => pack.size !== undefined && pack.used.length > 0 && !obsolete.has(pack.id))
        .map((pack) => packName(pack.id)),
      ...indexes.filter(({ name }) => keptIndexes.has(name) || !changed).map(({ name }) => name),
    ];
    await mapLimit(needed, async (name) => {
      await repo.backend.retain!(name, until);
      result.retentionExtended++;
    });
  }
}
