import { promisify } from 'node:util';
import { zstdDecompress, zstdDecompressSync } from 'node:zlib';
import { blobContext } from './blob-codec.ts';
import type { BlobIndex, BlobLocation } from './blob-index.ts';
import { DEFAULT_CHUNK_SIZES } from './chunker.ts';
import { RAW, ZSTD } from './compress.ts';
import { packName } from './pack.ts';
import { type Repository, RepositoryError } from './repository.ts';

const decompressAsync = promisify(zstdDecompress);

/** A blob is at most one maximum-size chunk, or a listing chunk of the same bound. */
const MAX_BLOB_BYTES = DEFAULT_CHUNK_SIZES.max;
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

  constructor(repo: Repository, index: BlobIndex) {
    this.repo = repo;
    this.index = index;
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
      if (this.prefetched.has(id)) continue;
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
    let sealed: Uint8Array;
    const fetched = this.prefetched.get(id);
    this.prefetched.delete(id);
    try {
      sealed = await (fetched ?? this.repo.backend.read(name, { offset: at.offset, length: at.length }));
    } catch (error) {
      throw new BlobError(
        `${this.repo.location}: cannot read blob ${id} from ${name}: ${(error as Error).message}`,
        id,
        at.pack,
        { cause: error },
      );
    }
    return this.decode(id, at, name, sealed);
  }

  async decode(id: string, at: BlobLocation, name: string, sealed: Uint8Array): Promise<Uint8Array> {
    const damaged = (what: string, cause?: unknown) =>
      new BlobError(`${this.repo.location}: blob ${id} in ${name} is damaged: ${what}`, id, at.pack, {
        cause,
      });
    if (sealed.length !== at.length) throw damaged(`read ${sealed.length} bytes, expected ${at.length}`);
    let framed: Uint8Array;
    try {
      // Large blobs are decrypted in the thread pool, beside the main thread.
      framed =
        sealed.length >= ASYNC_DECOMPRESS_BYTES
          ? await this.repo.openAsync(blobContext(id), name, sealed)
          : this.repo.open(blobContext(id), name, sealed);
    } catch (error) {
      throw damaged('it failed authentication', error);
    }
    let plain: Uint8Array;
    const limit = Math.min(at.rawLength, MAX_BLOB_BYTES);
    if (framed[0] === RAW) {
      plain = framed.subarray(1);
    } else if (framed[0] === ZSTD) {
      try {
        const options = {
          maxOutputLength: Math.max(1, limit),
          // One output buffer for the whole blob, instead of a round trip per 16 KiB.
          chunkSize: Math.max(64, limit),
        };
        // A thread-pool call costs about 0.1 ms whatever the size: small blobs decompress faster in place.
        plain =
          limit < ASYNC_DECOMPRESS_BYTES
            ? zstdDecompressSync(framed.subarray(1), options)
            : await decompressAsync(framed.subarray(1), options);
      } catch (error) {
        throw damaged(`it does not decompress (${(error as Error).message})`, error);
      }
    } else {
      throw damaged(`unknown compression header ${framed[0]}`);
    }
    if (plain.length !== at.rawLength) throw damaged(`${plain.length} bytes, the index says ${at.rawLength}`);
    return plain;
  }
}
