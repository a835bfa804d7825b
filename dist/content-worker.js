import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/engine/content-worker.ts
import { closeSync, constants as constants2, fstatSync, openSync, readSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

// src/sources/source.ts
function describeFsError(error, what) {
  const code = error?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `permission denied: cannot read this ${what}`;
    case "ENOENT":
      return `${what} vanished during the backup`;
    case "ENOTDIR":
      return `${what} changed during the backup (a parent is no longer a directory)`;
    case "ELOOP":
      return "too many levels of symbolic links";
    case "EIO":
      return `input/output error reading this ${what}`;
    default:
      return `cannot read this ${what}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

// src/engine/compress.ts
import { promisify } from "node:util";
import { constants, zstdCompress, zstdDecompressSync } from "node:zlib";

// src/engine/memory.ts
function release(view) {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength && !buffer.detached) {
    buffer.transfer(0);
  }
}
function releaseZlibOutput(view) {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize && !buffer.detached) {
    buffer.transfer(0);
  }
}

// src/engine/zstd-session.ts
import { createZstdCompress, zstdCompressSync } from "node:zlib";
var END_FRAME = 2;
function outputRoom(length) {
  return length + (length >> 6) + 1024;
}
var KEPT_SCRATCH_BYTES = 1024 * 1024;
var ZstdSession = class {
  params;
  kept;
  useNative;
  scratch = new Uint8Array(0);
  constructor(params, options = {}) {
    this.params = params;
    this.useNative = options.native ?? true;
  }
  /** Whether the next call reuses the kept context (false once the engine's handle proved unusable). */
  get reusesContext() {
    return this.context() !== void 0;
  }
  /**
   * One zstd frame of `data`, after `headroom` bytes left for the caller (a header of its own). The bytes are
   * valid until the next call on this session.
   */
  compress(data, headroom = 0) {
    const room = outputRoom(data.length);
    const context = this.context();
    if (context) {
      const size = headroom + room;
      const output2 = size <= KEPT_SCRATCH_BYTES ? this.keptScratch(size) : new Uint8Array(size);
      context.handle.writeSync(END_FRAME, data, 0, data.length, output2, headroom, room);
      const outputLeft = context.state[0];
      if (!context.engine.destroyed && context.state[1] === 0 && outputLeft !== 0) {
        return output2.subarray(0, size - outputLeft);
      }
      this.kept = void 0;
    }
    const frame = zstdCompressSync(data, { params: this.params, chunkSize: room });
    if (headroom === 0) return frame;
    const output = new Uint8Array(headroom + frame.length);
    output.set(frame, headroom);
    return output;
  }
  keptScratch(room) {
    if (this.scratch.length < room) this.scratch = new Uint8Array(Math.min(KEPT_SCRATCH_BYTES, room * 2));
    return this.scratch;
  }
  /** The kept context, made on first use; undefined for good once the engine lacks the handle. */
  context() {
    if (!this.useNative || this.kept) return this.kept;
    const engine = createZstdCompress({ params: this.params });
    engine.on("error", () => {
    });
    const { _handle: handle2, _writeState: state } = engine;
    if (typeof handle2?.writeSync !== "function" || !(state instanceof Uint32Array) || state.length < 2) {
      this.useNative = false;
      engine.destroy();
      return void 0;
    }
    this.kept = { engine, handle: handle2, state };
    return this.kept;
  }
};

// src/engine/compress.ts
var RAW = 0;
var ZSTD = 1;
var DEFAULT_LEVEL = 3;
var MIN_COMPRESS_BYTES = 64;
function blobParams(level) {
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    // 4 bytes per blob so that corrupt data fails to unpack rather than unpacking to wrong bytes.
    [constants.ZSTD_c_checksumFlag]: 1
  };
}
function zstdOptions(length, level) {
  return { chunkSize: outputRoom(length), params: blobParams(level) };
}
var blobSessions = /* @__PURE__ */ new Map();
var sampleSession;
function blobSession(level) {
  let session = blobSessions.get(level);
  if (!session) {
    session = new ZstdSession(blobParams(level));
    blobSessions.set(level, session);
  }
  return session;
}
function worthIt(plainLength, compressedLength) {
  return (plainLength - compressedLength) * 32 >= plainLength;
}
var SAMPLE_FROM_BYTES = 256 * 1024;
var SAMPLE_SLICES = 4;
var SAMPLE_SLICE_BYTES = 16 * 1024;
function looksIncompressible(data) {
  if (data.length < SAMPLE_FROM_BYTES) return false;
  const sample = new Uint8Array(SAMPLE_SLICES * SAMPLE_SLICE_BYTES);
  for (let i = 0; i < SAMPLE_SLICES; i++) {
    const at = Math.floor((data.length - SAMPLE_SLICE_BYTES) * i / (SAMPLE_SLICES - 1));
    sample.set(data.subarray(at, at + SAMPLE_SLICE_BYTES), i * SAMPLE_SLICE_BYTES);
  }
  sampleSession ??= new ZstdSession({ [constants.ZSTD_c_compressionLevel]: 1 });
  const compressed = sampleSession.compress(sample);
  return (sample.length - compressed.length) * 64 < sample.length;
}
function withFramed(data, use, level = DEFAULT_LEVEL) {
  if (data.length < MIN_COMPRESS_BYTES || looksIncompressible(data)) return use(void 0);
  const framed = blobSession(level).compress(data, 1);
  framed[0] = ZSTD;
  return use(worthIt(data.length, framed.length - 1) ? framed : void 0);
}
var zstdCompressAsync = promisify(zstdCompress);
async function compressIfWorthItAsync(data, level = DEFAULT_LEVEL) {
  if (data.length < MIN_COMPRESS_BYTES || looksIncompressible(data)) return void 0;
  const compressed = await zstdCompressAsync(data, zstdOptions(data.length, level));
  if (worthIt(data.length, compressed.length)) return compressed;
  releaseZlibOutput(compressed);
  return void 0;
}

// src/engine/crypto.ts
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomFillSync
} from "node:crypto";
var KEY_BYTES = 32;
var VERSION = 1;
var NONCE_BYTES = 12;
var TAG_BYTES = 16;
var SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;
function prepareKey(key) {
  checkKey(key, "key");
  return createSecretKey(key);
}
function checkKey(key, what) {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== KEY_BYTES) {
    throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${length}`);
  }
}
function objectId(idKey, plaintext) {
  checkKey(idKey, "id key");
  return createHmac("sha256", idKey).update(plaintext).digest("hex");
}
function sealContext(kind, repository) {
  return new TextEncoder().encode(`restorable/v1 ${kind} ${repository}`);
}
var NONCE_POOL_BYTES = 4092;
var noncePool = new Uint8Array(0);
var nonceAt = 0;
function freshNonce() {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomFillSync(new Uint8Array(NONCE_POOL_BYTES));
    nonceAt = 0;
  }
  const nonce = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}
function sealedLength(plainLength) {
  return SEAL_OVERHEAD + plainLength;
}
function seal(key, plaintext, aad) {
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const out = Buffer.allocUnsafeSlow(sealedLength(totalLength(parts)));
  sealInto(key, parts, aad, out, 0);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
function sealInto(key, plaintext, aad, out, at) {
  checkKey(key, "data key");
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const length = sealedLength(totalLength(parts));
  if (!Number.isInteger(at) || at < 0 || at + length > out.length) {
    throw new RangeError(`sealing needs ${length} bytes at offset ${at} of a ${out.length}-byte buffer`);
  }
  const nonce = freshNonce();
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  out[at] = VERSION;
  out.set(nonce, at + 1);
  let end = at + 1 + NONCE_BYTES;
  for (const part of parts) {
    const ciphertext = cipher.update(part);
    out.set(ciphertext, end);
    end += ciphertext.length;
    release(ciphertext);
  }
  cipher.final();
  out.set(cipher.getAuthTag(), end);
  return length;
}
function totalLength(parts) {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

// src/engine/blob-codec.ts
var HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };
function blobContext(id) {
  return `blob ${id}`;
}
function maxEncodedLength(plainLength) {
  return sealedLength(1 + plainLength);
}
function encodeBlobInto(dataKey, repositoryId, id, plain, out, at) {
  return withFramed(
    plain,
    (framed) => sealInto(dataKey, framed ?? [HEADER[RAW], plain], blobAad(repositoryId, id), out, at)
  );
}
async function encodeBlobAsync(dataKey, repositoryId, id, plain) {
  const compressed = await compressIfWorthItAsync(plain);
  const framed = compressed ? [HEADER[ZSTD], compressed] : [HEADER[RAW], plain];
  const sealed = seal(dataKey, framed, blobAad(repositoryId, id));
  if (compressed) releaseZlibOutput(compressed);
  return sealed;
}
function blobAad(repositoryId, id) {
  return sealContext(blobContext(id), repositoryId);
}

// src/engine/chunker.ts
var DEFAULT_CHUNK_SIZES = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };
function topMask(bits) {
  return (2 ** bits - 1) * 2 ** (32 - bits) | 0;
}
var Chunker = class {
  table;
  sizes;
  /** Harder to match before the average size, easier after: chunk sizes cluster around the average. */
  maskSmall;
  maskLarge;
  pending;
  length = 0;
  hash = 0;
  constructor(table, sizes = DEFAULT_CHUNK_SIZES) {
    const bits = Math.round(Math.log2(sizes.avg));
    if (!(sizes.min >= 64 && sizes.min < sizes.avg && sizes.avg < sizes.max) || 2 ** bits !== sizes.avg) {
      throw new RangeError(
        `chunk sizes must satisfy 64 <= min < avg < max with avg a power of two (got ${sizes.min}/${sizes.avg}/${sizes.max})`
      );
    }
    this.table = table;
    this.sizes = sizes;
    this.maskSmall = topMask(bits + 2);
    this.maskLarge = topMask(bits - 2);
    this.pending = new Uint8Array(sizes.max);
  }
  /** Feeds bytes; returns the chunks they complete, in order (each a fresh copy). */
  push(data) {
    const chunks = [];
    const { min, avg, max } = this.sizes;
    const table = this.table;
    const maskSmall = this.maskSmall;
    const maskLarge = this.maskLarge;
    let offset = 0;
    while (offset < data.length) {
      const at = offset - this.length;
      const length = data.length;
      let h = this.hash;
      let cut = false;
      let i = Math.min(length, Math.max(offset, at + min - 32));
      let end = Math.min(length, at + min);
      while (i < end) h = (h << 1) + table[data[i++]] | 0;
      end = Math.min(length, at + avg);
      while (i < end) {
        h = (h << 1) + table[data[i++]] | 0;
        if ((h & maskSmall) === 0) {
          cut = true;
          break;
        }
      }
      if (!cut) {
        end = Math.min(length, at + max);
        while (i < end) {
          h = (h << 1) + table[data[i++]] | 0;
          if ((h & maskLarge) === 0) {
            cut = true;
            break;
          }
        }
      }
      const n = i - at;
      if (n >= max) cut = true;
      if (cut && this.length === 0) {
        chunks.push(Uint8Array.prototype.slice.call(data, offset, i));
        offset = i;
        this.hash = 0;
        continue;
      }
      this.pending.set(data.subarray(offset, i), this.length);
      offset = i;
      if (cut) {
        chunks.push(this.pending.slice(0, n));
        this.length = 0;
        this.hash = 0;
      } else {
        this.length = n;
        this.hash = h;
      }
    }
    return chunks;
  }
  /**
   * Whether `length` bytes pushed now, then `finish`, make at most one chunk, whatever they hold: nothing is
   * pending, and no boundary is looked for before the minimum size.
   */
  isWhole(length) {
    return this.length === 0 && length <= this.sizes.min;
  }
  /** The last, possibly short, chunk; undefined when nothing is pending. */
  finish() {
    if (this.length === 0) return void 0;
    const last = this.pending.slice(0, this.length);
    this.length = 0;
    this.hash = 0;
    return last;
  }
};

// src/engine/content-protocol.ts
function idPrefix(id) {
  return BigInt(`0x${id.slice(0, 16)}`);
}
function knownHas(table, id) {
  if (table.length === 0) return false;
  const key = idPrefix(id);
  let low = 0;
  let high = table.length - 1;
  while (low <= high) {
    const mid = low + high >>> 1;
    const value = table[mid];
    if (value === key) return true;
    if (value < key) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

// src/engine/content-worker.ts
var init = workerData;
var port = parentPort;
var targets = init.targets.map((target) => ({
  repository: target.repository,
  dataKey: prepareKey(target.dataKey),
  idKey: prepareKey(target.idKey),
  chunker: new Chunker(target.gear),
  known: target.known
}));
var WHOLE_FILE_BYTES = 1024 * 1024;
var READ_BYTES = 4 * 1024 * 1024;
var MESSAGE_BYTES = 4 * 1024 * 1024;
var MESSAGE_ENTRIES = 512;
var readBuffer;
var ASYNC_BYTES = 256 * 1024;
var ENCODING_AT_ONCE = 2;
var encoding = /* @__PURE__ */ new Set();
var SLAB_BYTES = 1024 * 1024;
var credit = init.creditBytes;
var wakeOnCredit;
var entries = [];
var slabs = [];
var entryBytes = 0;
var openSlab;
function post(message, transferList = []) {
  port.postMessage(message, transferList);
}
async function flush(job) {
  await Promise.all(encoding);
  if (entries.length > 0) {
    const bytes = entryBytes;
    post(
      { type: "blobs", job, entries, slabs, bytes },
      slabs.map((slab) => slab.buffer)
    );
    entries = [];
    slabs = [];
    openSlab = void 0;
    entryBytes = 0;
    credit -= bytes;
  }
  while (credit <= 0) await new Promise((resolve) => wakeOnCredit = resolve);
}
function addSealed(entry, sealed) {
  entry.sealed = { slab: slabs.push(sealed) - 1, at: 0, length: sealed.length };
  entryBytes += sealed.length;
}
function sealSmall(entry, target, chunk) {
  const room = maxEncodedLength(chunk.length);
  if (!openSlab || openSlab.used + room > openSlab.bytes.length) {
    const bytes = new Uint8Array(Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, room)).buffer);
    openSlab = { bytes, index: slabs.push(bytes) - 1, used: 0 };
  }
  const at = openSlab.used;
  const length = encodeBlobInto(target.dataKey, target.repository, entry.id, chunk, openSlab.bytes, at);
  entry.sealed = { slab: openSlab.index, at, length };
  openSlab.used += length;
  entryBytes += length;
}
async function emit(job, file, target, chunk, owned = true) {
  const t = targets[target];
  const id = objectId(t.idKey, chunk);
  const entry = { file, target, id, rawLength: chunk.length };
  entries.push(entry);
  if (knownHas(t.known, id)) {
    if (owned) release(chunk);
  } else if (chunk.length < ASYNC_BYTES) {
    sealSmall(entry, t, chunk);
    if (owned) release(chunk);
  } else {
    if (!owned) throw new Error("a large chunk must be owned: it is sealed after emit returns");
    while (encoding.size >= ENCODING_AT_ONCE) await Promise.race(encoding);
    const work = encodeBlobAsync(t.dataKey, t.repository, id, chunk).then((sealed) => {
      addSealed(entry, sealed);
      release(chunk);
    });
    encoding.add(work);
    work.then(
      () => encoding.delete(work),
      () => encoding.delete(work)
    );
  }
  if (entryBytes >= MESSAGE_BYTES || entries.length >= MESSAGE_ENTRIES) await flush(job);
}
async function push(job, file, targetList, data) {
  for (const target of targetList) {
    for (const chunk of targets[target].chunker.push(data)) await emit(job, file, target, chunk);
  }
}
async function finish(job, file, targetList) {
  for (const target of targetList) {
    const last = targets[target].chunker.finish();
    if (last) await emit(job, file, target, last);
  }
}
function sameFile(fd, inode) {
  const stat = fstatSync(fd, { bigint: true });
  if (!stat.isFile()) return false;
  return inode === void 0 || `${stat.dev}:${stat.ino}` === inode;
}
async function readFile(job, index, file) {
  let fd;
  try {
    fd = openSync(file.absolute, constants2.O_RDONLY | constants2.O_NONBLOCK);
  } catch (error) {
    return { error: `${describeFsError(error, "file")}: skipped` };
  }
  let size = 0;
  try {
    if (!sameFile(fd, file.inode)) return { error: "replaced by another file during the backup: skipped" };
    if (file.size <= WHOLE_FILE_BYTES) {
      const whole = new Uint8Array(file.size + 1);
      size = readSync(fd, whole, 0, whole.length, 0);
      if (size <= file.size) {
        if (size < ASYNC_BYTES && file.targets.every((target) => targets[target].chunker.isWhole(size))) {
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
      await push(job, index, file.targets, whole.subarray(0, size));
    }
    readBuffer ??= new Uint8Array(READ_BYTES);
    for (; ; ) {
      const read = readSync(fd, readBuffer, 0, READ_BYTES, size);
      if (read === 0) break;
      size += read;
      await push(job, index, file.targets, readBuffer.subarray(0, read));
    }
    await finish(job, index, file.targets);
    return { size };
  } catch (error) {
    for (const target of file.targets) targets[target].chunker.finish();
    return { error: `${describeFsError(error, "file")}: not backed up` };
  } finally {
    closeSync(fd);
  }
}
var stream;
async function handle(message) {
  switch (message.type) {
    case "files": {
      const outcomes = [];
      for (let i = 0; i < message.files.length; i++)
        outcomes.push(await readFile(message.job, i, message.files[i]));
      await flush(message.job);
      post({ type: "done", job: message.job, outcomes });
      return;
    }
    case "stream":
      stream = { job: message.job, targets: message.targets, size: 0 };
      return;
    case "data": {
      const bytes = message.data.length;
      stream.size += bytes;
      await push(message.job, 0, stream.targets, message.data);
      release(message.data);
      post({ type: "consumed", job: message.job, bytes });
      return;
    }
    case "end":
      await finish(message.job, 0, stream.targets);
      await flush(message.job);
      post({ type: "done", job: message.job, outcomes: [{ size: stream.size }] });
      stream = void 0;
      return;
    case "credit":
      return;
  }
}
var queue = Promise.resolve();
port.on("message", (message) => {
  if (message.type === "credit") {
    credit += message.bytes;
    if (credit > 0 && wakeOnCredit) {
      const wake = wakeOnCredit;
      wakeOnCredit = void 0;
      wake();
    }
    return;
  }
  queue = queue.then(() => handle(message)).catch((error) => {
    post({
      type: "fatal",
      message: error instanceof Error ? error.stack ?? error.message : String(error)
    });
  });
});
