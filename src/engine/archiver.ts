import { type FileHandle, open } from 'node:fs/promises';
import type { BlobStore } from './blob-store.ts';
import { Chunker } from './chunker.ts';
import { ListingWriter, type Node } from './listing.ts';

/** What the archiver needs to know of one entry of a directory walk. */
export interface ArchiveEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  mtime: string;
  ctime: string;
  uid: number;
  gid: number;
  size: number;
  inode: string;
  target?: string;
  /** Where to read a file on this machine. */
  absolute: string;
  /**
   * Opens the file, checking it is still the one the walk saw; throws a `SourceReadError` otherwise. Without
   * it, `absolute` is opened.
   */
  open?: () => Promise<FileHandle>;
}

/** A file the source could not read after all; the message says what happened and is reported as is. */
export class SourceReadError extends Error {}

export interface Problem {
  path: string;
  message: string;
}

export interface ArchiveProgress {
  files: number;
  bytesRead: number;
  /** Content bytes done, read or found unchanged; with `expected` (the previous snapshot's size), an ETA. */
  bytes: number;
  expected?: number;
  /** The file being read, for progress lines. */
  current: string;
}

export interface ArchiveTotals {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  bytesRead: number;
}

/** One repository that receives the snapshot: its blob store, and the previous listing for change detection. */
export interface ArchiveTarget {
  store: BlobStore;
  parent?: Map<string, Node>;
}

const READ_BYTES = 4 * 1024 * 1024;
/** Files up to this size are read ahead, whole, while earlier entries are chunked and stored. */
const SMALL_FILE_BYTES = 1024 * 1024;
/** Entries read ahead: small files cost several thread-pool round trips each, best overlapped. */
const LOOKAHEAD = 32;

type Prefetched = Promise<Uint8Array | { error: unknown }>;

/**
 * Writes one snapshot's data to every target in a single pass over the source: each target has its own
 * chunker (the boundaries are keyed per repository), and a file unchanged since a target's previous snapshot
 * is not read again for that target.
 */
export class Archiver {
  private readonly sinks: {
    store: BlobStore;
    parent?: Map<string, Node>;
    chunker: Chunker;
    listing: ListingWriter;
  }[];
  private readonly buffer = new Uint8Array(READ_BYTES);
  readonly totals: ArchiveTotals = { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesRead: 0 };
  readonly problems: Problem[] = [];
  private readonly onProgress: (progress: ArchiveProgress) => void;

  private readonly expected: number | undefined;

  constructor(
    targets: ArchiveTarget[],
    onProgress: (progress: ArchiveProgress) => void = () => {},
    expected?: number,
  ) {
    this.expected = expected;
    this.sinks = targets.map((target) => ({
      store: target.store,
      parent: target.parent,
      chunker: new Chunker(target.store.repo.gear),
      listing: new ListingWriter(target.store),
    }));
    this.onProgress = onProgress;
  }

  private report(current: string, inFile = 0): void {
    this.onProgress({
      files: this.totals.files,
      bytesRead: this.totals.bytesRead,
      bytes: this.totals.bytes + inFile,
      ...(this.expected !== undefined ? { expected: this.expected } : {}),
      current,
    });
  }

  /** Adds every entry, in order, reading small files ahead so that their opens and reads overlap. */
  async addEntries(entries: AsyncIterable<ArchiveEntry>): Promise<void> {
    const iterator = entries[Symbol.asyncIterator]();
    const window: { entry: ArchiveEntry; reused: (string[] | undefined)[]; content?: Prefetched }[] = [];
    let ended = false;
    const fill = async () => {
      while (!ended && window.length < LOOKAHEAD) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else {
          const reused = this.reusable(next.value);
          window.push({ entry: next.value, reused, content: this.readAhead(next.value, reused) });
        }
      }
    };
    await fill();
    while (window.length > 0) {
      const { entry, reused, content } = window.shift()!;
      await this.addEntry(entry, content, reused);
      await fill();
    }
  }

  private readAhead(entry: ArchiveEntry, reused: (string[] | undefined)[]): Prefetched | undefined {
    if (entry.type !== 'file' || entry.size > SMALL_FILE_BYTES) return undefined;
    if (reused.every((content) => content !== undefined)) return undefined;
    const read = async () => {
      const handle = entry.open ? await entry.open() : await open(entry.absolute, 'r');
      try {
        // One read of one byte more than the walk saw: a short read is the end of a regular file, so a file
        // still the size the walk saw costs a single read (readFile would stat and read again).
        const buffer = new Uint8Array(entry.size + 1);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
        if (bytesRead <= entry.size) return buffer.subarray(0, bytesRead);
        // It grew since the walk: take all of it (positional reads leave the file position at 0).
        return new Uint8Array(await handle.readFile());
      } finally {
        await handle.close();
      }
    };
    return read().catch((error: unknown) => ({ error }));
  }

  /** Per target, the content ids of the previous snapshot's file when it is unchanged. */
  private reusable(entry: ArchiveEntry): (string[] | undefined)[] {
    return this.sinks.map((sink) => {
      const previous = sink.parent?.get(entry.path);
      return previous?.type === 'file' &&
        previous.size === entry.size &&
        previous.mtime === entry.mtime &&
        previous.ctime === entry.ctime &&
        previous.inode === entry.inode &&
        previous.content
        ? previous.content
        : undefined;
    });
  }

  /** `reused`: what `reusable(entry)` gave, when the caller already asked. */
  async addEntry(
    entry: ArchiveEntry,
    prefetched?: Prefetched,
    reused: (string[] | undefined)[] = this.reusable(entry),
  ): Promise<void> {
    const base = {
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      mtime: entry.mtime,
      uid: entry.uid,
      gid: entry.gid,
    };
    if (entry.type === 'dir') {
      this.totals.dirs++;
      for (const sink of this.sinks) await sink.listing.add(base);
      return;
    }
    if (entry.type === 'symlink') {
      this.totals.symlinks++;
      for (const sink of this.sinks) await sink.listing.add({ ...base, target: entry.target ?? '' });
      return;
    }
    const contents = [...reused];
    let size = entry.size;
    const readers = this.sinks.filter((_, i) => contents[i] === undefined);
    if (readers.length > 0) {
      let read: { size: number; ids: string[][] };
      try {
        read = prefetched
          ? await this.storeContent(await prefetched, readers)
          : await this.readFile(entry, readers);
      } catch (error) {
        this.problems.push({ path: entry.path, message: describeReadError(error) });
        return;
      }
      size = read.size;
      let next = 0;
      for (let i = 0; i < contents.length; i++) if (contents[i] === undefined) contents[i] = read.ids[next++];
    }
    this.totals.files++;
    this.totals.bytes += size;
    this.report(entry.path);
    for (let i = 0; i < this.sinks.length; i++) {
      await this.sinks[i]!.listing.add({
        ...base,
        size,
        content: contents[i]!,
        inode: entry.inode,
        ctime: entry.ctime,
      });
    }
  }

  private async readFile(
    entry: ArchiveEntry,
    readers: typeof this.sinks,
  ): Promise<{ size: number; ids: string[][] }> {
    const handle = entry.open ? await entry.open() : await open(entry.absolute, 'r');
    const ids: Promise<string>[][] = readers.map(() => []);
    let size = 0;
    try {
      for (;;) {
        const { bytesRead } = await handle.read(this.buffer, 0, READ_BYTES, null);
        if (bytesRead === 0) break;
        size += bytesRead;
        this.totals.bytesRead += bytesRead;
        await this.feed(readers, ids, this.buffer.subarray(0, bytesRead));
        this.report(entry.path, size);
      }
    } catch (error) {
      // Leave the chunkers clean for the next file.
      for (const sink of readers) sink.chunker.finish();
      throw error;
    } finally {
      await handle.close();
    }
    return { size, ids: await this.finishFile(readers, ids) };
  }

  private async storeContent(
    content: Uint8Array | { error: unknown },
    readers: typeof this.sinks,
  ): Promise<{ size: number; ids: string[][] }> {
    if (!(content instanceof Uint8Array)) throw content.error;
    const ids: Promise<string>[][] = readers.map(() => []);
    this.totals.bytesRead += content.length;
    await this.feed(readers, ids, content);
    return { size: content.length, ids: await this.finishFile(readers, ids) };
  }

  private async feed(readers: typeof this.sinks, ids: Promise<string>[][], data: Uint8Array): Promise<void> {
    for (let r = 0; r < readers.length; r++) {
      const sink = readers[r]!;
      for (const chunk of sink.chunker.push(data)) ids[r]!.push((await sink.store.enqueue('data', chunk)).id);
    }
  }

  /** The last chunk of a file in each target, then every id of the file, in order. */
  private async finishFile(readers: typeof this.sinks, ids: Promise<string>[][]): Promise<string[][]> {
    for (let r = 0; r < readers.length; r++) {
      const last = readers[r]!.chunker.finish();
      if (last) ids[r]!.push((await readers[r]!.store.enqueue('data', last)).id);
    }
    return Promise.all(ids.map((list) => Promise.all(list)));
  }

  /** A command's output as one file of the snapshot. */
  async addStream(
    path: string,
    stream: AsyncIterable<Uint8Array>,
    meta: { mode: number; mtime: string; uid: number; gid: number },
  ): Promise<void> {
    const pending: Promise<string>[][] = this.sinks.map(() => []);
    let size = 0;
    let lastProgress = 0;
    for await (const data of stream) {
      size += data.length;
      this.totals.bytesRead += data.length;
      await this.feed(this.sinks, pending, data);
      if (this.totals.bytesRead - lastProgress >= READ_BYTES) {
        lastProgress = this.totals.bytesRead;
        this.report(path, size);
      }
    }
    const ids = await this.finishFile(this.sinks, pending);
    this.totals.files++;
    this.totals.bytes += size;
    for (let i = 0; i < this.sinks.length; i++) {
      await this.sinks[i]!.listing.add({ path, type: 'file', ...meta, size, content: ids[i]! });
    }
  }

  /** Finishes every listing; returns each target's tree blob ids. The stores still need closing. */
  async finish(): Promise<string[][]> {
    const trees: string[][] = [];
    for (const sink of this.sinks) trees.push(await sink.listing.finish());
    return trees;
  }
}

function describeReadError(error: unknown): string {
  if (error instanceof SourceReadError) return error.message;
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied: not backed up';
  if (code === 'ENOENT') return 'vanished during the backup: not backed up';
  return `cannot be read (${(error as Error).message}): not backed up`;
}
