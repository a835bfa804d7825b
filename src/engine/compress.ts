import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';

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
  if (data.length < MIN_COMPRESS_BYTES) return frame(RAW, data);
  const compressed = zstdCompressSync(data, {
    params: {
      [constants.ZSTD_c_compressionLevel]: level,
      // 4 bytes per blob so that corrupt data fails to unpack rather than unpacking to wrong bytes.
      [constants.ZSTD_c_checksumFlag]: 1,
    },
  });
  // Keep the compressed form only if it saves at least 1/32 of the size.
  if ((data.length - compressed.length) * 32 < data.length) return frame(RAW, data);
  return frame(ZSTD, compressed);
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
