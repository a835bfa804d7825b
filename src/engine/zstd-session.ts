import { createZstdCompress, type ZstdCompress, zstdCompressSync } from 'node:zlib';

/** Zstd compression parameters, keyed by `zlib.constants.ZSTD_c_*`. */
export type ZstdParams = Record<number, number>;

/** What this module uses of a zstd engine's native handle: the calls Node's own `zstdCompressSync` makes. */
interface NativeZstd {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
}

interface EngineInternals {
  _handle?: NativeZstd | null;
  /** After each write: output bytes left unused, input bytes left unread. */
  _writeState?: Uint32Array;
}

/** ZSTD_e_end: compress all input and end the frame. */
const END_FRAME = 2;

/** Room for zstd's output of `length` bytes: above ZSTD_compressBound, so that one call ends the frame. */
export function outputRoom(length: number): number {
  return length + (length >> 6) + 1024;
}

/** A scratch output up to this size is kept for the next call; a larger one is used once. */
const KEPT_SCRATCH_BYTES = 1024 * 1024;

/** A kept engine, and what this module drives of it. */
interface Context {
  engine: ZstdCompress;
  handle: NativeZstd;
  state: Uint32Array;
}

/**
 * One zstd compression context kept for a thread's life. Node's `zstdCompressSync` builds a context (and a
 * stream object) for each call and frees it after; for the 16,000 small files of the bench corpus that cost
 * 12% of their backup's time and 75 MiB of its peak memory (decision 0027). Node has no public way to reuse a
 * context synchronously, so this drives the engine's native handle with the same call that
 * `zstdCompressSync` makes, and falls back to `zstdCompressSync` where that handle is missing or the call
 * does not end its frame. Each call makes one complete, independent frame, byte for byte the one
 * `zstdCompressSync` makes with the same parameters.
 */
export class ZstdSession {
  private readonly params: ZstdParams;
  private kept: Context | undefined;
  private useNative: boolean;
  private scratch = new Uint8Array(0);

  constructor(params: ZstdParams, options: { native?: boolean } = {}) {
    this.params = params;
    this.useNative = options.native ?? true;
  }

  /** Whether the next call reuses the kept context (false once the engine's handle proved unusable). */
  get reusesContext(): boolean {
    return this.context() !== undefined;
  }

  /**
   * One zstd frame of `data`, after `headroom` bytes left for the caller (a header of its own). The bytes are
   * valid until the next call on this session.
   */
  compress(data: Uint8Array, headroom = 0): Uint8Array {
    const room = outputRoom(data.length);
    const context = this.context();
    if (context) {
      const size = headroom + room;
      const output = size <= KEPT_SCRATCH_BYTES ? this.keptScratch(size) : new Uint8Array(size);
      context.handle.writeSync(END_FRAME, data, 0, data.length, output, headroom, room);
      const outputLeft = context.state[0]!;
      if (!context.engine.destroyed && context.state[1] === 0 && outputLeft !== 0) {
        return output.subarray(0, size - outputLeft);
      }
      // A failed or unfinished frame leaves the context mid-frame: the next call starts from a new one, and
      // the one-shot call makes this frame (or throws Node's own error for it).
      this.kept = undefined;
    }
    const frame = zstdCompressSync(data, { params: this.params, chunkSize: room });
    if (headroom === 0) return frame;
    const output = new Uint8Array(headroom + frame.length);
    output.set(frame, headroom);
    return output;
  }

  private keptScratch(room: number): Uint8Array {
    if (this.scratch.length < room) this.scratch = new Uint8Array(Math.min(KEPT_SCRATCH_BYTES, room * 2));
    return this.scratch;
  }

  /** The kept context, made on first use; undefined for good once the engine lacks the handle. */
  private context(): Context | undefined {
    if (!this.useNative || this.kept) return this.kept;
    const engine = createZstdCompress({ params: this.params });
    // An error is seen through `destroyed` after the call; the event must not go unhandled.
    engine.on('error', () => {});
    const { _handle: handle, _writeState: state } = engine as unknown as EngineInternals;
    if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
      this.useNative = false;
      engine.destroy();
      return undefined;
    }
    this.kept = { engine, handle, state };
    return this.kept;
  }
}
