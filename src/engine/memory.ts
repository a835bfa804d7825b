/**
 * Frees the memory behind a buffer now instead of at some later garbage collection, when the view covers
 * the whole buffer and the caller holds the only reference. Without it, sealed blobs passed between
 * threads pile up as external memory faster than the collector looks at them.
 */
export function release(view: Uint8Array): void {
  const buffer = view.buffer;
  if (
    buffer instanceof ArrayBuffer &&
    view.byteOffset === 0 &&
    view.byteLength === buffer.byteLength &&
    !buffer.detached
  ) {
    buffer.transfer(0);
  }
}

/**
 * Frees a zlib result's memory once its bytes are used. zlib hands back a view of the output buffer it
 * allocated for that one call (the engine is closed by then), so the whole buffer can go even when the view
 * is shorter; buffers no larger than Node's pool may be pool slices shared with others, and are left alone.
 */
export function releaseZlibOutput(view: Uint8Array): void {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize && !buffer.detached) {
    buffer.transfer(0);
  }
}
