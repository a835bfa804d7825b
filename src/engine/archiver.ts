import type { BlobStore } from './blob-store.ts';
import type { ContentPool, FileContent } from './content-pool.ts';
import { ListingWriter, type Node } from './listing.ts';
import { release } from './memory.ts';

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
}

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

/** Files being read at once, ahead of the entry being added: the content workers' queue. */
const READS_AHEAD = 512;
/**
 * Entries listed ahead of the one being added. Unchanged files, directories and links cost only their
 * metadata, so the walk goes on past a large file being read: a second backup compares its small files on
 * the main thread while a worker chunks the changed dump, instead of after it.
 */
const ENTRIES_AHEAD = 16384;
/** Progress lines for a command's output at most once per this many bytes. */
const PROGRESS_BYTES = 4 * 1024 * 1024;

/**
 * Writes one snapshot's data to every target in a single pass over the source: the content pool's workers
 * read each file once and chunk it per target (the boundaries are keyed per repository), and a file unchanged
 * since a target's previous snapshot is not read again for that target.
 */
export class Archiver {
  private readonly sinks: {
    store: BlobStore;
    parent?: Map<string, Node>;
    listing: ListingWriter;
  }[];
  private readonly pool: ContentPool;
  readonly totals: ArchiveTotals = { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesRead: 0 };
  readonly problems: Problem[] = [];
  private readonly onProgress: (progress: ArchiveProgress) => void;
  private readonly expected: number | undefined;
  private current = '';

  constructor(
    targets: ArchiveTarget[],
    pool: ContentPool,
    onProgress: (progress: ArchiveProgress) => void = () => {},
    expected?: number,
  ) {
    this.expected = expected;
    this.pool = pool;
    this.sinks = targets.map((target) => ({
      store: target.store,
      parent: target.parent,
      listing: new ListingWriter(target.store),
    }));
    this.onProgress = onProgress;
  }

  /** Reports progress; the pool calls it as chunks of files still being read arrive. */
  report(current = this.current): void {
    this.current = current;
    this.onProgress({
      files: this.totals.files,
      bytesRead: this.totals.bytesRead,
      bytes: this.totals.bytes + this.pool.partialBytes,
      ...(this.expected !== undefined ? { expected: this.expected } : {}),
      current,
    });
  }

  /** Adds every entry, in order, with up to READS_AHEAD files being read and ENTRIES_AHEAD entries listed ahead. */
  async addEntries(entries: AsyncIterable<ArchiveEntry>): Promise<void> {
    const iterator = entries[Symbol.asyncIterator]();
    const window: {
      entry: ArchiveEntry;
      reused: (string[] | undefined)[];
      content?: Promise<FileContent>;
      /** For an entry being read: its request number in the pool. */
      read?: number;
    }[] = [];
    let ended = false;
    let reading = 0;
    const fill = async () => {
      while (!ended && reading < READS_AHEAD && window.length < ENTRIES_AHEAD) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else {
          const entry = next.value;
          const reused = this.reusable(entry);
          const readers = reused.flatMap((content, i) => (content === undefined ? [i] : []));
          const content =
            entry.type === 'file' && readers.length > 0 ? this.pool.readFile(entry, readers) : undefined;
          if (content) {
            // Settled later, in order; a rejection here must not count as unhandled meanwhile.
            content.catch(() => {});
            reading++;
            window.push({ entry, reused, content, read: this.pool.requested });
          } else {
            window.push({ entry, reused });
          }
        }
      }
    };
    await fill();
    while (window.length > 0) {
      const { entry, reused, content, read } = window.shift()!;
      if (content) {
        reading--;
        // Small files go to the workers in batches; the one awaited now may be in the batch not yet sent.
        this.pool.sendThrough(read!);
      }
      await this.addEntry(entry, reused, content);
      // Refilled when half the reads are done (so that they go out in batches) or half the entries listed.
      if (!ended && (reading < READS_AHEAD / 2 || window.length < ENTRIES_AHEAD / 2)) await fill();
    }
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

  private async addEntry(
    entry: ArchiveEntry,
    reused: (string[] | undefined)[],
    pending: Promise<FileContent> | undefined,
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
    if (pending) {
      const read = await pending;
      if ('error' in read) {
        this.problems.push({ path: entry.path, message: read.error });
        return;
      }
      size = read.size;
      this.totals.bytesRead += size;
      for (let i = 0; i < contents.length; i++) contents[i] ??= read.ids[i];
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

  /** A command's output as one file of the snapshot. */
  async addStream(
    path: string,
    stream: AsyncIterable<Uint8Array>,
    meta: { mode: number; mtime: string; uid: number; gid: number },
  ): Promise<void> {
    const writer = this.pool.openStream(this.sinks.map((_, i) => i));
    let lastProgress = 0;
    for await (const data of stream) {
      this.totals.bytesRead += data.length;
      await writer.write(data);
      // Copied into the worker's piece; the command's output buffers are ours alone.
      release(data);
      if (this.totals.bytesRead - lastProgress >= PROGRESS_BYTES) {
        lastProgress = this.totals.bytesRead;
        this.report(path);
      }
    }
    const read = await writer.end();
    if ('error' in read) throw new Error(`${path}: ${read.error}`);
    this.totals.files++;
    this.totals.bytes += read.size;
    for (let i = 0; i < this.sinks.length; i++) {
      await this.sinks[i]!.listing.add({
        path,
        type: 'file',
        ...meta,
        size: read.size,
        content: read.ids[i]!,
      });
    }
  }

  /** Finishes every listing; returns each target's tree blob ids. The stores still need closing. */
  async finish(): Promise<string[][]> {
    const trees: string[][] = [];
    for (const sink of this.sinks) trees.push(await sink.listing.finish());
    return trees;
  }
}
