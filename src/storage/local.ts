import { randomBytes } from 'node:crypto';
import type { Dirent, Stats } from 'node:fs';
import { type FileHandle, link, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  type Backend,
  type ByteRange,
  checkName,
  NotFoundError,
  type ObjectInfo,
  StorageError,
} from './backend.ts';

/** The temporary file of a write (see `place`), beside the object it becomes. */
const TEMPORARY_PREFIX = '.tmp-';
const TEMPORARY = /^(?:(?:keys|index|snapshots|locks)\/|data\/[0-9a-f]{2}\/)?\.tmp-[0-9a-f]{16}$/;

/** Whether a file is some write's temporary file, finished or not: readers never list one. */
function isTemporary(name: string): boolean {
  return name.startsWith(TEMPORARY_PREFIX, name.lastIndexOf('/') + 1);
}

/** A repository in a local directory: each object one file, written to a temporary name, synced, renamed. */
export class LocalBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  private readonly madeDirs = new Set<string>();

  constructor(root: string) {
    this.root = root;
    this.location = root;
  }

  async write(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    await this.place(name, data, async (temp, path) => {
      await rename(temp, path);
      return true;
    });
  }

  async writeNew(name: string, data: Uint8Array): Promise<boolean> {
    // link() fails with EEXIST where rename() would replace: the first writer's file stays.
    return this.place(name, data, async (temp, path) => {
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      } finally {
        await rm(temp, { force: true });
      }
    });
  }

  /** Writes `data` to a synced temporary file beside `name`, then lets `commit` put it in place. */
  private async place(
    name: string,
    data: Uint8Array | readonly Uint8Array[],
    commit: (temp: string, path: string) => Promise<boolean>,
  ): Promise<boolean> {
    checkName(name);
    const path = join(this.root, name);
    const dir = dirname(path);
    const temp = join(dir, `${TEMPORARY_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const handle = await open(temp, 'wx', 0o600);
      try {
        if (data instanceof Uint8Array) await handle.writeFile(data);
        else await writeAll(handle, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const placed = await commit(temp, path);
      await syncDir(dir);
      return placed;
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {});
      throw new StorageError(this.location, name, `cannot write (${(error as Error).message})`, {
        cause: error,
      });
    }
  }

  async read(name: string, range?: ByteRange): Promise<Uint8Array> {
    checkName(name);
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(join(this.root, name), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(this.location, name);
      throw new StorageError(this.location, name, `cannot read (${(error as Error).message})`, {
        cause: error,
      });
    }
    try {
      if (!range) return new Uint8Array(await handle.readFile());
      const out = new Uint8Array(range.length);
      let done = 0;
      while (done < range.length) {
        const { bytesRead } = await handle.read(out, done, range.length - done, range.offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < range.length) {
        throw new StorageError(
          this.location,
          name,
          `is truncated: wanted bytes ${range.offset}..${range.offset + range.length}, file ends at ${range.offset + done} in`,
        );
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    checkName(name);
    const info = await this.statFile(name);
    return info && { name, size: info.size };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    // Walk only the top-level directory that the prefix names.
    const top = prefix.includes('/') ? prefix.slice(0, prefix.indexOf('/')) : '';
    for await (const name of this.files(top)) {
      if (!name.startsWith(prefix) || isTemporary(name)) continue;
      // Undefined when removed (by a concurrent prune) between readdir and stat: no longer there to list.
      const info = await this.statFile(name);
      if (info) out.push({ name, size: info.size });
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    await this.removeFile(name);
  }

  async abandoned(before: Date): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const name of this.files('')) {
      if (!TEMPORARY.test(name)) continue;
      const info = await this.statFile(name);
      if (info && info.mtimeMs < before.getTime()) out.push({ name, size: info.size });
    }
    return out;
  }

  async removeAbandoned(name: string): Promise<void> {
    if (!TEMPORARY.test(name)) throw new RangeError(`not a temporary file's name: ${JSON.stringify(name)}`);
    await this.removeFile(name);
  }

  /** Every file under a directory of the repository, named from the root; none when it does not exist. */
  private async *files(relative: string): AsyncGenerator<string> {
    let entries: Dirent[];
    try {
      entries = await readdir(join(this.root, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(this.location, relative, `cannot list (${(error as Error).message})`, {
        cause: error,
      });
    }
    for (const entry of entries) {
      const name = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) yield* this.files(name);
      else if (entry.isFile()) yield name;
    }
  }

  /** A file's status, or undefined when there is no such file. */
  private async statFile(name: string): Promise<Stats | undefined> {
    try {
      return await stat(join(this.root, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError(this.location, name, `cannot stat (${(error as Error).message})`, {
        cause: error,
      });
    }
  }

  private async removeFile(name: string): Promise<void> {
    try {
      await rm(join(this.root, name), { force: true });
    } catch (error) {
      throw new StorageError(this.location, name, `cannot remove (${(error as Error).message})`, {
        cause: error,
      });
    }
  }

  /** A directory has no object lock: nothing is ever retained. */
  async retainedUntil(name: string): Promise<Date | undefined> {
    checkName(name);
    return undefined;
  }
}

/** Writes the parts back to back without joining them first (a pack is some 16 MiB). */
async function writeAll(handle: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  // writev takes at most IOV_MAX (1024) buffers and may write fewer bytes than asked.
  for (let start = 0; start < parts.length; start += 1024) {
    let batch = parts.slice(start, start + 1024);
    let { bytesWritten } = await handle.writev(batch);
    let total = batch.reduce((sum, part) => sum + part.length, 0);
    while (bytesWritten < total) {
      const rest: Uint8Array[] = [];
      let skip = bytesWritten;
      for (const part of batch) {
        if (skip >= part.length) skip -= part.length;
        else {
          rest.push(part.subarray(skip));
          skip = 0;
        }
      }
      batch = rest;
      total -= bytesWritten;
      ({ bytesWritten } = await handle.writev(batch));
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
