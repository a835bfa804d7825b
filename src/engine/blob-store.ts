import { promisify } from 'node:util';
import { constants, zstdCompress, zstdCompressSync } from 'node:zlib';
import type { BlobIndex, BlobType, PackContents } from './blob-index.ts';
import { encodeIndex } from './blob-index.ts';
import { DEFAULT_LEVEL, MIN_COMPRESS_BYTES, RAW, ZSTD } from './compress.ts';
import { objectId, SEAL_OVERHEAD } from './crypto.ts';
import { blobContext, PackWriter } from './pack.ts';
import type { Repository } from './repository.ts';

const compressAsync = promisify(zstdCompress);

/** Blobs being compressed at once (in libuv's thread pool, so compression runs beside the main thread). */
const IN_FLIGHT = 4;
const HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };
/** Blobs at least this large are compressed in the thread pool; smaller ones on the calling thread. */
const ASYNC_COMPRESS_BYTES = 128 * 1024;
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

  async store(type: BlobType, plain: Uint8Array): Promise<string> {
    if (this.failure) throw this.failure;
    const id = objectId(this.repo.idKey, plain);
    if (this.index.has(id) || this.pending.has(id)) return id;
    this.pending.add(id);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += plain.length;
    const work = this.compressAndPack(type, id, plain).catch((error: unknown) => {
      this.failure ??= error;
    });
    this.inFlight.add(work);
    work.finally(() => this.inFlight.delete(work));
    while (this.inFlight.size >= IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    return id;
  }

  private async compressAndPack(type: BlobType, id: string, plain: Uint8Array): Promise<void> {
    // The frame is a header byte and a payload, sealed as two parts rather than copied into one.
    let framed: Uint8Array[];
    if (plain.length < MIN_COMPRESS_BYTES) {
      framed = [HEADER[RAW], plain];
    } else {
      const options = {
        // One output buffer for the whole blob: the default 16 KiB makes a round trip per 16 KiB.
        chunkSize: plain.length + (plain.length >> 6) + 1024,
        params: { [constants.ZSTD_c_compressionLevel]: DEFAULT_LEVEL, [constants.ZSTD_c_checksumFlag]: 1 },
      };
      // A thread-pool call costs about 0.15 ms whatever the size: small blobs compress faster in place.
      const compressed =
        plain.length < ASYNC_COMPRESS_BYTES
          ? zstdCompressSync(plain, options)
          : await compressAsync(plain, options);
      // The same 1/32 rule as compress.pack.
      framed =
        (plain.length - compressed.length) * 32 < plain.length
          ? [HEADER[RAW], plain]
          : [HEADER[ZSTD], compressed];
    }
    const sealed = this.repo.seal(blobContext(id), framed);
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
