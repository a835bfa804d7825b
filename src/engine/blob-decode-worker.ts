import { parentPort, workerData } from 'node:worker_threads';
import { type Decoded, type DecodeReply, decodeBlob, inPlace, type RunBlob } from './blob-decoder.ts';
import type { Key } from './crypto.ts';

// A restore's decode thread (see blob-decoder.ts): opens and decompresses the blobs of each fetched run and
// sends them back, moving their memory to the main thread.

const { dataKey, repositoryId } = workerData as { dataKey: Key; repositoryId: string };
const ops = inPlace(dataKey, repositoryId);

/**
 * A view whose buffer this thread alone holds can be moved; a small one may sit in Node's shared pool of
 * small buffers and is copied instead.
 */
function movable(plain: Uint8Array): Uint8Array {
  const buffer = plain.buffer;
  return buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize ? plain : new Uint8Array(plain);
}

parentPort!.on('message', async ({ seq, run, blobs }: { seq: number; run: Uint8Array; blobs: RunBlob[] }) => {
  const decoded: Decoded[] = [];
  const transfer = new Set<ArrayBuffer>();
  for (const blob of blobs) {
    const result = await decodeBlob(blob, run.subarray(blob.offset, blob.offset + blob.length), ops);
    if ('plain' in result) {
      const plain = movable(result.plain);
      transfer.add(plain.buffer as ArrayBuffer);
      decoded.push({ plain });
    } else {
      decoded.push(result);
    }
  }
  const reply: DecodeReply = { seq, decoded };
  parentPort!.postMessage(reply, [...transfer]);
});
