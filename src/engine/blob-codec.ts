import { compressIfWorthItAsync, RAW, withFramed, ZSTD } from './compress.ts';
import { type Key, seal, sealContext, sealedLength, sealInto } from './crypto.ts';
import { releaseZlibOutput } from './memory.ts';

/**
 * How one blob is stored: a frame (a header byte, then the plain or zstd payload) sealed with the blob's id
 * and the repository's id as additional data. Shared by the main thread (tree blobs) and the content workers
 * (file data), so both write the same format.
 */
const HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };

export function blobContext(id: string): string {
  return `blob ${id}`;
}

/** The most bytes a blob of `plainLength` bytes can take once encoded: stored raw, plus the seal. */
export function maxEncodedLength(plainLength: number): number {
  return sealedLength(1 + plainLength);
}

/** The sealed frame of a blob; it owns its memory, so it can be transferred to another thread. */
export function encodeBlob(dataKey: Key, repositoryId: string, id: string, plain: Uint8Array): Uint8Array {
  return withFramed(plain, (framed) =>
    seal(dataKey, framed ?? [HEADER[RAW], plain], blobAad(repositoryId, id)),
  );
}

/**
 * The sealed frame of a blob, written into `out` from `at`, where `maxEncodedLength` must fit; returns the
 * bytes written.
 */
export function encodeBlobInto(
  dataKey: Key,
  repositoryId: string,
  id: string,
  plain: Uint8Array,
  out: Uint8Array,
  at: number,
): number {
  return withFramed(plain, (framed) =>
    sealInto(dataKey, framed ?? [HEADER[RAW], plain], blobAad(repositoryId, id), out, at),
  );
}

/** The same as `encodeBlob` with compression in libuv's thread pool, for large blobs. */
export async function encodeBlobAsync(
  dataKey: Key,
  repositoryId: string,
  id: string,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const compressed = await compressIfWorthItAsync(plain);
  // Sealed as two parts rather than joined first: the payload is never copied.
  const framed = compressed ? [HEADER[ZSTD], compressed] : [HEADER[RAW], plain];
  const sealed = seal(dataKey, framed, blobAad(repositoryId, id));
  if (compressed) releaseZlibOutput(compressed);
  return sealed;
}

function blobAad(repositoryId: string, id: string): Uint8Array {
  return sealContext(blobContext(id), repositoryId);
}
