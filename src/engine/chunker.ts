import { createHmac } from 'node:crypto';

/**
 * Content-defined chunking (FastCDC-style, with normalized chunk sizes): boundaries follow the content, so
 * an edit inside a large file changes only the chunks around it. The gear table is derived from the
 * repository's chunker key, so the storage operator cannot predict boundaries (and so cannot confirm
 * guessed content from chunk sizes).
 */
export interface ChunkSizes {
  min: number;
  avg: number;
  max: number;
}

export const DEFAULT_CHUNK_SIZES: ChunkSizes = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

/** 256 pseudo-random 32-bit words from the key: HMAC-SHA256(key, counter) blocks. */
export function gearTable(key: Uint8Array): Uint32Array {
  const table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHmac('sha256', key).update(`restorable/v1 gear ${block}`).digest();
    for (let word = 0; word < 8; word++) table[block * 8 + word] = digest.readUInt32LE(word * 4);
  }
  return table;
}

/** A mask of `bits` one-bits at the top of a 32-bit word: the bits that depend on the most input bytes. */
function topMask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (32 - bits)) | 0;
}

export class Chunker {
  private readonly table: Uint32Array;
  private readonly sizes: ChunkSizes;
  /** Harder to match before the average size, easier after: chunk sizes cluster around the average. */
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  private readonly pending: Uint8Array;
  private length = 0;
  private hash = 0;

  constructor(table: Uint32Array, sizes: ChunkSizes = DEFAULT_CHUNK_SIZES) {
    const bits = Math.round(Math.log2(sizes.avg));
    if (!(sizes.min >= 64 && sizes.min < sizes.avg && sizes.avg < sizes.max) || 2 ** bits !== sizes.avg) {
      throw new RangeError(
        `chunk sizes must satisfy 64 <= min < avg < max with avg a power of two (got ${sizes.min}/${sizes.avg}/${sizes.max})`,
      );
    }
    this.table = table;
    this.sizes = sizes;
    this.maskSmall = topMask(bits + 2);
    this.maskLarge = topMask(bits - 2);
    this.pending = new Uint8Array(sizes.max);
  }

  /** Feeds bytes; returns the chunks they complete, in order (each a fresh copy). */
  push(data: Uint8Array): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    const { min, avg, max } = this.sizes;
    const table = this.table;
    const maskSmall = this.maskSmall;
    const maskLarge = this.maskLarge;
    let offset = 0;
    while (offset < data.length) {
      // Where this chunk's first byte is (or would be) in `data`: its byte n is data[at + n].
      const at = offset - this.length;
      const length = data.length;
      let h = this.hash;
      let cut = false;
      // The hash only remembers the last 32 bytes, so hashing can start 32 bytes before the minimum size.
      let i = Math.min(length, Math.max(offset, at + min - 32));
      // Each loop runs to a precomputed end: per byte, one table lookup, one shift-add and (past the
      // minimum) one test. The chunker's speed bounds the backup of one large file.
      let end = Math.min(length, at + min);
      while (i < end) h = ((h << 1) + table[data[i++]!]!) | 0;
      end = Math.min(length, at + avg);
      while (i < end) {
        h = ((h << 1) + table[data[i++]!]!) | 0;
        if ((h & maskSmall) === 0) {
          cut = true;
          break;
        }
      }
      if (!cut) {
        end = Math.min(length, at + max);
        while (i < end) {
          h = ((h << 1) + table[data[i++]!]!) | 0;
          if ((h & maskLarge) === 0) {
            cut = true;
            break;
          }
        }
      }
      const n = i - at;
      if (n >= max) cut = true;
      if (cut && this.length === 0) {
        // The whole chunk lies in this push: one copy instead of two. (Uint8Array's slice copies; a
        // Buffer's would not.)
        chunks.push(Uint8Array.prototype.slice.call(data, offset, i));
        offset = i;
        this.hash = 0;
        continue;
      }
      this.pending.set(data.subarray(offset, i), this.length);
      offset = i;
      if (cut) {
        chunks.push(this.pending.slice(0, n));
        this.length = 0;
        this.hash = 0;
      } else {
        this.length = n;
        this.hash = h;
      }
    }
    return chunks;
  }

  /**
   * Whether `length` bytes pushed now, then `finish`, make at most one chunk, whatever they hold: nothing is
   * pending, and no boundary is looked for before the minimum size.
   */
  isWhole(length: number): boolean {
    return this.length === 0 && length <= this.sizes.min;
  }

  /** The last, possibly short, chunk; undefined when nothing is pending. */
  finish(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    const last = this.pending.slice(0, this.length);
    this.length = 0;
    this.hash = 0;
    return last;
  }
}
