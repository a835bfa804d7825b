import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type Key, objectId } from '../engine/crypto.ts';
import type { Node } from '../engine/listing.ts';
import { checkSnapshotPath } from '../engine/restorer.ts';

/**
 * A drill's check that the restored tree is the snapshot: every file, directory and symlink the listing
 * names is there with its type and permission bits; every file has the listing's size, and its bytes, cut
 * at the lengths of the listing's chunks, give the listing's keyed chunk ids. The restore already checked
 * each blob it decoded; this reads back what reached the disk, independently of the code that wrote it.
 *
 * Files are read back in a worker thread (src/drill/readback-worker.ts), as soon as the restore has closed
 * each one (ReadBack.add), so on two cores the read-back runs beside the restore instead of after it;
 * `complete` then walks the listing for what was not handed over (missing files), directories and symlinks.
 */

export interface IntegrityProblem {
  path: string;
  message: string;
}

export interface IntegrityReport {
  files: number;
  dirs: number;
  symlinks: number;
  /** File bytes read back and hashed. */
  bytes: number;
  /** Nodes that are missing or differ; the drill lists the first few and counts the rest. */
  problems: IntegrityProblem[];
  /** From `complete` to the end: what the read-back adds after the restore. */
  durationMs: number;
}

export interface IntegrityOptions {
  /** The restore's target directory. */
  target: string;
  /** The repository's id key (chunk ids are HMAC-SHA256 under it). */
  idKey: Key;
  /** A chunk's plain length, from the repository's index. */
  chunkLength: (id: string) => number | undefined;
  signal?: AbortSignal;
}

/** One file as the worker checks it: the listing's size, mode and chunks, with each chunk's length. */
export interface FileCheck {
  path: string;
  size: number;
  mode: number;
  content: string[];
  /** Plain length of each chunk, from the index (undefined: in no index). */
  lengths: (number | undefined)[];
}

export interface ReadBackResult {
  files: number;
  bytes: number;
  problems: IntegrityProblem[];
}

/** The read buffer: one chunk at most (chunks are at most 8 MiB). */
export const READ_BUFFER_BYTES = 8 * 1024 * 1024;
/** Files handed to the worker at once, and their bytes. */
const BATCH_FILES = 64;
const BATCH_BYTES = 16 * 1024 * 1024;

function workerUrl(): URL {
  return new URL(
    import.meta.url.endsWith('.ts') ? './readback-worker.ts' : './readback-worker.js',
    import.meta.url,
  );
}

/** Reads a whole restored tree back (after the restore, nothing handed over while it ran). */
export async function verifyRestoredTree(
  nodes: AsyncIterable<Node>,
  options: IntegrityOptions,
): Promise<IntegrityReport> {
  const readBack = new ReadBack(options);
  try {
    return await readBack.complete(nodes);
  } finally {
    await readBack.close();
  }
}

export class ReadBack {
  private readonly options: IntegrityOptions;
  private readonly worker: Worker;
  private readonly handedOver = new Set<string>();
  private batch: FileCheck[] = [];
  private batchBytes = 0;
  private pending = 0;
  private readonly files: ReadBackResult = { files: 0, bytes: 0, problems: [] };
  private failure: Error | undefined;
  private idle: (() => void) | undefined;

  constructor(options: IntegrityOptions) {
    this.options = options;
    this.worker = new Worker(workerUrl(), { workerData: { target: options.target, idKey: options.idKey } });
    this.worker.on('message', (result: ReadBackResult) => {
      this.files.files += result.files;
      this.files.bytes += result.bytes;
      this.files.problems.push(...result.problems);
      this.pending--;
      this.wake();
    });
    this.worker.on('error', (error) => {
      this.failure ??= new Error(`the read-back stopped: ${error.message}`);
      this.wake();
    });
    this.worker.on('exit', (code) => {
      if (this.pending > 0) this.failure ??= new Error(`the read-back thread exited (code ${code})`);
      this.wake();
    });
  }

  private wake(): void {
    if ((this.pending === 0 || this.failure) && this.idle) {
      const idle = this.idle;
      this.idle = undefined;
      idle();
    }
  }

  /** A file the restore has written and closed: read it back now, beside the rest of the restore. */
  add(node: Node): void {
    if (node.type !== 'file' || checkSnapshotPath(node.path) !== undefined) return;
    if (this.handedOver.has(node.path)) return;
    this.handedOver.add(node.path);
    const content = node.content ?? [];
    this.batch.push({
      path: node.path,
      size: node.size ?? 0,
      mode: node.mode,
      content,
      lengths: content.map((id) => this.options.chunkLength(id)),
    });
    this.batchBytes += node.size ?? 0;
    if (this.batch.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    this.pending++;
    this.worker.postMessage(this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }

  /**
   * Every node of the listing: files not handed over are read back now (one missing from the restore is
   * reported as such), directories and symlinks are checked here; then waits for the worker.
   */
  async complete(nodes: AsyncIterable<Node>): Promise<IntegrityReport> {
    const started = performance.now();
    const { signal } = this.options;
    const report: IntegrityReport = { files: 0, dirs: 0, symlinks: 0, bytes: 0, problems: [], durationMs: 0 };
    for await (const node of nodes) {
      signal?.throwIfAborted();
      if (checkSnapshotPath(node.path) !== undefined) continue; // refused by the restore, which said so
      if (node.type === 'file') {
        this.add(node);
        continue;
      }
      try {
        checkOther(join(this.options.target, node.path), node);
        if (node.type === 'dir') report.dirs++;
        else report.symlinks++;
      } catch (error) {
        report.problems.push({ path: node.path, message: describe(error) });
      }
    }
    this.flush();
    // One listener for the whole wait: the deadline ends it as the last reply would.
    const aborted = () => this.idle?.();
    signal?.addEventListener('abort', aborted, { once: true });
    try {
      while (this.pending > 0 && !this.failure) {
        signal?.throwIfAborted();
        await new Promise<void>((resolve) => {
          this.idle = resolve;
          this.wake();
        });
      }
    } finally {
      signal?.removeEventListener('abort', aborted);
    }
    signal?.throwIfAborted();
    if (this.failure) throw this.failure;
    report.files = this.files.files;
    report.bytes = this.files.bytes;
    report.problems = [...this.files.problems, ...report.problems];
    report.durationMs = Math.round(performance.now() - started);
    return report;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

export function describe(error: unknown): string {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
    ? 'missing from the restore'
    : (error as Error).message;
}

function checkMode(mode: number, expected: number): void {
  if ((mode & 0o7777) !== expected) {
    throw new Error(`has mode ${(mode & 0o7777).toString(8)}, the snapshot says ${expected.toString(8)}`);
  }
}

/** A directory or symlink of the listing, as restored. */
function checkOther(absolute: string, node: Node): void {
  const stat = lstatSync(absolute);
  if (node.type === 'dir') {
    if (!stat.isDirectory()) throw new Error('is not a directory');
    checkMode(stat.mode, node.mode);
    return;
  }
  if (!stat.isSymbolicLink()) throw new Error('is not a symlink');
  const target = readlinkSync(absolute);
  if (target !== node.target) {
    throw new Error(`points to ${JSON.stringify(target)}, the snapshot says ${JSON.stringify(node.target)}`);
  }
}

/** Reads one restored file back; returns the bytes hashed, or throws what differs. */
export function checkFile(absolute: string, file: FileCheck, buffer: Buffer, idKey: Key): number {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('is not a regular file');
    if (stat.size !== file.size) throw new Error(`has ${stat.size} bytes, the snapshot says ${file.size}`);
    checkMode(stat.mode, file.mode);
    const ids = file.content;
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const length = file.lengths[i];
      if (length === undefined || length > buffer.length) {
        throw new Error(
          `chunk ${i + 1} of ${ids.length} (${id.slice(0, 12)}) is in no index of the repository`,
        );
      }
      let filled = 0;
      while (filled < length) {
        const n = readSync(fd, buffer, filled, length - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
      if (filled !== length || objectId(idKey, buffer.subarray(0, length)) !== id) {
        throw new Error(
          `differs from the snapshot in bytes ${offset}–${offset + length - 1} (chunk ${i + 1} of ${ids.length})`,
        );
      }
      offset += length;
    }
    if (offset !== file.size) {
      throw new Error(`the snapshot's chunks hold ${offset} bytes, its listing says ${file.size}`);
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}
