import { compressIfWorthItAsync, RAW, withCompressed, ZSTD } from './compress.ts';
import { type Key, seal, sealContext } from './crypto.ts';
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

/** The sealed frame of a blob; it owns its memory, so it can be transferred to another thread. */
export function encodeBlob(dataKey: Key, repositoryId: string, id: string, plain: Uint8Array): Uint8Array {
  return withCompressed(plain, (compressed) => sealFrame(dataKey, repositoryId, id, plain, compressed));
}

/** The same with compression in libuv's thread pool, for large blobs. */
export async function encodeBlobAsync(
  dataKey: Key,
  repositoryId: string,
  id: string,
  plain: Uint8Array,
): Promise<Uint8Array> {
  const compressed = await compressIfWorthItAsync(plain);
  const sealed = sealFrame(dataKey, repositoryId, id, plain, compressed);
  if (compressed) releaseZlibOutput(compressed);
  return sealed;
}

function sealFrame(
  dataKey: Key,
  repositoryId: string,
  id: string,
  plain: Uint8Array,
  compressed: Uint8Array | undefined,
): Uint8Array {
  // Sealed as two parts rather than joined first: the plain payload is never copied.
  const framed = compressed ? [HEADER[ZSTD], compressed] : [HEADER[RAW], plain];
  return seal(dataKey, framed, sealContext(blobContext(id), repositoryId));
}
