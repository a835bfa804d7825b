/**
 * Messages between the content pool (main thread) and its workers (content-worker.ts). Workers read files
 * or a command's output, cut chunks, hash, compress and seal them; the main thread packs and indexes.
 */

/** One repository a worker writes for: its keys and the blob ids it already holds. */
export interface WorkerTarget {
  repository: string;
  dataKey: Uint8Array;
  idKey: Uint8Array;
  gear: Uint32Array;
  /** Sorted first 8 bytes of every blob id in the repository's index when the backup began. */
  known: BigUint64Array;
}

export interface WorkerInit {
  targets: WorkerTarget[];
  /** Sealed bytes a worker may have sent and not yet had acknowledged (back-pressure). */
  creditBytes: number;
}

/** A file to read: where, how large the walk saw it, and its identity (`dev:ino`) to check on open. */
export interface FileJob {
  absolute: string;
  size: number;
  inode?: string;
  /** Indexes into WorkerInit.targets of the repositories that need its content. */
  targets: number[];
}

export type ToWorker =
  | { type: 'files'; job: number; files: FileJob[] }
  | { type: 'stream'; job: number; targets: number[] }
  | { type: 'data'; job: number; data: Uint8Array }
  | { type: 'end'; job: number }
  | { type: 'credit'; bytes: number };

/** Where a sealed blob is in a message: bytes `at` to `at + length` of the message's slab number `slab`. */
export interface SlabRange {
  slab: number;
  at: number;
  length: number;
}

/** A chunk of a file of a job, for one target. `sealed` is absent when the target already holds the blob. */
export interface BlobEntry {
  file: number;
  target: number;
  id: string;
  rawLength: number;
  sealed?: SlabRange;
}

/** What became of one file of a job: its size as read, or why it could not be read. */
export type FileOutcome = { size: number } | { error: string };

export type FromWorker =
  /**
   * Sealed blobs travel in slabs, transferred with the message: small blobs back to back in shared slabs
   * (one transfer, not one per blob), a large blob in a slab of its own.
   */
  | { type: 'blobs'; job: number; entries: BlobEntry[]; slabs: Uint8Array[]; bytes: number }
  | { type: 'done'; job: number; outcomes: FileOutcome[] }
  | { type: 'consumed'; job: number; bytes: number }
  | { type: 'fatal'; message: string };

/** The first 8 bytes of a hex blob id, as a number to sort and search. */
export function idPrefix(id: string): bigint {
  return BigInt(`0x${id.slice(0, 16)}`);
}

/** A sorted prefix table in shared memory: every worker searches it without a copy. */
export function knownTable(ids: Iterable<string>, count: number): BigUint64Array {
  const table = new BigUint64Array(new SharedArrayBuffer(count * 8));
  let at = 0;
  for (const id of ids) table[at++] = idPrefix(id);
  return table.subarray(0, at).sort();
}

/**
 * Whether the table holds the id's prefix. A prefix match is taken as "already stored"; the main thread
 * checks the full id against the index and fails the backup rather than lose a blob on a 2^-64 collision.
 */
export function knownHas(table: BigUint64Array, id: string): boolean {
  if (table.length === 0) return false;
  const key = idPrefix(id);
  let low = 0;
  let high = table.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const value = table[mid]!;
    if (value === key) return true;
    if (value < key) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}
