import {
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lstatSync,
  mkdirSync,
  openSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { chmod, lchown, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import type { BlobReader } from './blob-reader.ts';
import { type Node, readListing } from './listing.ts';
import { release } from './memory.ts';
import { RepositoryError } from './repository.ts';

export interface RestoreProblem {
  path: string;
  message: string;
}

export interface RestoreTotals {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

export interface RestoreOptions {
  /** Restore only this path of the snapshot and what lies under it. */
  include?: string;
  onProgress?: (totals: RestoreTotals, current: string) => void;
  /** Stops the restore (a drill's deadline): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Each file once it is written whole and closed (a drill reads it back meanwhile). */
  onFileRestored?: (node: Node) => void;
}

/** Chunks decoded ahead of the one being written. */
const WINDOW = 6;
/** Small files restored at once, and bytes of them fetched in one batch. */
const PARALLEL_FILES = 24;
const BATCH_BYTES = 16 * 1024 * 1024;

/** An empty, `.` or `..` segment (a leading `/` makes an empty first one). */
const BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** A snapshot path is relative, `/`-separated, with no empty, `.` or `..` segment and no NUL. */
export function checkSnapshotPath(path: string): string | undefined {
  // Every path of every snapshot passes here: the common case is one regular-expression test.
  if (!BAD_SEGMENT.test(path) && !path.includes('\0')) return undefined;
  if (path === '') return 'empty path';
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\0')) return 'NUL in path';
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return `"${segment}" segment`;
  }
  return undefined;
}

export function normalizeInclude(include: string): string {
  return include.replace(/^\/+/, '').replace(/\/+$/, '');
}

function selected(path: string, include: string | undefined): boolean {
  return include === undefined || include === '' || path === include || path.startsWith(`${include}/`);
}

/**
 * Restores a snapshot's listing into `target`. Nothing is written outside it: hostile paths are refused,
 * every parent is checked to be a real directory, files are opened with O_NOFOLLOW, and symlinks are created
 * last, so nothing is ever written through one. A damaged blob costs only the files that use it; they are
 * removed and reported, and everything else is restored.
 */
export async function restoreTree(
  reader: BlobReader,
  tree: readonly string[],
  target: string,
  options: RestoreOptions = {},
): Promise<{ totals: RestoreTotals; problems: RestoreProblem[] }> {
  const include = options.include === undefined ? undefined : normalizeInclude(options.include);
  const totals: RestoreTotals = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const problems: RestoreProblem[] = [];
  const dirs: Node[] = [];
  const links: Node[] = [];
  const known = new Set<string>();
  const asRoot = process.getuid?.() === 0;
  await mkdir(target, { recursive: true });

  // File system calls here are synchronous: each is a few microseconds against the page cache, where an
  // asynchronous one costs a thread-pool round trip, and 16,000 small files made that the restore's cost.
  const ensureParents = (path: string): void => {
    // A known directory's ancestors are known too: most files need no more than this lookup.
    const parent = path.slice(0, Math.max(0, path.lastIndexOf('/')));
    if (parent === '' || known.has(parent)) return;
    const segments = path.split('/');
    let relative = '';
    for (let i = 0; i < segments.length - 1; i++) {
      relative = relative === '' ? segments[i]! : `${relative}/${segments[i]}`;
      if (known.has(relative)) continue;
      const absolute = join(target, relative);
      try {
        mkdirSync(absolute, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if (!lstatSync(absolute).isDirectory()) {
          throw new RepositoryError(
            `refused: ${relative} exists in the target and is not a directory (a symlink would let the restore escape)`,
          );
        }
      }
      known.add(relative);
    }
  };

  const umask = process.umask();
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const restoreFile = async (node: Node): Promise<void> => {
    const absolute = join(target, node.path);
    ensureParents(node.path);
    // Created with its mode when the umask lets it through: one system call less per file. A file that is
    // already there keeps its old mode through open, so it is noted and chmod-ed.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW;
    let existed = false;
    let fd: number;
    try {
      fd = openSync(absolute, flags | constants.O_EXCL, node.mode & 0o777);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      existed = true;
      fd = openSync(absolute, flags | constants.O_TRUNC, node.mode & 0o777);
    }
    let written = 0;
    try {
      for await (const data of contentOf(reader, node)) {
        options.signal?.throwIfAborted();
        for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, written + at);
        written += data.length;
        // Each read decodes afresh: the buffer is this file's alone, and waiting for a collection costs.
        release(data);
      }
      if (written !== node.size) {
        throw new RepositoryError(`listing says ${node.size} bytes, the blobs hold ${written}`);
      }
      // chown first: it clears setuid and setgid, which chmod then sets.
      if (asRoot && (node.uid !== uid || node.gid !== gid)) fchownSync(fd, node.uid, node.gid);
      if (existed || (node.mode & ~umask) !== node.mode || node.mode > 0o777) fchmodSync(fd, node.mode);
      const seconds = timeSeconds(node.mtime);
      futimesSync(fd, seconds, seconds);
    } catch (error) {
      closeSync(fd);
      rmSync(absolute, { force: true });
      throw error;
    }
    closeSync(fd);
    totals.files++;
    totals.bytes += written;
    options.onFileRestored?.(node);
  };

  const running = new Set<Promise<void>>();
  const launch = async (node: Node) => {
    const task = restoreFile(node).catch((error: unknown) => {
      problems.push({ path: node.path, message: (error as Error).message });
    });
    running.add(task);
    task.finally(() => running.delete(task));
    if (running.size >= PARALLEL_FILES) await Promise.race(running);
  };

  // A batch's blobs are fetched and decoded while the batch before it is written: launching its files only
  // when the next batch is formed keeps the decode thread busy while the main thread creates files.
  let batch: Node[] = [];
  let batchBytes = 0;
  let fetched: Node[] = [];
  /** Launches the fetched batch's files; `next`, already being fetched, waits for the call after. */
  const launchFetched = async (next: Node[] = []) => {
    const launching = fetched;
    fetched = next;
    for (const node of launching) await launch(node);
  };
  const flushBatch = async () => {
    reader.prefetch(batch.flatMap((node) => node.content ?? []));
    const next = batch;
    batch = [];
    batchBytes = 0;
    await launchFetched(next);
  };

  const onDamage = (message: string) => problems.push({ path: '(listing)', message });
  for await (const node of readListing(reader, tree, onDamage)) {
    options.signal?.throwIfAborted();
    const invalid = checkSnapshotPath(node.path);
    if (invalid) {
      problems.push({ path: node.path, message: `refused: ${invalid}` });
      continue;
    }
    if (!selected(node.path, include)) continue;
    options.onProgress?.(totals, node.path);
    if (node.type === 'dir') {
      try {
        ensureParents(`${node.path}/x`);
        dirs.push(node);
        totals.dirs++;
      } catch (error) {
        problems.push({ path: node.path, message: (error as Error).message });
      }
    } else if (node.type === 'symlink') {
      links.push(node);
    } else if ((node.size ?? 0) >= BATCH_BYTES) {
      await flushBatch();
      await launchFetched();
      await launch(node);
    } else {
      batch.push(node);
      batchBytes += node.size ?? 0;
      if (batchBytes >= BATCH_BYTES || batch.length >= 256) await flushBatch();
    }
  }
  await flushBatch();
  await launchFetched();
  await Promise.all(running);
  options.signal?.throwIfAborted();

  for (const node of links) {
    const absolute = join(target, node.path);
    try {
      ensureParents(node.path);
      await rm(absolute, { force: true });
      await symlink(node.target ?? '', absolute);
      if (asRoot) await lchown(absolute, node.uid, node.gid);
      await setTimes(absolute, node.mtime, true);
      totals.symlinks++;
    } catch (error) {
      problems.push({ path: node.path, message: (error as Error).message });
    }
  }
  // Deepest first: creating children changes a directory's mtime, and a read-only parent blocks its children.
  for (const node of dirs.reverse()) {
    const absolute = join(target, node.path);
    try {
      if (asRoot) await lchown(absolute, node.uid, node.gid);
      await chmod(absolute, node.mode);
      await setTimes(absolute, node.mtime, false);
    } catch (error) {
      problems.push({ path: node.path, message: (error as Error).message });
    }
  }
  return { totals, problems };
}

/**
 * Node takes seconds as a double, exact to about a quarter of a microsecond for present-day times, and
 * truncates: aiming at the middle of the microsecond restores the microsecond exactly.
 */
function timeSeconds(mtimeNs: string): number {
  if (typeof mtimeNs !== 'string' || !/^-?[0-9]{1,30}$/.test(mtimeNs)) {
    throw new Error(
      `its modification time in the snapshot (${JSON.stringify(mtimeNs)}) is not a number of nanoseconds`,
    );
  }
  return (Number(BigInt(mtimeNs) / 1000n) + 0.5) / 1e6;
}

async function setTimes(path: string, mtimeNs: string, link: boolean): Promise<void> {
  const seconds = timeSeconds(mtimeNs);
  if (link) await lutimes(path, seconds, seconds);
  else await utimes(path, seconds, seconds);
}

/** Writes one file of the snapshot to a stream (restore to stdout). */
export async function restoreToStream(reader: BlobReader, node: Node, out: Writable): Promise<number> {
  let written = 0;
  for await (const data of contentOf(reader, node)) {
    written += data.length;
    if (!out.write(data)) await new Promise((resolve) => out.once('drain', resolve));
  }
  return written;
}

/** A file's content, blob by blob in order, with the next WINDOW blobs fetched and decoded meanwhile. */
async function* contentOf(reader: BlobReader, node: Node): AsyncGenerator<Uint8Array> {
  const ids = node.content ?? [];
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fill = () => {
    reader.prefetch(ids.slice(next, next + WINDOW - pending.length));
    while (pending.length < WINDOW && next < ids.length) {
      const decoding = reader.read(ids[next++]!);
      // Awaited in turn below; a failure ahead of the one being written must not go unhandled meanwhile.
      decoding.catch(() => {});
      pending.push(decoding);
    }
  };
  fill();
  while (pending.length > 0) {
    const data = await pending.shift()!;
    fill();
    yield data;
  }
}
