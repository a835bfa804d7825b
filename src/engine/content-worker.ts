import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { describeFsError } from '../sources/source.ts';
import { encodeBlobAsync, encodeBlobInto, maxEncodedLength } from './blob-codec.ts';
import { Chunker } from './chunker.ts';
import type {
  BlobEntry,
  FileJob,
  FileOutcome,
  FromWorker,
  ToWorker,
  WorkerInit,
} from './content-protocol.ts';
import { knownHas } from './content-protocol.ts';
import { objectId, prepareKey } from './crypto.ts';
import { release } from './memory.ts';

/**
 * A content worker: reads files (or receives a command's output), cuts chunks, and hashes, compresses and
 * seals the ones its repositories lack. The main thread only packs, so the work of a backup spreads over
 * every core. Messages are handled one at a time, in order; see content-protocol.ts.
 */
const init = workerData as WorkerInit;
const port = parentPort!;

const targets = init.targets.map((target) => ({
  repository: target.repository,
  dataKey: prepareKey(target.dataKey),
  idKey: prepareKey(target.idKey),
  chunker: new Chunker(target.gear),
  known: target.known,
}));

/** Files up to this size are read in one call; larger ones in pieces of READ_BYTES. */
const WHOLE_FILE_BYTES = 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;
/** Sealed bytes gathered before a message goes out. */
const MESSAGE_BYTES = 4 * 1024 * 1024;
const MESSAGE_ENTRIES = 512;
/** Allocated on the first large file: a worker that only receives a command's output never needs it. */
let readBuffer: Uint8Array | undefined;
/** Chunks at least this large are compressed in the thread pool, at most ENCODING_AT_ONCE at a time. */
const ASYNC_BYTES = 256 * 1024;
const ENCODING_AT_ONCE = 2;
const encoding = new Set<Promise<void>>();

/** Small sealed blobs are written back to back into slabs of this size: one transfer per slab. */
const SLAB_BYTES = 1024 * 1024;

let credit = init.creditBytes;
let wakeOnCredit: (() => void) | undefined;
/** The next message: its entries, the slabs their sealed bytes are in, and the sealed bytes in all. */
let entries: BlobEntry[] = [];
let slabs: Uint8Array[] = [];
let entryBytes = 0;
/** The slab small blobs are being sealed into: its number in `slabs`, and how much of it is used. */
let openSlab: { bytes: Uint8Array; index: number; used: number } | undefined;

function post(message: FromWorker, transferList: ArrayBuffer[] = []): void {
  port.postMessage(message, transferList);
}

async function flush(job: number): Promise<void> {
  await Promise.all(encoding);
  if (entries.length > 0) {
    const bytes = entryBytes;
    post(
      { type: 'blobs', job, entries, slabs, bytes },
      slabs.map((slab) => slab.buffer as ArrayBuffer),
    );
    entries = [];
    slabs = [];
    openSlab = undefined;
    entryBytes = 0;
    credit -= bytes;
  }
  while (credit <= 0) await new Promise<void>((resolve) => (wakeOnCredit = resolve));
}

/** A large blob, sealed in a buffer of its own, goes as a slab of its own. */
function addSealed(entry: BlobEntry, sealed: Uint8Array): void {
  entry.sealed = { slab: slabs.push(sealed) - 1, at: 0, length: sealed.length };
  entryBytes += sealed.length;
}

/** Seals a small blob into the open slab, or into a new one when it would not fit. */
function sealSmall(entry: BlobEntry, target: (typeof targets)[number], chunk: Uint8Array): void {
  const room = maxEncodedLength(chunk.length);
  if (!openSlab || openSlab.used + room > openSlab.bytes.length) {
    // Left uninitialised: only the sealed ranges are read, and only by this process's main thread.
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, room)).buffer);
    openSlab = { bytes, index: slabs.push(bytes) - 1, used: 0 };
  }
  const at = openSlab.used;
  const length = encodeBlobInto(target.dataKey, target.repository, entry.id, chunk, openSlab.bytes, at);
  entry.sealed = { slab: openSlab.index, at, length };
  openSlab.used += length;
  entryBytes += length;
}

/**
 * One chunk of one file for one target: hashed always, compressed and sealed only when new there. An `owned`
 * chunk is freed once used; the caller frees one it lends.
 */
async function emit(
  job: number,
  file: number,
  target: number,
  chunk: Uint8Array,
  owned = true,
): Promise<void> {
  const t = targets[target]!;
  const id = objectId(t.idKey, chunk);
  const entry: BlobEntry = { file, target, id, rawLength: chunk.length };
  entries.push(entry);
  if (knownHas(t.known, id)) {
    if (owned) release(chunk);
  } else if (chunk.length < ASYNC_BYTES) {
    sealSmall(entry, t, chunk);
    if (owned) release(chunk);
  } else {
    if (!owned) throw new Error('a large chunk must be owned: it is sealed after emit returns');
    // Compressed in libuv's thread pool while this thread cuts the next chunks: one large file then
    // keeps more than one core busy. This chunk was cut and hashed while ENCODING_AT_ONCE others were being
    // compressed; it waits for a slot only now, so that one starts as soon as another ends. The entry keeps
    // its place; `flush` waits for its seal.
    while (encoding.size >= ENCODING_AT_ONCE) await Promise.race(encoding);
    const work = encodeBlobAsync(t.dataKey, t.repository, id, chunk).then((sealed) => {
      addSealed(entry, sealed);
      release(chunk);
    });
    encoding.add(work);
    work.then(
      () => encoding.delete(work),
      () => encoding.delete(work),
    );
  }
  if (entryBytes >= MESSAGE_BYTES || entries.length >= MESSAGE_ENTRIES) await flush(job);
}

async function push(job: number, file: number, targetList: number[], data: Uint8Array): Promise<void> {
  for (const target of targetList) {
    for (const chunk of targets[target]!.chunker.push(data)) await emit(job, file, target, chunk);
  }
}

async function finish(job: number, file: number, targetList: number[]): Promise<void> {
  for (const target of targetList) {
    const last = targets[target]!.chunker.finish();
    if (last) await emit(job, file, target, last);
  }
}

function sameFile(fd: number, inode: string | undefined): boolean {
  const stat = fstatSync(fd, { bigint: true });
  if (!stat.isFile()) return false;
  return inode === undefined || `${stat.dev}:${stat.ino}` === inode;
}

async function readFile(job: number, index: number, file: FileJob): Promise<FileOutcome> {
  let fd: number;
  try {
    // O_NONBLOCK: a fifo swapped in since the walk must not hang the open; it has no effect on regular files.
    fd = openSync(file.absolute, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { error: `${describeFsError(error, 'file')}: skipped` };
  }
  let size = 0;
  try {
    if (!sameFile(fd, file.inode)) return { error: 'replaced by another file during the backup: skipped' };
    if (file.size <= WHOLE_FILE_BYTES) {
      // One byte more than the walk saw: a short read is the end, so an unchanged file costs one read.
      const whole = new Uint8Array(file.size + 1);
      size = readSync(fd, whole, 0, whole.length, 0);
      if (size <= file.size) {
        if (size < ASYNC_BYTES && file.targets.every((target) => targets[target]!.chunker.isWhole(size))) {
          // One chunk whatever the boundaries: it skips the chunkers' copies, and is sealed before `emit`
          // returns, so the read buffer can be freed here.
          if (size > 0) {
            for (const target of file.targets) await emit(job, index, target, whole.subarray(0, size), false);
          }
          release(whole);
          return { size };
        }
        await push(job, index, file.targets, whole.subarray(0, size));
        await finish(job, index, file.targets);
        return { size };
      }
      // It grew since the walk: chunk what was read, then the rest.
      await push(job, index, file.targets, whole.subarray(0, size));
    }
    readBuffer ??= new Uint8Array(READ_BYTES);
    for (;;) {
      const read = readSync(fd, readBuffer, 0, READ_BYTES, size);
      if (read === 0) break;
      size += read;
      await push(job, index, file.targets, readBuffer.subarray(0, read));
    }
    await finish(job, index, file.targets);
    return { size };
  } catch (error) {
    // Leave the chunkers clean for the next file; chunks already sent stay stored, unreferenced.
    for (const target of file.targets) targets[target]!.chunker.finish();
    return { error: `${describeFsError(error, 'file')}: not backed up` };
  } finally {
    closeSync(fd);
  }
}

let stream: { job: number; targets: number[]; size: number } | undefined;

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'files': {
      const outcomes: FileOutcome[] = [];
      for (let i = 0; i < message.files.length; i++)
        outcomes.push(await readFile(message.job, i, message.files[i]!));
      await flush(message.job);
      post({ type: 'done', job: message.job, outcomes });
      return;
    }
    case 'stream':
      stream = { job: message.job, targets: message.targets, size: 0 };
      return;
    case 'data': {
      const bytes = message.data.length;
      stream!.size += bytes;
      await push(message.job, 0, stream!.targets, message.data);
      release(message.data);
      post({ type: 'consumed', job: message.job, bytes });
      return;
    }
    case 'end':
      await finish(message.job, 0, stream!.targets);
      await flush(message.job);
      post({ type: 'done', job: message.job, outcomes: [{ size: stream!.size }] });
      stream = undefined;
      return;
    case 'credit':
      return;
  }
}

let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  if (message.type === 'credit') {
    credit += message.bytes;
    if (credit > 0 && wakeOnCredit) {
      const wake = wakeOnCredit;
      wakeOnCredit = undefined;
      wake();
    }
    return;
  }
  queue = queue
    .then(() => handle(message))
    .catch((error: unknown) => {
      post({
        type: 'fatal',
        message: error instanceof Error ? (error.stack ?? error.message) : String(error),
      });
    });
});
