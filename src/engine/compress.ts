import { promisify } from 'node:util';
import { constants, type ZstdOptions, zstdCompress, zstdDecompressSync } from 'node:zlib';
import { releaseZlibOutput } from './memory.ts';
import { outputRoom, type ZstdParams, ZstdSession } from './zstd-session.ts';

/**
 * Framed compression for stored blobs: one header byte (0 = stored raw, 1 = zstd), then the payload.
 * Compression is skipped where it does not pay, so already-compressed or encrypted data costs one byte.
 */
export const RAW = 0;
export const ZSTD = 1;

export const DEFAULT_LEVEL = 3;
/** Inputs shorter than this are stored raw: zstd's frame overhead eats most of any gain. */
export const MIN_COMPRESS_BYTES = 64;

export type CompressFailure = 'empty' | 'header' | 'too-large' | 'corrupt';

export class CompressError extends Error {
  readonly reason: CompressFailure;

  constructor(reason: CompressFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CompressError';
    this.reason = reason;
  }
}

function frame(header: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + payload.length);
  out[0] = header;
  out.set(payload, 1);
  return out;
}

export function pack(data: Uint8Array, level: number = DEFAULT_LEVEL): Uint8Array {
  // zstd silently clamps out-of-range levels; refuse them instead.
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new RangeError(`zstd level must be an integer from 1 to 22, got ${level}`);
  }
  return withFramed(data, (framed) => (framed ? new Uint8Array(framed) : frame(RAW, data)), level);
}

function blobParams(level: number): ZstdParams {
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    // 4 bytes per blob so that corrupt data fails to unpack rather than unpacking to wrong bytes.
    [constants.ZSTD_c_checksumFlag]: 1,
  };
}

function zstdOptions(length: number, level: number): ZstdOptions {
  // One output buffer for the whole blob: the default 16 KiB makes a round trip per 16 KiB.
  return { chunkSize: outputRoom(length), params: blobParams(level) };
}

/** This thread's compression contexts: one per blob level, and one for samples. */
const blobSessions = new Map<number, ZstdSession>();
let sampleSession: ZstdSession | undefined;

function blobSession(level: number): ZstdSession {
  let session = blobSessions.get(level);
  if (!session) {
    session = new ZstdSession(blobParams(level));
    blobSessions.set(level, session);
  }
  return session;
}

/** Whether the compressed form saves at least 1/32 of the size. */
function worthIt(plainLength: number, compressedLength: number): boolean {
  return (plainLength - compressedLength) * 32 >= plainLength;
}

/** Inputs at least this long are sampled before they are compressed. */
export const SAMPLE_FROM_BYTES = 256 * 1024;
const SAMPLE_SLICES = 4;
const SAMPLE_SLICE_BYTES = 16 * 1024;

/**
 * Whether a sample of `data` (four 16 KiB slices, evenly spread) gains less than 1/64 under zstd level 1.
 * Random or already-compressed data then skips the full compression: its cost, and the zstd working memory
 * that every thread of libuv's pool keeps after compressing once. The bar is lower than the 1/32 kept for a
 * whole blob, so data near it is still compressed in full and judged on the result.
 */
export function looksIncompressible(data: Uint8Array): boolean {
  if (data.length < SAMPLE_FROM_BYTES) return false;
  const sample = new Uint8Array(SAMPLE_SLICES * SAMPLE_SLICE_BYTES);
  for (let i = 0; i < SAMPLE_SLICES; i++) {
    const at = Math.floor(((data.length - SAMPLE_SLICE_BYTES) * i) / (SAMPLE_SLICES - 1));
    sample.set(data.subarray(at, at + SAMPLE_SLICE_BYTES), i * SAMPLE_SLICE_BYTES);
  }
  sampleSession ??= new ZstdSession({ [constants.ZSTD_c_compressionLevel]: 1 });
  const compressed = sampleSession.compress(sample);
  return (sample.length - compressed.length) * 64 < sample.length;
}

/**
 * Calls `use` with `data` framed as zstd (the header byte, then the zstd frame), or with undefined when `data`
 * is too short to gain, its sample looks incompressible, or the gain is under 1/32 of its size. The frame is
 * in a buffer this thread reuses: it is valid only until `use` returns.
 */
export function withFramed<T>(
  data: Uint8Array,
  use: (framed: Uint8Array | undefined) => T,
  level: number = DEFAULT_LEVEL,
): T {
  if (data.length < MIN_COMPRESS_BYTES || looksIncompressible(data)) return use(undefined);
  // Compressed after a byte of headroom, so the header and the payload are one run to seal, never copied.
  const framed = blobSession(level).compress(data, 1);
  framed[0] = ZSTD;
  return use(worthIt(data.length, framed.length - 1) ? framed : undefined);
}

const zstdCompressAsync = promisify(zstdCompress);

/**
 * zstd of `data` made in libuv's thread pool (the calling thread goes on chunking meanwhile), or undefined
 * when it does not pay (as for `withFramed`). The result owns its buffer: the caller frees it.
 */
export async function compressIfWorthItAsync(
  data: Uint8Array,
  level: number = DEFAULT_LEVEL,
): Promise<Uint8Array | undefined> {
  if (data.length < MIN_COMPRESS_BYTES || looksIncompressible(data)) return undefined;
  const compressed = await zstdCompressAsync(data, zstdOptions(data.length, level));
  if (worthIt(data.length, compressed.length)) return compressed;
  // Incompressible input (random, already compressed) makes a chunk-sized buffer per blob: free it now.
  releaseZlibOutput(compressed);
  return undefined;
}

export function unpack(framed: Uint8Array, maxSize: number): Uint8Array {
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`maxSize must be a non-negative integer, got ${maxSize}`);
  }
  if (framed.length === 0) throw new CompressError('empty', 'compressed frame is empty (no header byte)');
  const header = framed[0];
  const payload = framed.subarray(1);
  if (header === RAW) {
    if (payload.length > maxSize) {
      throw new CompressError(
        'too-large',
        `stored blob is ${payload.length} bytes, above the limit of ${maxSize}`,
      );
    }
    return new Uint8Array(payload);
  }
  if (header !== ZSTD) {
    throw new CompressError('header', `compressed frame has unknown header byte ${header} (expected 0 or 1)`);
  }
  let out: Buffer;
  try {
    // maxOutputLength stops decompression as soon as the output would exceed it (it must be at least 1).
    out = zstdDecompressSync(payload, { maxOutputLength: Math.max(1, maxSize) });
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new CompressError(
        'too-large',
        `compressed blob decompresses to more than the limit of ${maxSize} bytes`,
      );
    }
    throw new CompressError('corrupt', `compressed blob is corrupt: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (out.length > maxSize) {
    throw new CompressError(
      'too-large',
      `compressed blob decompresses to more than the limit of ${maxSize} bytes`,
    );
  }
  return new Uint8Array(out);
}
