import { promisify } from 'node:util';
import { constants, zstdCompress, zstdCompressSync } from 'node:zlib';
import type { BlobIndex, BlobType, PackContents } from './blob-index.ts';
import { encodeIndex } from './blob-index.ts';
import { DEFAULT_LEVEL, MIN_COMPRESS_BYTES, RAW, ZSTD } from './compress.ts';
import { objectId, objectIdAsync, SEAL_OVERHEAD } from './crypto.ts';
import { blobContext, PackWriter } from './pack.ts';
import type { Repository } from './repository.ts';

const compressAsync = promisify(zstdCompress);

/** Blobs being compressed at once (in libuv's thread pool, so compression runs beside the main thread). */
const IN_FLIGHT = 6;
const HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };
/** Blobs at least this large are hashed, compressed and sealed in the thread pool; smaller ones in place. */
const ASYNC_BYTES = 128 * 1024;
/** Pack entries per index object, so an interrupted long backup leaves usable indexes behind. */
const PACKS_PER_INDEX = 128;

export interface StoreStats {
  /** Blobs and plain bytes that were new to the repository. */
  blobsAdded: number;
  bytesAdded: number;
  /** Bytes written to storage (packs and indexes). */
  bytesStored: number;
  packsWritten: number;
}

/**
 * Adds blobs to a repository: keyed id, deduplication against the index and this run, zstd where it pays,
 * sealing, packing. `store` returns the id at once; the work finishes in the background, bounded in memory.
 */
export class BlobStore {
  readonly repo: Repository;
  readonly index: BlobIndex;
  readonly stats: StoreStats = { blobsAdded: 0, bytesAdded: 0, bytesStored: 0, packsWritten: 0 };
  private readonly pending = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly packer: PackWriter;
  private unindexed: PackContents[] = [];
  private failure: unknown;
  private readonly indexWrites: Promise<void>[] = [];

  constructor(repo: Repository, index: BlobIndex) {
    this.repo = repo;
    this.index = index;
    this.packer = new PackWriter(repo, (contents, size) => {
      this.index.addPack(contents);
      for (const blob of contents.blobs) this.pending.delete(blob.id);
      this.stats.bytesStored += size;
      this.stats.packsWritten++;
      this.unindexed.push(contents);
      if (this.unindexed.length >= PACKS_PER_INDEX) this.indexWrites.push(this.writeIndex());
    });
  }

  /** Stores a blob and returns its id once it is known (the blob itself may still be on its way). */
  async store(type: BlobType, plain: Uint8Array): Promise<string> {
    return (await this.enqueue(type, plain)).id;
  }

  /**
   * Starts storing a blob once there is room, and returns its id to come: the caller can go on chunking
   * while the blob is hashed, compressed and sealed. Ids resolve in any order; keep them in order yourself.
   */
  async enqueue(type: BlobType, plain: Uint8Array): Promise<{ id: Promise<string> }> {
    if (this.failure) throw this.failure;
    while (this.inFlight.size >= IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    const task = this.process(type, plain);
    this.track(task);
    // Wrapped: an async function returning a promise would wait for it.
    return { id: task };
  }

  /** Counts work against the in-flight bound; its first failure fails every later call. */
  private track(task: Promise<unknown>): void {
    const work = task.then(
      () => {},
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.inFlight.add(work);
    work.finally(() => this.inFlight.delete(work));
  }

  private async process(type: BlobType, plain: Uint8Array): Promise<string> {
    // Large blobs go to the thread pool (WebCrypto, zstd); for small ones a thread hop costs more than the work.
    const large = plain.length >= ASYNC_BYTES;
    const id = large
      ? await objectIdAsync((await this.repo.asyncKeys()).id, plain)
      : objectId(this.repo.idKey, plain);
    if (this.index.has(id) || this.pending.has(id)) return id;
    this.pending.add(id);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += plain.length;
    // The id is known: the caller need not wait for the blob to be packed (nor for a full pack's write).
    this.track(this.pack(type, id, plain, large));
    return id;
  }

  private async pack(type: BlobType, id: string, plain: Uint8Array, large: boolean): Promise<void> {
    // The frame is a header byte and a payload, sealed as two parts rather than copied into one.
    let framed: Uint8Array[] = [HEADER[RAW], plain];
    if (plain.length >= MIN_COMPRESS_BYTES) {
      const options = {
        // One output buffer for the whole blob: the default 16 KiB makes a round trip per 16 KiB.
        chunkSize: plain.length + (plain.length >> 6) + 1024,
        params: { [constants.ZSTD_c_compressionLevel]: DEFAULT_LEVEL, [constants.ZSTD_c_checksumFlag]: 1 },
      };
      const compressed = large ? await compressAsync(plain, options) : zstdCompressSync(plain, options);
      // The same 1/32 rule as compress.pack.
      if ((plain.length - compressed.length) * 32 >= plain.length) framed = [HEADER[ZSTD], compressed];
    }
    const context = blobContext(id);
    const sealed = large ? await this.repo.sealAsync(context, framed) : this.repo.seal(context, framed);
    await this.packer.add(type, id, sealed, plain.length);
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    const plain = encodeIndex(packs);
    this.stats.bytesStored += plain.length + SEAL_OVERHEAD;
    await this.repo.writeSealed('index', 'index', plain);
  }

  /** Waits for every blob, writes the last pack and the index. Only after this may a snapshot refer to them. */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    await this.packer.close();
    await Promise.all(this.indexWrites);
    await this.writeIndex();
  }
}
