import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BlobStore } from './blob-store.ts';
import type { FileJob, FileOutcome, FromWorker, ToWorker, WorkerInit } from './content-protocol.ts';
import { knownTable } from './content-protocol.ts';
import { release } from './memory.ts';

/** A file's content as stored in each target that read it: blob ids in order (indexed like the stores). */
export type FileContent = { size: number; ids: (string[] | undefined)[] } | { error: string };

export interface FileToRead {
  absolute: string;
  size: number;
  /** `dev:ino` as the walk saw it; the worker skips the file when another one is found there. */
  inode?: string;
}

/** Sealed bytes a worker may have in flight to the main thread before it waits. */
const CREDIT_BYTES = 8 * 1024 * 1024;
/** Small files travel to a worker in batches: fewer messages, the same order. */
const BATCH_FILES = 64;
const BATCH_BYTES = 2 * 1024 * 1024;
const SMALL_FILE_BYTES = 256 * 1024;
/** Command output is handed over in pieces of this size; at most STREAM_AHEAD bytes wait in the worker. */
const STREAM_PIECE = 1024 * 1024;
const STREAM_AHEAD = 4 * 1024 * 1024;

interface PendingFile {
  targets: number[];
  ids: (string[] | undefined)[];
  /** Plain bytes of the first target's chunks so far, for progress. */
  bytes: number;
}

interface Job {
  worker: PoolWorker;
  files: PendingFile[];
  /** Plain bytes the job is expected to read: what balances work between workers. */
  weight: number;
  resolve: (contents: FileContent[]) => void;
  reject: (error: unknown) => void;
}

interface PoolWorker {
  thread: Worker;
  load: number;
  /** Stream bytes sent and not yet consumed, and who waits for room. */
  unconsumed: number;
  onRoom?: () => void;
}

/**
 * Worker threads for a backup: `RESTORABLE_WORKERS`, or one more than the cores (at most four). Workers read
 * files synchronously; the extra one computes while another waits on a cold disk (8% faster on the bench
 * corpus with 2 cores, 3 workers against 2).
 */
export function defaultWorkerCount(env: NodeJS.ProcessEnv = process.env): number {
  const asked = Number(env.RESTORABLE_WORKERS);
  if (Number.isInteger(asked) && asked >= 1 && asked <= 64) return asked;
  return Math.min(4, availableParallelism() + 1);
}

/** The worker's module: TypeScript beside this file when run from source, JavaScript beside the bundle. */
function workerUrl(): URL {
  return new URL(
    import.meta.url.endsWith('.ts') ? './content-worker.ts' : './content-worker.js',
    import.meta.url,
  );
}

/**
 * Spreads the reading, chunking, hashing, compression and sealing of file content over worker threads; the
 * main thread adds what they send to each target's packs. Results come back per file, in the order asked
 * for by the caller's awaits; the blobs themselves are packed in whatever order they arrive.
 */
export class ContentPool {
  private readonly stores: BlobStore[];
  private readonly jobs = new Map<number, Job>();
  private nextJob = 0;
  private requests = 0;
  private batch:
    | {
        files: FileJob[];
        bytes: number;
        /** The request number of its first file. */
        first: number;
        waiters: { resolve: (c: FileContent) => void; reject: (e: unknown) => void }[];
      }
    | undefined;
  /** Messages are handled one at a time: blobs reach the packs in the order each worker sent them. */
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown;
  private closed = false;
  /** Plain bytes chunked so far in files not yet complete, for progress. */
  partialBytes = 0;
  private readonly onBytes: () => void;

  constructor(stores: BlobStore[], options: { workers?: number; onBytes?: () => void } = {}) {
    this.stores = stores;
    this.onBytes = options.onBytes ?? (() => {});
    const init: WorkerInit = {
      targets: stores.map((store) => ({
        repository: store.repo.config.id,
        dataKey: store.repo.keys.data,
        idKey: store.repo.keys.id,
        gear: store.repo.gear,
        known: knownTable(store.index.ids(), store.index.size),
      })),
      creditBytes: CREDIT_BYTES,
    };
    this.init = init;
    this.maxWorkers = options.workers ?? defaultWorkerCount();
  }

  private readonly init: WorkerInit;
  private readonly maxWorkers: number;
  private readonly workers: PoolWorker[] = [];

  private startWorker(): PoolWorker {
    const thread = new Worker(workerUrl(), { workerData: this.init });
    const worker: PoolWorker = { thread, load: 0, unconsumed: 0 };
    thread.on('message', (message: FromWorker) => this.receive(worker, message));
    thread.on('error', (error) => this.fail(new Error(`a content worker failed: ${error.message}`)));
    thread.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`a content worker stopped unexpectedly (exit code ${code})`));
    });
    this.workers.push(worker);
    return worker;
  }

  /**
   * Reads a file for the given targets (indexes into the stores). Small files wait for a batch: call `flush`,
   * or `sendThrough` with the request's number, before waiting on a result.
   */
  readFile(file: FileToRead, targets: number[]): Promise<FileContent> {
    this.requests++;
    if (this.failure) return Promise.reject(this.failure);
    const job: FileJob = { absolute: file.absolute, size: file.size, targets };
    if (file.inode !== undefined) job.inode = file.inode;
    if (file.size > SMALL_FILE_BYTES) {
      return this.submit([job], file.size).then((contents) => contents[0]!);
    }
    this.batch ??= { files: [], bytes: 0, first: this.requests, waiters: [] };
    const batch = this.batch;
    batch.files.push(job);
    batch.bytes += file.size;
    const result = new Promise<FileContent>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.files.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) this.flush();
    return result;
  }

  /** How many files were asked for: the number of the last `readFile` call. */
  get requested(): number {
    return this.requests;
  }

  /** Sends the batch being gathered if it holds request number `request` (see `requested`) or a later one. */
  sendThrough(request: number): void {
    if (this.batch && this.batch.first <= request) this.flush();
  }

  /** Sends the files gathered so far. */
  flush(): void {
    const batch = this.batch;
    if (!batch) return;
    this.batch = undefined;
    this.submit(batch.files, batch.bytes).then(
      (contents) => {
        for (const [i, content] of contents.entries()) batch.waiters[i]!.resolve(content);
      },
      (error: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
  }

  /** A command's output, handed over piece by piece to one worker. */
  openStream(targets: number[]): {
    write: (data: Uint8Array) => Promise<void>;
    end: () => Promise<FileContent>;
  } {
    const worker = this.leastLoaded();
    const job = this.nextJob++;
    const done = this.track(job, worker, [{ targets, ids: this.emptyIds(targets), bytes: 0 }], 0);
    this.send(worker, { type: 'stream', job, targets });
    let piece = new Uint8Array(STREAM_PIECE);
    let used = 0;
    const sendPiece = async () => {
      if (used === 0) return;
      const data = piece.subarray(0, used);
      worker.unconsumed += used;
      this.send(worker, { type: 'data', job, data }, [data.buffer as ArrayBuffer]);
      piece = new Uint8Array(STREAM_PIECE);
      used = 0;
      while (worker.unconsumed > STREAM_AHEAD && !this.failure) {
        await new Promise<void>((resolve) => (worker.onRoom = resolve));
      }
      if (this.failure) throw this.failure;
    };
    return {
      write: async (data: Uint8Array) => {
        if (this.failure) throw this.failure;
        let at = 0;
        while (at < data.length) {
          const take = Math.min(data.length - at, STREAM_PIECE - used);
          piece.set(data.subarray(at, at + take), used);
          used += take;
          at += take;
          if (used === STREAM_PIECE) await sendPiece();
        }
      },
      end: async () => {
        await sendPiece();
        this.send(worker, { type: 'end', job });
        return (await done)[0]!;
      },
    };
  }

  /** Stops the workers. Pending work is abandoned; call after the last result was awaited. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.thread.terminate()));
    await this.chain;
  }

  private emptyIds(targets: number[]): (string[] | undefined)[] {
    const ids: (string[] | undefined)[] = this.stores.map(() => undefined);
    for (const target of targets) ids[target] = [];
    return ids;
  }

  /** The least busy worker; a new one while all are busy and there is room (a command's output needs one). */
  private leastLoaded(): PoolWorker {
    const idle = this.workers.find((worker) => worker.load === 0 && worker.unconsumed === 0);
    if (idle) return idle;
    if (this.workers.length < this.maxWorkers) return this.startWorker();
    return this.workers.reduce((best, worker) => (worker.load < best.load ? worker : best));
  }

  private submit(files: FileJob[], weight: number): Promise<FileContent[]> {
    const worker = this.leastLoaded();
    const job = this.nextJob++;
    const pending = files.map((file) => ({
      targets: file.targets,
      ids: this.emptyIds(file.targets),
      bytes: 0,
    }));
    const done = this.track(job, worker, pending, weight);
    this.send(worker, { type: 'files', job, files });
    return done;
  }

  private track(
    job: number,
    worker: PoolWorker,
    files: PendingFile[],
    weight: number,
  ): Promise<FileContent[]> {
    // One more than the bytes, so that a job of empty files still counts as work.
    worker.load += weight + 1;
    return new Promise<FileContent[]>((resolve, reject) => {
      this.jobs.set(job, { worker, files, weight: weight + 1, resolve, reject });
    });
  }

  private send(worker: PoolWorker, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    worker.thread.postMessage(message, transfer);
  }

  private receive(worker: PoolWorker, message: FromWorker): void {
    if (message.type === 'fatal') {
      this.fail(new Error(`a content worker failed: ${message.message}`));
      return;
    }
    if (message.type === 'consumed') {
      worker.unconsumed -= message.bytes;
      if (worker.unconsumed <= STREAM_AHEAD && worker.onRoom) {
        const wake = worker.onRoom;
        worker.onRoom = undefined;
        wake();
      }
      return;
    }
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.handle(worker, message);
      } catch (error) {
        this.fail(error);
      }
    });
  }

  private async handle(worker: PoolWorker, message: FromWorker & { type: 'blobs' | 'done' }): Promise<void> {
    const job = this.jobs.get(message.job);
    if (!job) throw new Error(`content worker sent results for unknown job ${message.job}`);
    if (message.type === 'done') {
      this.jobs.delete(message.job);
      worker.load -= job.weight;
      job.resolve(
        message.outcomes.map((outcome: FileOutcome, i): FileContent => {
          const file = job.files[i]!;
          this.partialBytes -= file.bytes;
          return 'error' in outcome ? outcome : { size: outcome.size, ids: file.ids };
        }),
      );
      return;
    }
    let progressed = false;
    for (const entry of message.entries) {
      const file = job.files[entry.file]!;
      const range = entry.sealed;
      const sealed = range && message.slabs[range.slab]!.subarray(range.at, range.at + range.length);
      await this.stores[entry.target]!.addEncoded('data', entry.id, entry.rawLength, sealed);
      file.ids[entry.target]!.push(entry.id);
      if (entry.target === file.targets[0]) {
        file.bytes += entry.rawLength;
        this.partialBytes += entry.rawLength;
        progressed = true;
      }
    }
    // Every blob was copied into a pack buffer (or was stored already): the slabs go now, not at a collection.
    for (const slab of message.slabs) release(slab);
    this.send(worker, { type: 'credit', bytes: message.bytes });
    if (progressed) this.onBytes();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.failure ??= error;
    for (const worker of this.workers) {
      const wake = worker.onRoom;
      worker.onRoom = undefined;
      wake?.();
    }
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id);
      job.reject(this.failure);
    }
  }
}
