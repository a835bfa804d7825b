import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { type Key, objectId } from '../engine/crypto.ts';
import type { Node } from '../engine/listing.ts';
import { checkSnapshotPath } from '../engine/restorer.ts';

/**
 * A drill's check that the restored tree is the snapshot: every file, directory and symlink the listing
 * names is there with its type and permission bits; every file has the listing's size, and its bytes, cut
 * at the lengths of the listing's chunks, give the listing's keyed chunk ids. The restore already checked
 * each blob it decoded; this reads back what reached the disk, independently of the code that wrote it.
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

/** The read buffer: one chunk at most (chunks are at most 8 MiB). */
const BUFFER_BYTES = 8 * 1024 * 1024;

export async function verifyRestoredTree(
  nodes: AsyncIterable<Node>,
  options: IntegrityOptions,
): Promise<IntegrityReport> {
  const started = performance.now();
  const report: IntegrityReport = { files: 0, dirs: 0, symlinks: 0, bytes: 0, problems: [], durationMs: 0 };
  const buffer = Buffer.allocUnsafeSlow(BUFFER_BYTES);
  let sinceYield = 0;
  for await (const node of nodes) {
    options.signal?.throwIfAborted();
    // Refused by the restore, which reported it; there is nothing of it to check.
    if (checkSnapshotPath(node.path) !== undefined) continue;
    const absolute = join(options.target, node.path);
    const problem = (message: string) => report.problems.push({ path: node.path, message });
    try {
      if (node.type === 'file') {
        const read = checkFile(absolute, node, buffer, options);
        report.bytes += read;
        sinceYield += read;
        report.files++;
      } else if (node.type === 'dir') {
        const stat = lstatSync(absolute);
        if (!stat.isDirectory()) throw new Error(`is not a directory`);
        checkMode(stat.mode, node);
        report.dirs++;
      } else {
        const stat = lstatSync(absolute);
        if (!stat.isSymbolicLink()) throw new Error('is not a symlink');
        const target = readlinkSync(absolute);
        if (target !== node.target) {
          throw new Error(
            `points to ${JSON.stringify(target)}, the snapshot says ${JSON.stringify(node.target)}`,
          );
        }
        report.symlinks++;
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problem(code === 'ENOENT' ? 'missing from the restore' : (error as Error).message);
    }
    // Synchronous reads: let timers (the drill's timeout) and other work in now and then.
    if (sinceYield >= 64 * 1024 * 1024) {
      sinceYield = 0;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  report.durationMs = Math.round(performance.now() - started);
  return report;
}

function checkMode(mode: number, node: Node): void {
  if ((mode & 0o7777) !== node.mode) {
    throw new Error(`has mode ${(mode & 0o7777).toString(8)}, the snapshot says ${node.mode.toString(8)}`);
  }
}

/** Reads one restored file back; returns the bytes hashed, or throws what differs. */
function checkFile(absolute: string, node: Node, buffer: Buffer, options: IntegrityOptions): number {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error('is not a regular file');
    if (stat.size !== node.size) throw new Error(`has ${stat.size} bytes, the snapshot says ${node.size}`);
    checkMode(stat.mode, node);
    const ids = node.content ?? [];
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const length = options.chunkLength(id);
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
      if (filled !== length || objectId(options.idKey, buffer.subarray(0, length)) !== id) {
        throw new Error(
          `differs from the snapshot in bytes ${offset}–${offset + length - 1} (chunk ${i + 1} of ${ids.length})`,
        );
      }
      offset += length;
    }
    if (offset !== node.size) {
      throw new Error(`the snapshot's chunks hold ${offset} bytes, its listing says ${node.size}`);
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}
