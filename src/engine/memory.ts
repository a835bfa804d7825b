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
