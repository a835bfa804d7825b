import { Worker } from 'node:worker_threads';
import { type ZstdOptions, zstdDecompressSync } from 'node:zlib';
import { blobContext } from './blob-codec.ts';
import { DEFAULT_CHUNK_SIZES } from './chunker.ts';
import { RAW, ZSTD } from './compress.ts';
import { type Key, open, sealContext } from './crypto.ts';

/**
 * Decoding blobs (open the seal, then decompress) off the main thread, for a restore: the main thread
 * fetches runs of neighbouring blobs and writes files; a decode worker (blob-decode-worker.ts) turns each
 * fetched run into plain blobs, which come back as transferred buffers. Thousands of small blobs decoded on
 * the main thread, one zlib and cipher set-up each, were a quarter of a restore's main-thread time.
 */

/** One blob of a fetched run: where it sits in the run, and its lengths from the index. */
export interface RunBlob {
  id: string;
  offset: number;
  length: number;
  rawLength: number;
}

/** A blob's plain bytes, or what is wrong with it (for BlobError's message: `is damaged: <what>`). */
export type Decoded = { plain: Uint8Array } | { damaged: string };

/** A blob is at most one maximum-size chunk, or a listing chunk of the same bound. */
export const MAX_BLOB_BYTES = DEFAULT_CHUNK_SIZES.max;

/** How a blob's seal is opened and its frame decompressed: in place, or in libuv's thread pool. */
export interface DecodeOps {
  /** The frame inside the seal (whose context is the blob's id); throws when it fails authentication. */
  open(id: string, sealed: Uint8Array): Uint8Array | Promise<Uint8Array>;
  decompress(data: Uint8Array, options: ZstdOptions): Uint8Array | Promise<Uint8Array>;
}

/** The decode thread's: everything in place. */
export function inPlace(dataKey: Key, repositoryId: string): DecodeOps {
  return {
    open: (id, sealed) => open(dataKey, sealed, sealContext(blobContext(id), repositoryId)),
    decompress: (data, options) => zstdDecompressSync(data, options),
  };
}

/** Opens and decompresses one sealed blob; never throws for damaged input, says what is wrong instead. */
export async function decodeBlob(blob: RunBlob, sealed: Uint8Array, ops: DecodeOps): Promise<Decoded> {
  if (sealed.length !== blob.length)
    return { damaged: `read ${sealed.length} bytes, expected ${blob.length}` };
  let framed: Uint8Array;
  try {
    framed = await ops.open(blob.id, sealed);
  } catch {
    return { damaged: 'it failed authentication' };
  }
  let plain: Uint8Array;
  if (framed[0] === RAW) {
    plain = framed.subarray(1);
  } else if (framed[0] === ZSTD) {
    const limit = Math.min(blob.rawLength, MAX_BLOB_BYTES);
    try {
      // One output buffer for the whole blob, instead of a round trip per 16 KiB.
      plain = await ops.decompress(framed.subarray(1), {
        maxOutputLength: Math.max(1, limit),
        chunkSize: Math.max(64, limit),
      });
    } catch (error) {
      return { damaged: `it does not decompress (${(error as Error).message})` };
    }
  } else {
    return { damaged: `unknown compression header ${framed[0]}` };
  }
  if (plain.length !== blob.rawLength)
    return { damaged: `${plain.length} bytes, the index says ${blob.rawLength}` };
  return { plain };
}

interface Request {
  seq: number;
  run: Uint8Array;
  blobs: RunBlob[];
}

export interface DecodeReply {
  seq: number;
  decoded: Decoded[];
}

function workerUrl(): URL {
  return new URL(
    import.meta.url.endsWith('.ts') ? './blob-decode-worker.ts' : './blob-decode-worker.js',
    import.meta.url,
  );
}

/** The main thread's side: one worker, started on first use, holding the event loop only while busy. */
export class BlobDecoder {
  private worker: Worker | undefined;
  private readonly dataKey: Key;
  private readonly repositoryId: string;
  private readonly waiting = new Map<
    number,
    { resolve: (d: Decoded[]) => void; reject: (e: Error) => void }
  >();
  private seq = 0;

  constructor(dataKey: Key, repositoryId: string) {
    this.dataKey = dataKey;
    this.repositoryId = repositoryId;
  }

  private start(): Worker {
    const worker = new Worker(workerUrl(), {
      workerData: { dataKey: this.dataKey, repositoryId: this.repositoryId },
    });
    worker.on('message', (reply: DecodeReply) => {
      const entry = this.waiting.get(reply.seq);
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0) worker.unref();
      entry?.resolve(reply.decoded);
    });
    const fail = (error: Error) => {
      for (const entry of this.waiting.values()) entry.reject(error);
      this.waiting.clear();
      this.worker = undefined;
    };
    worker.on('error', (error) => fail(new Error(`the decode thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new Error(`the decode thread exited (code ${code})`)));
    return worker;
  }

  /** Decodes the blobs of one fetched run; the run's buffer is handed to the worker (not to be used after). */
  decode(run: Uint8Array, blobs: RunBlob[]): Promise<Decoded[]> {
    this.worker ??= this.start();
    const worker = this.worker;
    const seq = this.seq++;
    const request: Request = { seq, run, blobs };
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      worker.ref();
      // The run is the backend's fresh buffer: move it rather than copy it, unless other views share it.
      const whole = run.byteOffset === 0 && run.byteLength === run.buffer.byteLength;
      worker.postMessage(request, whole && run.buffer instanceof ArrayBuffer ? [run.buffer] : []);
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) {
      worker.removeAllListeners('exit');
      await worker.terminate();
    }
  }
}
