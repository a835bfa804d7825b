import { promisify } from 'node:util';
import { zstdDecompress, zstdDecompressSync } from 'node:zlib';
import { blobContext } from './blob-codec.ts';
import { BlobDecoder, type Decoded, decodeBlob } from './blob-decoder.ts';
import type { BlobIndex, BlobLocation } from './blob-index.ts';
import { packName } from './pack.ts';
import { type Repository, RepositoryError } from './repository.ts';

const decompressAsync = promisify(zstdDecompress);

/** Blobs at least this large are decompressed in the thread pool; smaller ones on the calling thread. */
const ASYNC_DECOMPRESS_BYTES = 128 * 1024;
/** Neighbouring blobs of one pack are fetched in one read of at most this many bytes. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

/** A blob that cannot be read: missing from the index, missing pack, or damaged. Names the blob and pack. */
export class BlobError extends RepositoryError {
  readonly blob: string;
  readonly pack: string | undefined;

  constructor(message: string, blob: string, pack: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BlobError';
    this.blob = blob;
    this.pack = pack;
  }
}

/** Reads blobs by id: ranged reads from packs, neighbours coalesced, checked against their keyed id. */
export class BlobReader {
  private readonly repo: Repository;
  private readonly index: BlobIndex;
  private readonly prefetched = new Map<string, Promise<Uint8Array>>();
  /** Prefetched blobs already decoded by the decode thread (restores), by id. */
  private readonly decoded = new Map<string, Promise<Decoded>>();
  private readonly decoder: BlobDecoder | undefined;

  /** `decodeThread`: prefetched blobs are decoded in a worker thread (a restore; see blob-decoder.ts). */
  constructor(repo: Repository, index: BlobIndex, options: { decodeThread?: boolean } = {}) {
    this.repo = repo;
    this.index = index;
    if (options.decodeThread) this.decoder = new BlobDecoder(repo.dataKey, repo.config.id);
  }

  /** Stops the decode thread, if there is one. */
  async close(): Promise<void> {
    await this.decoder?.close();
  }

  private locate(id: string): BlobLocation {
    const location = this.index.get(id);
    if (!location) {
      throw new BlobError(
        `${this.repo.location}: blob ${id} is in no index (its pack is missing or was never indexed)`,
        id,
        undefined,
      );
    }
    return location;
  }

  /**
   * Starts reading these blobs, in order, coalescing runs that sit side by side in one pack. Each later
   * `read` of one of them takes the fetched bytes (once).
   */
  prefetch(ids: readonly string[]): void {
    let run: { id: string; at: BlobLocation }[] = [];
    const flush = () => {
      if (run.length === 0) return;
      const first = run[0]!.at;
      const last = run[run.length - 1]!.at;
      const span = { offset: first.offset, length: last.offset + last.length - first.offset };
      const name = packName(first.pack);
      const bytes = this.repo.backend.read(name, span);
      if (this.decoder) {
        const decoder = this.decoder;
        const blobs = run.map(({ id, at }) => ({
          id,
          offset: at.offset - first.offset,
          length: at.length,
          rawLength: at.rawLength,
        }));
        const all = bytes.then((fetched) => decoder.decode(fetched, blobs));
        run.forEach(({ id }, i) => {
          const one = all.then((decoded) => decoded[i]!);
          one.catch(() => {});
          this.decoded.set(id, one);
        });
        run = [];
        return;
      }
      for (const { id, at } of run) {
        const slice = bytes.then((all) =>
          all.subarray(at.offset - first.offset, at.offset - first.offset + at.length),
        );
        slice.catch(() => {});
        this.prefetched.set(id, slice);
      }
      run = [];
    };
    for (const id of ids) {
      if (this.prefetched.has(id) || this.decoded.has(id)) continue;
      const at = this.index.get(id);
      if (!at) continue;
      const previous = run[run.length - 1]?.at;
      if (
        previous &&
        (previous.pack !== at.pack ||
          previous.offset + previous.length !== at.offset ||
          at.offset + at.length - run[0]!.at.offset > MAX_READ_BYTES)
      ) {
        flush();
      }
      run.push({ id, at });
    }
    flush();
  }

  async read(id: string): Promise<Uint8Array> {
    const at = this.locate(id);
    const name = packName(at.pack);
    const decoding = this.decoded.get(id);
    if (decoding) {
      this.decoded.delete(id);
      return this.plainOf(id, at, name, await this.fetching(id, at, name, decoding));
    }
    const fetched = this.prefetched.get(id);
    this.prefetched.delete(id);
    const sealed = await this.fetching(
      id,
      at,
      name,
      fetched ?? this.repo.backend.read(name, { offset: at.offset, length: at.length }),
    );
    return this.decode(id, at, name, sealed);
  }

  /** What `reading` gives, or a BlobError naming the blob and its pack when the read failed. */
  private async fetching<T>(id: string, at: BlobLocation, name: string, reading: Promise<T>): Promise<T> {
    try {
      return await reading;
    } catch (error) {
      throw new BlobError(
        `${this.repo.location}: cannot read blob ${id} from ${name}: ${(error as Error).message}`,
        id,
        at.pack,
        { cause: error },
      );
    }
  }

  /** The plain bytes, or a BlobError saying what is wrong with the blob. */
  private plainOf(id: string, at: BlobLocation, name: string, result: Decoded): Uint8Array {
    if ('damaged' in result) {
      throw new BlobError(
        `${this.repo.location}: blob ${id} in ${name} is damaged: ${result.damaged}`,
        id,
        at.pack,
      );
    }
    return result.plain;
  }

  async decode(id: string, at: BlobLocation, name: string, sealed: Uint8Array): Promise<Uint8Array> {
    const result = await decodeBlob({ id, offset: 0, length: at.length, rawLength: at.rawLength }, sealed, {
      // Large blobs are decrypted and decompressed in the thread pool, beside the main thread; a thread-pool
      // call costs about 0.1 ms whatever the size, so small ones are done in place.
      open: (blobId, bytes) =>
        bytes.length >= ASYNC_DECOMPRESS_BYTES
          ? this.repo.openAsync(blobContext(blobId), name, bytes)
          : this.repo.open(blobContext(blobId), name, bytes),
      decompress: (data, options) =>
        (options.maxOutputLength ?? 0) < ASYNC_DECOMPRESS_BYTES
          ? zstdDecompressSync(data, options)
          : decompressAsync(data, options),
    });
    return this.plainOf(id, at, name, result);
  }
}
