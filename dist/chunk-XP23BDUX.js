import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  NotFoundError,
  StorageError,
  checkName
} from "./chunk-ZFX2HYFT.js";
import {
  discoverPolicyFiles,
  loadPolicies
} from "./chunk-Q4V2YTJC.js";
import {
  PublicKeyEncryptedSessionKeyPacket,
  SymEncryptedIntegrityProtectedDataPacket,
  SymEncryptedSessionKeyPacket,
  createMessage,
  decrypt,
  decryptKey,
  decryptSessionKeys,
  encrypt,
  enums,
  readKeys,
  readMessage,
  readPrivateKeys
} from "./chunk-2X7ZTPOP.js";
import {
  formatRange,
  loadConfig
} from "./chunk-TKDTUBCU.js";

// src/engine/chunker.ts
import { createHmac } from "node:crypto";
var DEFAULT_CHUNK_SIZES = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };
function gearTable(key) {
  const table = new Uint32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHmac("sha256", key).update(`restorable/v1 gear ${block}`).digest();
    for (let word = 0; word < 8; word++) table[block * 8 + word] = digest.readUInt32LE(word * 4);
  }
  return table;
}
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

// src/engine/repository.ts
import { createHash, randomBytes as randomBytes2 } from "node:crypto";

// src/engine/crypto.ts
import {
  createCipheriv,
  createDecipheriv,
  createHmac as createHmac2,
  createSecretKey,
  hkdfSync,
  randomBytes,
  randomFillSync
} from "node:crypto";

// src/engine/memory.ts
function release(view) {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buffer.byteLength && !buffer.detached) {
    buffer.transfer(0);
  }
}

// src/engine/crypto.ts
var KEY_BYTES = 32;
var VERSION = 1;
var NONCE_BYTES = 12;
var TAG_BYTES = 16;
var SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;
var SealError = class extends Error {
  reason;
  constructor(reason, message) {
    super(message);
    this.name = "SealError";
    this.reason = reason;
  }
};
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
function newMasterKey() {
  return new Uint8Array(randomBytes(KEY_BYTES));
}
function deriveKeys(master) {
  checkKey(master, "master key");
  const derive = (purpose) => new Uint8Array(hkdfSync("sha256", master, new Uint8Array(0), `restorable/v1 ${purpose}`, KEY_BYTES));
  return { data: derive("data"), id: derive("id"), chunker: derive("chunker") };
}
function objectId(idKey, plaintext) {
  checkKey(idKey, "id key");
  return createHmac2("sha256", idKey).update(plaintext).digest("hex");
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
function checkSealed(sealed) {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new SealError(
      "truncated",
      `sealed object is ${sealed.length} bytes, shorter than the ${SEAL_OVERHEAD}-byte minimum`
    );
  }
  if (sealed[0] !== VERSION) {
    throw new SealError(
      "version",
      `sealed object has unknown format version ${sealed[0]} (expected ${VERSION})`
    );
  }
}
function authenticationFailure() {
  return new SealError(
    "authentication",
    "sealed object failed authentication: wrong key, wrong context, or the object was altered"
  );
}
function open(key, sealed, aad) {
  checkKey(key, "data key");
  checkSealed(sealed);
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    throw authenticationFailure();
  }
  return new Uint8Array(plaintext);
}
async function importAsyncDataKey(data) {
  checkKey(data, "data key");
  return globalThis.crypto.subtle.importKey("raw", data, { name: "AES-GCM" }, false, ["decrypt"]);
}
async function openAsync(key, sealed, aad) {
  checkSealed(sealed);
  try {
    return new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        {
          name: "AES-GCM",
          iv: sealed.subarray(1, 1 + NONCE_BYTES),
          additionalData: aad,
          tagLength: TAG_BYTES * 8
        },
        key,
        sealed.subarray(1 + NONCE_BYTES)
      )
    );
  } catch {
    throw authenticationFailure();
  }
}

// src/engine/repository.ts
var FORMAT = "restorable-repository";
var FORMAT_VERSION = 1;
var RepositoryError = class extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "RepositoryError";
  }
};
var Repository = class {
  backend;
  config;
  keys;
  /** The data and id keys, prepared once (see crypto.prepareKey). */
  dataKey;
  idKey;
  gear;
  constructor(backend, config, masterKey) {
    this.backend = backend;
    this.config = config;
    this.keys = deriveKeys(masterKey);
    this.dataKey = prepareKey(this.keys.data);
    this.idKey = prepareKey(this.keys.id);
    this.gear = gearTable(this.keys.chunker);
  }
  get location() {
    return this.backend.location;
  }
  asyncDataKeyPromise;
  /** The data key imported into WebCrypto, for decryption in the thread pool. */
  asyncDataKey() {
    this.asyncDataKeyPromise ??= importAsyncDataKey(this.keys.data);
    return this.asyncDataKeyPromise;
  }
  async openAsync(kind, name, sealed) {
    try {
      return await openAsync(await this.asyncDataKey(), sealed, sealContext(kind, this.config.id));
    } catch (error) {
      if (error instanceof SealError) {
        throw new RepositoryError(`${this.location}: ${name} is damaged: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  /** Seals a metadata object (`index`, `snapshot`): the context is authenticated, so objects cannot be swapped. */
  seal(kind, plaintext) {
    return seal(this.dataKey, plaintext, sealContext(kind, this.config.id));
  }
  open(kind, name, sealed) {
    try {
      return open(this.dataKey, sealed, sealContext(kind, this.config.id));
    } catch (error) {
      if (error instanceof SealError) {
        throw new RepositoryError(`${this.location}: ${name} is damaged: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }
  /** Writes a sealed object under `<dir>/<sha256 of its bytes>`; returns the id. */
  async writeSealed(dir, kind, plaintext) {
    const sealed = this.seal(kind, plaintext);
    const id = sha256Hex(sealed);
    await this.backend.write(`${dir}/${id}`, sealed);
    return id;
  }
  /** Reads and opens a sealed object, checking that its bytes still hash to its name. */
  async readSealed(dir, kind, id) {
    const name = `${dir}/${id}`;
    const sealed = await this.backend.read(name);
    if (sha256Hex(sealed) !== id) {
      throw new RepositoryError(`${this.location}: ${name} is damaged: its content does not match its name`);
    }
    return this.open(kind, name, sealed);
  }
};
function sha256Hex(data) {
  return createHash("sha256").update(data).digest("hex");
}
function newConfig() {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    id: randomBytes2(32).toString("hex"),
    created: (/* @__PURE__ */ new Date()).toISOString()
  };
}
async function readConfig(backend) {
  let bytes;
  try {
    bytes = await backend.read("config");
  } catch (error) {
    if (error instanceof NotFoundError) return void 0;
    throw error;
  }
  let config;
  try {
    config = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new RepositoryError(`${backend.location}: config is not JSON: this is not a Restorable repository`);
  }
  if (config.format !== FORMAT) {
    throw new RepositoryError(
      `${backend.location}: config names format ${JSON.stringify(config.format)}, not ${FORMAT}`
    );
  }
  if (config.version !== FORMAT_VERSION) {
    throw new RepositoryError(
      `${backend.location}: repository format version ${config.version} is not supported by this version of Restorable (it reads version ${FORMAT_VERSION}); upgrade Restorable`
    );
  }
  if (typeof config.id !== "string" || !/^[0-9a-f]{64}$/.test(config.id)) {
    throw new RepositoryError(`${backend.location}: config has no valid repository id`);
  }
  return config;
}
async function writeNewConfig(backend, config) {
  return backend.writeNew("config", configBytes(config));
}
function configBytes(config) {
  return new TextEncoder().encode(`${JSON.stringify(config, null, 2)}
`);
}

// src/engine/listing.ts
var FLUSH_BYTES = 1024 * 1024;
var ListingWriter = class {
  store;
  chunker;
  ids = [];
  buffered = [];
  bufferedBytes = 0;
  constructor(store) {
    this.store = store;
    this.chunker = new Chunker(store.repo.gear);
  }
  async add(node) {
    const line = `${JSON.stringify(node)}
`;
    this.buffered.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= FLUSH_BYTES) await this.push();
  }
  async push() {
    const bytes = Buffer.from(this.buffered.join(""), "utf8");
    this.buffered = [];
    this.bufferedBytes = 0;
    for (const chunk of this.chunker.push(bytes)) this.ids.push(await this.store.store("tree", chunk));
  }
  /** The ids of the listing's tree blobs. */
  async finish() {
    await this.push();
    const last = this.chunker.finish();
    if (last) this.ids.push(await this.store.store("tree", last));
    return this.ids;
  }
};
async function* readListing(reader, tree, onDamage) {
  let rest = Buffer.alloc(0);
  let resync = false;
  reader.prefetch(tree.slice(0, 4));
  for (let i = 0; i < tree.length; i++) {
    if (i + 4 < tree.length) reader.prefetch([tree[i + 4]]);
    let data;
    try {
      data = await reader.read(tree[i]);
    } catch (error) {
      if (!onDamage) throw error;
      onDamage(`${error.message}; the files listed in it are not restored`);
      rest = Buffer.alloc(0);
      resync = true;
      continue;
    }
    let bytes = Buffer.concat([rest, data]);
    if (resync) {
      const first = bytes.indexOf(10);
      if (first < 0) continue;
      bytes = bytes.subarray(first + 1);
      resync = false;
    }
    const end = bytes.lastIndexOf(10);
    rest = Buffer.from(bytes.subarray(end + 1));
    if (end < 0) continue;
    for (const line of bytes.toString("utf8", 0, end).split("\n")) yield parseNode(line);
  }
  if (rest.length > 0) throw new RepositoryError("snapshot listing ends in the middle of a line");
}
function parseNode(line) {
  let node;
  try {
    node = JSON.parse(line);
  } catch {
    throw new RepositoryError("snapshot listing holds a line that is not JSON");
  }
  if (typeof node.path !== "string" || !["file", "dir", "symlink"].includes(node.type)) {
    throw new RepositoryError(`snapshot listing holds a malformed node: ${line.slice(0, 200)}`);
  }
  return node;
}

// src/engine/compress.ts
import { promisify } from "node:util";
import { constants, zstdCompress, zstdDecompressSync } from "node:zlib";

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
    const frame2 = zstdCompressSync(data, { params: this.params, chunkSize: room });
    if (headroom === 0) return frame2;
    const output = new Uint8Array(headroom + frame2.length);
    output.set(frame2, headroom);
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
    const { _handle: handle, _writeState: state } = engine;
    if (typeof handle?.writeSync !== "function" || !(state instanceof Uint32Array) || state.length < 2) {
      this.useNative = false;
      engine.destroy();
      return void 0;
    }
    this.kept = { engine, handle, state };
    return this.kept;
  }
};

// src/engine/compress.ts
var RAW = 0;
var ZSTD = 1;
var DEFAULT_LEVEL = 3;
var MIN_COMPRESS_BYTES = 64;
var CompressError = class extends Error {
  reason;
  constructor(reason, message, options) {
    super(message, options);
    this.name = "CompressError";
    this.reason = reason;
  }
};
function frame(header, payload) {
  const out = new Uint8Array(1 + payload.length);
  out[0] = header;
  out.set(payload, 1);
  return out;
}
function pack(data, level = DEFAULT_LEVEL) {
  if (!Number.isInteger(level) || level < 1 || level > 22) {
    throw new RangeError(`zstd level must be an integer from 1 to 22, got ${level}`);
  }
  return withFramed(data, (framed) => framed ? new Uint8Array(framed) : frame(RAW, data), level);
}
function blobParams(level) {
  return {
    [constants.ZSTD_c_compressionLevel]: level,
    // 4 bytes per blob so that corrupt data fails to unpack rather than unpacking to wrong bytes.
    [constants.ZSTD_c_checksumFlag]: 1
  };
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
function unpack(framed, maxSize) {
  if (!Number.isSafeInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`maxSize must be a non-negative integer, got ${maxSize}`);
  }
  if (framed.length === 0) throw new CompressError("empty", "compressed frame is empty (no header byte)");
  const header = framed[0];
  const payload = framed.subarray(1);
  if (header === RAW) {
    if (payload.length > maxSize) {
      throw new CompressError(
        "too-large",
        `stored blob is ${payload.length} bytes, above the limit of ${maxSize}`
      );
    }
    return new Uint8Array(payload);
  }
  if (header !== ZSTD) {
    throw new CompressError("header", `compressed frame has unknown header byte ${header} (expected 0 or 1)`);
  }
  let out;
  try {
    out = zstdDecompressSync(payload, { maxOutputLength: Math.max(1, maxSize) });
  } catch (error) {
    if (error.code === "ERR_BUFFER_TOO_LARGE") {
      throw new CompressError(
        "too-large",
        `compressed blob decompresses to more than the limit of ${maxSize} bytes`
      );
    }
    throw new CompressError("corrupt", `compressed blob is corrupt: ${error.message}`, {
      cause: error
    });
  }
  if (out.length > maxSize) {
    throw new CompressError(
      "too-large",
      `compressed blob decompresses to more than the limit of ${maxSize} bytes`
    );
  }
  return new Uint8Array(out);
}

// src/engine/blob-index.ts
var ENTRY_BYTES = 1 + 32 + 4 + 4 + 4;
var INDEX_VERSION = 1;
var MAX_INDEX_BYTES = 256 * 1024 * 1024;
var BlobIndex = class {
  blobs = /* @__PURE__ */ new Map();
  /** Index objects that were loaded, so verify can tell which pack each came from. */
  packs = /* @__PURE__ */ new Set();
  get size() {
    return this.blobs.size;
  }
  ids() {
    return this.blobs.keys();
  }
  has(id) {
    return this.blobs.has(id);
  }
  get(id) {
    return this.blobs.get(id);
  }
  addPack(contents) {
    this.packs.add(contents.pack);
    for (const blob of contents.blobs) {
      if (!this.blobs.has(blob.id)) {
        this.blobs.set(blob.id, {
          type: blob.type,
          pack: contents.pack,
          offset: blob.offset,
          length: blob.length,
          rawLength: blob.rawLength
        });
      }
    }
  }
  entries() {
    return this.blobs.entries();
  }
};
function encodeIndex(packs) {
  let size = 1;
  for (const pack2 of packs) size += 32 + 4 + pack2.blobs.length * ENTRY_BYTES;
  const out = Buffer.alloc(size);
  out[0] = INDEX_VERSION;
  let at = 1;
  for (const pack2 of packs) {
    at += out.write(pack2.pack, at, "hex");
    at = out.writeUInt32LE(pack2.blobs.length, at);
    for (const blob of pack2.blobs) {
      out[at++] = blob.type === "tree" ? 1 : 0;
      at += out.write(blob.id, at, "hex");
      at = out.writeUInt32LE(blob.offset, at);
      at = out.writeUInt32LE(blob.length, at);
      at = out.writeUInt32LE(blob.rawLength, at);
    }
  }
  return pack(out);
}
function decodeIndex(framed, name) {
  const data = Buffer.from(unpack(framed, MAX_INDEX_BYTES));
  const bad = (what) => new RepositoryError(`${name} is damaged: ${what}`);
  if (data[0] !== INDEX_VERSION) throw bad(`unknown index version ${data[0]}`);
  const packs = [];
  let at = 1;
  while (at < data.length) {
    if (at + 36 > data.length) throw bad("truncated pack entry");
    const pack2 = data.toString("hex", at, at + 32);
    const count = data.readUInt32LE(at + 32);
    at += 36;
    if (at + count * ENTRY_BYTES > data.length) throw bad("truncated blob list");
    const blobs = [];
    for (let i = 0; i < count; i++) {
      const type = data[at] === 1 ? "tree" : "data";
      blobs.push({
        type,
        id: data.toString("hex", at + 1, at + 33),
        offset: data.readUInt32LE(at + 33),
        length: data.readUInt32LE(at + 37),
        rawLength: data.readUInt32LE(at + 41)
      });
      at += ENTRY_BYTES;
    }
    packs.push({ pack: pack2, blobs });
  }
  return packs;
}
async function loadIndex(repo, onProblem) {
  const index = new BlobIndex();
  const objects = await repo.backend.list("index/");
  await Promise.all(
    objects.map(async (object) => {
      const id = object.name.slice("index/".length);
      try {
        const plain = await repo.readSealed("index", "index", id);
        for (const pack2 of decodeIndex(plain, `${repo.location}: ${object.name}`)) index.addPack(pack2);
      } catch (error) {
        if (!onProblem) throw error;
        onProblem(object.name, error.message);
      }
    })
  );
  return index;
}

// src/engine/blob-reader.ts
import { promisify as promisify2 } from "node:util";
import { zstdDecompress, zstdDecompressSync as zstdDecompressSync2 } from "node:zlib";

// src/engine/blob-codec.ts
var HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };
function blobContext(id) {
  return `blob ${id}`;
}
function encodeBlob(dataKey, repositoryId, id, plain) {
  return withFramed(
    plain,
    (framed) => seal(dataKey, framed ?? [HEADER[RAW], plain], blobAad(repositoryId, id))
  );
}
function blobAad(repositoryId, id) {
  return sealContext(blobContext(id), repositoryId);
}

// src/engine/blob-decoder.ts
import { Worker } from "node:worker_threads";
var MAX_BLOB_BYTES = DEFAULT_CHUNK_SIZES.max;
async function decodeBlob(blob, sealed, ops) {
  if (sealed.length !== blob.length)
    return { damaged: `read ${sealed.length} bytes, expected ${blob.length}` };
  let framed;
  try {
    framed = await ops.open(blob.id, sealed);
  } catch {
    return { damaged: "it failed authentication" };
  }
  let plain;
  if (framed[0] === RAW) {
    plain = framed.subarray(1);
  } else if (framed[0] === ZSTD) {
    const limit = Math.min(blob.rawLength, MAX_BLOB_BYTES);
    try {
      plain = await ops.decompress(framed.subarray(1), {
        maxOutputLength: Math.max(1, limit),
        chunkSize: Math.max(64, limit)
      });
    } catch (error) {
      return { damaged: `it does not decompress (${error.message})` };
    }
  } else {
    return { damaged: `unknown compression header ${framed[0]}` };
  }
  if (plain.length !== blob.rawLength)
    return { damaged: `${plain.length} bytes, the index says ${blob.rawLength}` };
  return { plain };
}
function workerUrl() {
  return new URL(
    import.meta.url.endsWith(".ts") ? "./blob-decode-worker.ts" : "./blob-decode-worker.js",
    import.meta.url
  );
}
var BlobDecoder = class {
  worker;
  dataKey;
  repositoryId;
  waiting = /* @__PURE__ */ new Map();
  seq = 0;
  constructor(dataKey, repositoryId) {
    this.dataKey = dataKey;
    this.repositoryId = repositoryId;
  }
  start() {
    const worker = new Worker(workerUrl(), {
      workerData: { dataKey: this.dataKey, repositoryId: this.repositoryId }
    });
    worker.on("message", (reply) => {
      const entry = this.waiting.get(reply.seq);
      this.waiting.delete(reply.seq);
      if (this.waiting.size === 0) worker.unref();
      entry?.resolve(reply.decoded);
    });
    const fail = (error) => {
      for (const entry of this.waiting.values()) entry.reject(error);
      this.waiting.clear();
      this.worker = void 0;
    };
    worker.on("error", (error) => fail(new Error(`the decode thread failed: ${error.message}`)));
    worker.on("exit", (code) => fail(new Error(`the decode thread exited (code ${code})`)));
    return worker;
  }
  /** Decodes the blobs of one fetched run; the run's buffer is handed to the worker (not to be used after). */
  decode(run, blobs) {
    this.worker ??= this.start();
    const worker = this.worker;
    const seq = this.seq++;
    const request = { seq, run, blobs };
    return new Promise((resolve2, reject) => {
      this.waiting.set(seq, { resolve: resolve2, reject });
      worker.ref();
      const whole = run.byteOffset === 0 && run.byteLength === run.buffer.byteLength;
      worker.postMessage(request, whole && run.buffer instanceof ArrayBuffer ? [run.buffer] : []);
    });
  }
  async close() {
    const worker = this.worker;
    this.worker = void 0;
    if (worker) {
      worker.removeAllListeners("exit");
      await worker.terminate();
    }
  }
};

// src/engine/pack.ts
import { createHash as createHash2 } from "node:crypto";
var PACK_TARGET_BYTES = 16 * 1024 * 1024;
var HEADER_ENTRY_BYTES = 1 + 32 + 4 + 4;
var MAX_HEADER_BYTES = 16 * 1024 * 1024;
function packName(id) {
  return `data/${id.slice(0, 2)}/${id}`;
}
function packId(header, trailer) {
  return createHash2("sha256").update(header).update(trailer).digest("hex");
}
function packTail(pack2) {
  if (pack2.length < 4) return void 0;
  const headerLength = Buffer.from(pack2.buffer, pack2.byteOffset, pack2.length).readUInt32LE(pack2.length - 4);
  if (headerLength > MAX_HEADER_BYTES || headerLength + 4 > pack2.length) return void 0;
  return {
    header: pack2.subarray(pack2.length - 4 - headerLength, pack2.length - 4),
    trailer: pack2.subarray(pack2.length - 4)
  };
}
var PACK_BUFFER_BYTES = PACK_TARGET_BYTES + 8 * 1024 * 1024 + 64 * 1024;
var PackWriter = class {
  repo;
  buffer;
  spare = [];
  blobs = [];
  bytes = 0;
  writing = Promise.resolve();
  onPack;
  constructor(repo, onPack) {
    this.repo = repo;
    this.onPack = onPack;
  }
  /**
   * Adds a sealed blob; starts writing the pack once it reaches the target size. The blob's bytes are copied:
   * a caller that owns the whole buffer behind `sealed` gives it up (it is freed here).
   */
  async add(type, id, sealed, rawLength) {
    if (this.buffer && this.bytes + sealed.length > this.buffer.length) await this.flush();
    if (!this.buffer) this.takeBuffer(sealed.length);
    this.buffer.set(sealed, this.bytes);
    this.blobs.push({ type, id, offset: this.bytes, length: sealed.length, rawLength });
    this.bytes += sealed.length;
    release(sealed);
    if (this.bytes >= PACK_TARGET_BYTES) await this.flush();
  }
  /**
   * The spare pack buffer, or a new one. Two exist at most: `flush` waits for the previous pack's write, which
   * hands its buffer back, before it starts the next.
   */
  takeBuffer(atLeast) {
    this.buffer = atLeast > PACK_BUFFER_BYTES ? new Uint8Array(atLeast) : this.spare.pop() ?? new Uint8Array(PACK_BUFFER_BYTES);
  }
  async flush() {
    if (this.blobs.length === 0) return this.writing;
    const buffer = this.buffer;
    const blobs = this.blobs;
    const body = buffer.subarray(0, this.bytes);
    this.buffer = void 0;
    this.blobs = [];
    this.bytes = 0;
    const header = this.repo.seal("pack-header", encodeHeader(blobs));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(header.length);
    const size = body.length + header.length + trailer.length;
    const id = packId(header, trailer);
    await this.writing;
    this.writing = this.repo.backend.write(packName(id), [body, header, trailer]).then(() => {
      if (buffer.length === PACK_BUFFER_BYTES) this.spare.push(buffer);
      this.onPack({ pack: id, blobs }, size);
    });
    this.writing.catch(() => {
    });
  }
  async close() {
    await this.flush();
    await this.writing;
    this.spare.length = 0;
  }
};
function encodeHeader(blobs) {
  const out = Buffer.alloc(blobs.length * HEADER_ENTRY_BYTES);
  let at = 0;
  for (const blob of blobs) {
    out[at++] = blob.type === "tree" ? 1 : 0;
    at += out.write(blob.id, at, "hex");
    at = out.writeUInt32LE(blob.length, at);
    at = out.writeUInt32LE(blob.rawLength, at);
  }
  return out;
}
function decodePackHeader(repo, name, pack2) {
  const bad = (what) => new RepositoryError(`${repo.location}: ${name} is damaged: ${what}`);
  const tail = packTail(pack2);
  if (!tail) throw bad("its trailer gives an impossible header length");
  const header = Buffer.from(repo.open("pack-header", name, tail.header));
  if (header.length % HEADER_ENTRY_BYTES !== 0) throw bad("header has a partial entry");
  const blobs = [];
  let offset = 0;
  for (let at = 0; at < header.length; at += HEADER_ENTRY_BYTES) {
    const length = header.readUInt32LE(at + 33);
    blobs.push({
      type: header[at] === 1 ? "tree" : "data",
      id: header.toString("hex", at + 1, at + 33),
      offset,
      length,
      rawLength: header.readUInt32LE(at + 37)
    });
    offset += length;
  }
  if (offset !== pack2.length - 4 - tail.header.length) throw bad("header does not account for the pack body");
  return blobs;
}

// src/engine/blob-reader.ts
var decompressAsync = promisify2(zstdDecompress);
var ASYNC_DECOMPRESS_BYTES = 128 * 1024;
var MAX_READ_BYTES = 16 * 1024 * 1024;
var BlobError = class extends RepositoryError {
  blob;
  pack;
  constructor(message, blob, pack2, options) {
    super(message, options);
    this.name = "BlobError";
    this.blob = blob;
    this.pack = pack2;
  }
};
var BlobReader = class {
  repo;
  index;
  prefetched = /* @__PURE__ */ new Map();
  /** Prefetched blobs already decoded by the decode thread (restores), by id. */
  decoded = /* @__PURE__ */ new Map();
  decoder;
  /** `decodeThread`: prefetched blobs are decoded in a worker thread (a restore; see blob-decoder.ts). */
  constructor(repo, index, options = {}) {
    this.repo = repo;
    this.index = index;
    if (options.decodeThread) this.decoder = new BlobDecoder(repo.dataKey, repo.config.id);
  }
  /** Stops the decode thread, if there is one. */
  async close() {
    await this.decoder?.close();
  }
  locate(id) {
    const location = this.index.get(id);
    if (!location) {
      throw new BlobError(
        `${this.repo.location}: blob ${id} is in no index (its pack is missing or was never indexed)`,
        id,
        void 0
      );
    }
    return location;
  }
  /**
   * Starts reading these blobs, in order, coalescing runs that sit side by side in one pack. Each later
   * `read` of one of them takes the fetched bytes (once).
   */
  prefetch(ids) {
    let run = [];
    const flush = () => {
      if (run.length === 0) return;
      const first = run[0].at;
      const last = run[run.length - 1].at;
      const span = { offset: first.offset, length: last.offset + last.length - first.offset };
      const name = packName(first.pack);
      const bytes = this.repo.backend.read(name, span);
      if (this.decoder) {
        const decoder = this.decoder;
        const blobs = run.map(({ id, at }) => ({
          id,
          offset: at.offset - first.offset,
          length: at.length,
          rawLength: at.rawLength
        }));
        const all = bytes.then((fetched) => decoder.decode(fetched, blobs));
        run.forEach(({ id }, i) => {
          const one = all.then((decoded) => decoded[i]);
          one.catch(() => {
          });
          this.decoded.set(id, one);
        });
        run = [];
        return;
      }
      for (const { id, at } of run) {
        const slice = bytes.then(
          (all) => all.subarray(at.offset - first.offset, at.offset - first.offset + at.length)
        );
        slice.catch(() => {
        });
        this.prefetched.set(id, slice);
      }
      run = [];
    };
    for (const id of ids) {
      if (this.prefetched.has(id) || this.decoded.has(id)) continue;
      const at = this.index.get(id);
      if (!at) continue;
      const previous = run[run.length - 1]?.at;
      if (previous && (previous.pack !== at.pack || previous.offset + previous.length !== at.offset || at.offset + at.length - run[0].at.offset > MAX_READ_BYTES)) {
        flush();
      }
      run.push({ id, at });
    }
    flush();
  }
  async read(id) {
    const at = this.locate(id);
    const name = packName(at.pack);
    const decoding = this.decoded.get(id);
    if (decoding) {
      this.decoded.delete(id);
      return this.plainOf(id, at, name, await this.fetching(id, at, name, decoding));
    }
    const fetched = this.prefetched.get(id);
    this.prefetched.delete(id);
    const sealed = await this.fetching(
      id,
      at,
      name,
      fetched ?? this.repo.backend.read(name, { offset: at.offset, length: at.length })
    );
    return this.decode(id, at, name, sealed);
  }
  /** What `reading` gives, or a BlobError naming the blob and its pack when the read failed. */
  async fetching(id, at, name, reading) {
    try {
      return await reading;
    } catch (error) {
      throw new BlobError(
        `${this.repo.location}: cannot read blob ${id} from ${name}: ${error.message}`,
        id,
        at.pack,
        { cause: error }
      );
    }
  }
  /** The plain bytes, or a BlobError saying what is wrong with the blob. */
  plainOf(id, at, name, result) {
    if ("damaged" in result) {
      throw new BlobError(
        `${this.repo.location}: blob ${id} in ${name} is damaged: ${result.damaged}`,
        id,
        at.pack
      );
    }
    return result.plain;
  }
  async decode(id, at, name, sealed) {
    const result = await decodeBlob({ id, offset: 0, length: at.length, rawLength: at.rawLength }, sealed, {
      // Large blobs are decrypted and decompressed in the thread pool, beside the main thread; a thread-pool
      // call costs about 0.1 ms whatever the size, so small ones are done in place.
      open: (blobId, bytes) => bytes.length >= ASYNC_DECOMPRESS_BYTES ? this.repo.openAsync(blobContext(blobId), name, bytes) : this.repo.open(blobContext(blobId), name, bytes),
      decompress: (data, options) => (options.maxOutputLength ?? 0) < ASYNC_DECOMPRESS_BYTES ? zstdDecompressSync2(data, options) : decompressAsync(data, options)
    });
    return this.plainOf(id, at, name, result);
  }
};

// src/engine/snapshot.ts
var MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;
async function writeSnapshot(repo, snapshot) {
  return repo.writeSealed("snapshots", "snapshot", new TextEncoder().encode(JSON.stringify(snapshot)));
}
async function readSnapshot(repo, id) {
  const plain = await repo.readSealed("snapshots", "snapshot", id);
  if (plain.length > MAX_SNAPSHOT_BYTES) throw new RepositoryError(`snapshot ${id} is implausibly large`);
  const snapshot = JSON.parse(new TextDecoder().decode(plain));
  if (snapshot.version !== 1 || typeof snapshot.system !== "string" || !Array.isArray(snapshot.tree)) {
    throw new RepositoryError(
      `${repo.location}: snapshots/${id} has an unknown shape (version ${snapshot.version})`
    );
  }
  return snapshot;
}
async function listSnapshots(repo, onProblem) {
  const objects = await repo.backend.list("snapshots/");
  const refs = [];
  await Promise.all(
    objects.map(async (object) => {
      const id = object.name.slice("snapshots/".length);
      try {
        refs.push({ id, snapshot: await readSnapshot(repo, id) });
      } catch (error) {
        onProblem(id, error.message);
      }
    })
  );
  return refs.sort((a, b) => a.snapshot.time.localeCompare(b.snapshot.time) || a.id.localeCompare(b.id));
}
function findSnapshot(refs, selector, system) {
  const candidates = system === void 0 ? refs : refs.filter((ref) => ref.snapshot.system === system);
  const scope = system === void 0 ? "" : ` of system "${system}"`;
  if (selector === "latest") {
    const latest = candidates[candidates.length - 1];
    if (!latest) throw new RepositoryError(`no snapshot${scope} in the repository yet`);
    return latest;
  }
  if (!/^[0-9a-f]{4,64}$/.test(selector)) {
    throw new RepositoryError(`snapshot "${selector}" is neither "latest" nor an id (4 to 64 hex digits)`);
  }
  const matches = candidates.filter((ref) => ref.id.startsWith(selector));
  if (matches.length === 0)
    throw new RepositoryError(`no snapshot${scope} has an id starting with ${selector}`);
  if (matches.length > 1) {
    throw new RepositoryError(
      `${matches.length} snapshots${scope} have ids starting with ${selector}: give more digits`
    );
  }
  return matches[0];
}

// src/engine/keyring.ts
import { createHash as createHash3, timingSafeEqual } from "node:crypto";
import { open as openFile } from "node:fs/promises";

// src/engine/keys.ts
import { createDecipheriv as createDecipheriv2, randomBytes as randomBytes3 } from "node:crypto";
var KEY_DOCUMENT_FORMAT = "restorable-repository-key";
var KEY_DOCUMENT_VERSION = 1;
var MAX_WRAPPER_BYTES = 1 << 20;
var MAX_DOCUMENT_BYTES = 64 * 1024;
var REPOSITORY_ID = /^[0-9a-f]{64}$/;
var BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;
var WRAP_CONFIG = {
  aeadProtect: false,
  preferredSymmetricAlgorithm: enums.symmetric.aes256,
  preferredCompressionAlgorithm: enums.compression.uncompressed,
  s2kType: enums.s2k.iterated,
  s2kIterationCountByte: 255,
  v6Keys: false
};
var READ_CONFIG = {
  maxDecompressedMessageSize: MAX_DOCUMENT_BYTES,
  allowUnauthenticatedMessages: false
};
var KeyError = class extends Error {
  reason;
  constructor(reason, message, options) {
    super(message, options);
    this.name = "KeyError";
    this.reason = reason;
  }
};
function repositoryKeyDocument(repository, masterKey, created = /* @__PURE__ */ new Date()) {
  checkRepositoryId(repository);
  checkMasterKey(masterKey);
  const document = {
    format: KEY_DOCUMENT_FORMAT,
    version: KEY_DOCUMENT_VERSION,
    repository,
    masterKey: Buffer.from(masterKey).toString("base64"),
    created: created.toISOString(),
    note: "Secret. This is the master key of a Restorable repository. To restore with it, save this document to a private file and set RESTORABLE_REPOSITORY_KEY_FILE to its path. See docs/key-recovery.md."
  };
  return `${JSON.stringify(document, null, 2)}
`;
}
function parseRepositoryKey(text, expectedRepository, where2) {
  checkRepositoryId(expectedRepository);
  if (text.length > MAX_DOCUMENT_BYTES) {
    throw new KeyError(
      "malformed",
      `${where2} is ${text.length} bytes, too large for a repository key document`
    );
  }
  if (text.trimStart().startsWith("-----BEGIN PGP")) {
    throw new KeyError(
      "malformed",
      `${where2} is still OpenPGP-encrypted: decrypt it first (gpg --decrypt keys/<id> > key.json) and use the output`
    );
  }
  let value2;
  try {
    value2 = JSON.parse(text);
  } catch {
    throw new KeyError("malformed", `${where2} is not a repository key document (not JSON)`);
  }
  const doc = typeof value2 === "object" && value2 !== null ? value2 : {};
  if (doc.format !== KEY_DOCUMENT_FORMAT) {
    throw new KeyError(
      "malformed",
      `${where2} is not a repository key document (its "format" is not "${KEY_DOCUMENT_FORMAT}")`
    );
  }
  if (typeof doc.version !== "number" || !Number.isInteger(doc.version) || doc.version < 1) {
    throw new KeyError("malformed", `${where2} has no valid "version"`);
  }
  if (doc.version > KEY_DOCUMENT_VERSION) {
    throw new KeyError(
      "newer-version",
      `${where2} is a version ${doc.version} key document, written by a newer Restorable; this one reads version ${KEY_DOCUMENT_VERSION}`
    );
  }
  if (typeof doc.repository !== "string" || !REPOSITORY_ID.test(doc.repository)) {
    throw new KeyError("malformed", `${where2} has no valid "repository" (64 lowercase hex)`);
  }
  if (typeof doc.masterKey !== "string" || !BASE64_KEY.test(doc.masterKey)) {
    throw new KeyError("malformed", `${where2} has no valid "masterKey" (base64 of ${KEY_BYTES} bytes)`);
  }
  if (doc.repository !== expectedRepository) {
    throw new KeyError(
      "other-repository",
      `${where2} holds the key of repository ${doc.repository.slice(0, 12)}\u2026, not of this repository (${expectedRepository.slice(0, 12)}\u2026)`
    );
  }
  return new Uint8Array(Buffer.from(doc.masterKey, "base64"));
}
function checkRepositoryId(repository) {
  if (!REPOSITORY_ID.test(repository)) {
    throw new RangeError(
      `repository id must be 64 lowercase hex characters, got ${JSON.stringify(repository)}`
    );
  }
}
function checkMasterKey(masterKey) {
  if (masterKey.length !== KEY_BYTES) {
    throw new RangeError(`master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  }
}
var hexId = (key) => key.getKeyID().toHex().toUpperCase();
function keyLabel(key) {
  const user = key.getUserIDs()[0];
  return `key ${key.getFingerprint().toUpperCase()}${user ? ` (${user})` : ""}`;
}
var day = (date) => date.toISOString().slice(0, 10);
async function recipientKeys(file, now) {
  const text = file.armored;
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(text)) {
    throw new KeyError(
      "not-a-public-key",
      `${file.path} holds a private key; a recipient file must hold only a public key (gpg --armor --export <id>)`
    );
  }
  if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(text)) {
    throw new KeyError(
      "not-a-public-key",
      `${file.path} is not an armored OpenPGP public key (no "BEGIN PGP PUBLIC KEY BLOCK"; export one with gpg --armor --export <id>)`
    );
  }
  let keys;
  try {
    keys = await readKeys({ armoredKeys: text });
  } catch (error) {
    throw new KeyError(
      "not-a-public-key",
      `${file.path} is not a readable OpenPGP public key (${error.message})`,
      { cause: error }
    );
  }
  const info = [];
  for (const key of keys) {
    if (key.isPrivate()) {
      throw new KeyError(
        "not-a-public-key",
        `${file.path} holds a private key; a recipient file must hold only a public key`
      );
    }
    const label = `${file.path}: ${keyLabel(key)}`;
    const version = key.keyPacket.version;
    if (version !== 4) {
      throw new KeyError(
        "unusable-recipient",
        `${label} is a version ${version} key; gpg 2.2 cannot decrypt to it, so a wrapper for it could not be recovered with gpg. Use a version 4 key (cv25519 or RSA).`
      );
    }
    if (await key.isRevoked(void 0, void 0, now)) {
      throw new KeyError("revoked", `${label} is revoked; it cannot be a recipient`);
    }
    if (key.getCreationTime().getTime() > now.getTime()) {
      throw new KeyError(
        "unusable-recipient",
        `${label} was created in the future (${key.getCreationTime().toISOString()}); check this machine's clock`
      );
    }
    let expires;
    try {
      expires = await key.getExpirationTime();
    } catch (error) {
      throw new KeyError(
        "unusable-recipient",
        `${label} has no valid self-signature (${error.message})`,
        {
          cause: error
        }
      );
    }
    if (expires instanceof Date && expires.getTime() <= now.getTime()) {
      throw new KeyError("expired", `${label} expired on ${day(expires)}; it cannot be a recipient`);
    }
    let encryptionKey;
    try {
      encryptionKey = await key.getEncryptionKey(void 0, now);
    } catch (error) {
      const why = error.message;
      const reason = /revoked/i.test(why) ? "revoked" : /expired/i.test(why) ? "expired" : "unusable-recipient";
      throw new KeyError(reason, `${label} has no usable encryption key (${why})`, { cause: error });
    }
    const algorithm = encryptionKey.keyPacket.algorithm;
    if (algorithm === enums.publicKey.x25519 || algorithm === enums.publicKey.x448) {
      throw new KeyError(
        "unusable-recipient",
        `${label} encrypts with ${enums.read(enums.publicKey, algorithm)} (RFC 9580), which gpg 2.2 cannot decrypt; use a cv25519 (ECDH) or RSA encryption subkey`
      );
    }
    info.push({
      path: file.path,
      fingerprint: key.getFingerprint().toUpperCase(),
      userIds: key.getUserIDs(),
      encryptionKeyId: hexId(encryptionKey)
    });
  }
  if (keys.length === 0) {
    throw new KeyError("not-a-public-key", `${file.path} holds no OpenPGP public key`);
  }
  return { keys, info };
}
async function checkRecipient(file, now = /* @__PURE__ */ new Date()) {
  return (await recipientKeys(file, now)).info;
}
function checkPassphrase(passphrase) {
  if (passphrase.length === 0) throw new KeyError("bad-passphrase", "the passphrase is empty");
  if (/[\r\n]/.test(passphrase)) {
    throw new KeyError(
      "bad-passphrase",
      "the passphrase holds a line break; gpg --passphrase-file reads one line, so it could not recover the key"
    );
  }
  if (passphrase.includes("\0")) throw new KeyError("bad-passphrase", "the passphrase holds a NUL character");
}
async function wrapKey(options) {
  checkRepositoryId(options.repository);
  checkMasterKey(options.masterKey);
  const now = /* @__PURE__ */ new Date();
  if (options.recipients.length === 0 && options.passphrase === void 0) {
    throw new KeyError(
      "no-credentials",
      "a key wrapper needs at least one recipient public key or a passphrase"
    );
  }
  if (options.passphrase !== void 0) checkPassphrase(options.passphrase);
  const keys = [];
  const seen = /* @__PURE__ */ new Set();
  for (const file of options.recipients) {
    for (const key of (await recipientKeys(file, now)).keys) {
      const fingerprint = key.getFingerprint();
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      keys.push(key);
    }
  }
  const plaintext = new TextEncoder().encode(
    repositoryKeyDocument(options.repository, options.masterKey, options.created ?? now)
  );
  const message = await createMessage({ binary: plaintext, format: "binary" });
  const sessionKey = { data: new Uint8Array(randomBytes3(32)), algorithm: "aes256" };
  return encrypt({
    message,
    ...keys.length > 0 ? { encryptionKeys: keys } : {},
    ...options.passphrase !== void 0 ? { passwords: [options.passphrase] } : {},
    sessionKey,
    format: "armored",
    date: now,
    config: WRAP_CONFIG
  });
}
async function parseWrapper(armored, where2) {
  if (armored.length > MAX_WRAPPER_BYTES) {
    throw new KeyError("malformed", `${where2} is ${armored.length} bytes, too large for a key wrapper`);
  }
  if (!armored.includes("-----BEGIN PGP MESSAGE-----")) {
    throw new KeyError("malformed", `${where2} is not an armored OpenPGP message`);
  }
  let message;
  try {
    message = await readMessage({ armoredMessage: armored, config: READ_CONFIG });
  } catch (error) {
    throw new KeyError(
      "malformed",
      `${where2} is not a readable OpenPGP message (${error.message})`,
      {
        cause: error
      }
    );
  }
  const pkesks = [];
  let skesks = 0;
  let compatible = true;
  let data = 0;
  for (const packet of message.packets) {
    if (packet instanceof PublicKeyEncryptedSessionKeyPacket) {
      const fields = packet;
      pkesks.push(fields);
      if (fields.version !== 3) compatible = false;
    } else if (packet instanceof SymEncryptedSessionKeyPacket) {
      skesks++;
      if (packet.version !== 4) compatible = false;
    } else if (packet instanceof SymEncryptedIntegrityProtectedDataPacket) {
      data++;
      if (packet.version !== 1) compatible = false;
    } else {
      const tag = packet.constructor.tag;
      if (tag === enums.packet.symmetricallyEncryptedData) {
        throw new KeyError("malformed", `${where2} is encrypted without integrity protection; refusing it`);
      }
      data++;
      compatible = false;
    }
  }
  if (data !== 1 || pkesks.length + skesks === 0) {
    throw new KeyError(
      "malformed",
      `${where2} is not a key wrapper (expected session keys and one encrypted packet)`
    );
  }
  return { message, pkesks, skesks, gpgCompatible: compatible };
}
async function knownKeyIds(files) {
  const out = /* @__PURE__ */ new Map();
  for (const file of files) {
    let keys;
    try {
      keys = await readKeys({ armoredKeys: file.armored });
    } catch {
      continue;
    }
    for (const key of keys) {
      const known = {
        fingerprint: key.getFingerprint().toUpperCase(),
        userIds: key.getUserIDs(),
        path: file.path
      };
      for (const part of key.getKeys()) out.set(hexId(part), known);
    }
  }
  return out;
}
function describeParsed(parsed, known) {
  return {
    recipients: parsed.pkesks.map((pkesk) => {
      const keyId = pkesk.publicKeyID.toHex().toUpperCase();
      const match = known.get(keyId);
      let algorithm;
      try {
        algorithm = enums.read(enums.publicKey, pkesk.publicKeyAlgorithm);
      } catch {
        algorithm = `algorithm ${pkesk.publicKeyAlgorithm}`;
      }
      return { keyId, algorithm, ...match ? { ...match, userIds: [...match.userIds] } : {} };
    }),
    passphrase: parsed.skesks > 0,
    gpgCompatible: parsed.gpgCompatible
  };
}
async function describeWrapper(armored, known = [], where2 = "the key wrapper") {
  const parsed = await parseWrapper(armored, where2);
  return describeParsed(parsed, known instanceof Map ? known : await knownKeyIds(known));
}
async function unlockSecretKeys(credential) {
  const source = credential.source ?? "the secret key";
  if (!/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(credential.armored)) {
    const isPublic = /-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(credential.armored);
    throw new KeyError(
      "secret-key",
      isPublic ? `${source} is a public key; decryption needs the secret key (gpg --armor --export-secret-keys <id>)` : `${source} is not an armored OpenPGP secret key`
    );
  }
  let keys;
  try {
    keys = await readPrivateKeys({ armoredKeys: credential.armored });
  } catch (error) {
    throw new KeyError(
      "secret-key",
      `${source} is not a readable OpenPGP secret key (${error.message})`,
      {
        cause: error
      }
    );
  }
  const out = [];
  for (const key of keys) {
    const label = `${source} (${key.getFingerprint().toUpperCase()})`;
    const locked = key.getKeys().some((part) => !part.isDecrypted() && !part.keyPacket.isDummy?.());
    if (!locked) {
      out.push(key);
      continue;
    }
    if (credential.passphrase === void 0 || credential.passphrase === "") {
      throw new KeyError(
        "secret-key",
        `secret key ${label} is protected by a passphrase, and none was given (RESTORABLE_SECRET_KEY_PASSPHRASE)`
      );
    }
    try {
      out.push(await decryptKey({ privateKey: key, passphrase: credential.passphrase }));
    } catch (error) {
      const why = error.message;
      throw new KeyError(
        "secret-key",
        /passphrase/i.test(why) ? `the passphrase for secret key ${label} is wrong` : `secret key ${label} cannot be unlocked (${why})`,
        { cause: error }
      );
    }
  }
  return out;
}
var CFB = /* @__PURE__ */ new Map([
  ["aes128", "aes-128-cfb"],
  ["aes192", "aes-192-cfb"],
  ["aes256", "aes-256-cfb"]
]);
function quickCheck(parsed, key) {
  const cipher = CFB.get(key.algorithm);
  const packet = parsed.message.packets.find((p) => p instanceof SymEncryptedIntegrityProtectedDataPacket);
  if (!cipher || !packet || packet.version !== 1) return void 0;
  const body = packet.encrypted;
  const encrypted = body instanceof Uint8Array ? body : Array.isArray(body) && body.every((chunk) => chunk instanceof Uint8Array) ? Buffer.concat(body) : void 0;
  if (!encrypted) return void 0;
  if (encrypted.length < 18) return false;
  try {
    const decipher = createDecipheriv2(cipher, key.data, Buffer.alloc(16));
    const prefix = decipher.update(encrypted.subarray(0, 18));
    return prefix[14] === prefix[16] && prefix[15] === prefix[17];
  } catch {
    return false;
  }
}
function needs(description) {
  const parts = description.recipients.map((r) => r.keyId);
  if (description.passphrase) parts.push("a passphrase");
  return parts.length === 0 ? "nothing" : parts.join(", ");
}
async function openCredentials(credentials) {
  const keys = [];
  for (const credential of credentials.secretKeys ?? []) keys.push(...await unlockSecretKeys(credential));
  const keyIds = /* @__PURE__ */ new Set();
  for (const key of keys) for (const part of key.getKeys()) keyIds.add(hexId(part));
  const passphrase = credentials.passphrase !== void 0 && credentials.passphrase !== "" ? credentials.passphrase : void 0;
  const mayOpen = (description) => passphrase !== void 0 && description.passphrase || description.recipients.some((r) => keyIds.has(r.keyId) || r.keyId === "0000000000000000");
  const unwrap = async (armored, expectedRepository, where2 = "the key wrapper") => {
    checkRepositoryId(expectedRepository);
    if (keys.length === 0 && passphrase === void 0) {
      throw new KeyError("no-credentials", `no passphrase or secret key was given to open ${where2}`);
    }
    const parsed = await parseWrapper(armored, where2);
    const description = describeParsed(parsed, /* @__PURE__ */ new Map());
    const candidates = [];
    const reread = async () => (await parseWrapper(armored, where2)).message;
    if (keys.length > 0 && parsed.pkesks.length > 0) {
      try {
        for (const found of await decryptSessionKeys({
          message: await reread(),
          decryptionKeys: keys,
          config: READ_CONFIG
        })) {
          if (found.algorithm)
            candidates.push({ key: { data: found.data, algorithm: found.algorithm }, from: "key" });
        }
      } catch {
      }
    }
    if (passphrase !== void 0 && parsed.skesks > 0) {
      try {
        for (const found of await decryptSessionKeys({
          message: await reread(),
          passwords: [passphrase],
          config: READ_CONFIG
        })) {
          if (found.algorithm) {
            candidates.push({ key: { data: found.data, algorithm: found.algorithm }, from: "passphrase" });
          }
        }
      } catch {
      }
    }
    const matchingKey = description.recipients.find((r) => keyIds.has(r.keyId));
    let damaged = candidates.length === 0 && matchingKey !== void 0;
    for (const candidate of candidates) {
      const fromPassphrase = candidate.from === "passphrase";
      const check = fromPassphrase ? quickCheck(parsed, candidate.key) : void 0;
      if (check === false) continue;
      let plaintext;
      try {
        const result = await decrypt({
          message: await reread(),
          sessionKeys: [candidate.key],
          format: "binary",
          config: READ_CONFIG
        });
        plaintext = result.data;
      } catch {
        if (!fromPassphrase || check === true) damaged = true;
        continue;
      }
      let text;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
      } catch {
        throw new KeyError("malformed", `${where2} opened, but its content is not a repository key document`);
      }
      return parseRepositoryKey(text, expectedRepository, where2);
    }
    if (damaged) {
      throw new KeyError(
        "tampered",
        matchingKey && candidates.length === 0 ? `${where2} is encrypted to key ${matchingKey.keyId}, which was given, but does not decrypt with it: it was altered or is corrupt` : `${where2} opened but failed its integrity check: it was altered or is corrupt`
      );
    }
    throw new KeyError(
      "no-match",
      `${where2} does not open with the given passphrase or secret keys (it opens with: ${needs(description)})`
    );
  };
  return {
    usable: keys.length > 0 || passphrase !== void 0,
    keyIds,
    hasPassphrase: passphrase !== void 0,
    unwrap,
    mayOpen
  };
}

// src/engine/keyring.ts
var KEYS_PREFIX = "keys/";
var CREDENTIAL_ENV = {
  passphrase: "RESTORABLE_PASSPHRASE",
  secretKeyFile: "RESTORABLE_SECRET_KEY_FILE",
  secretKey: "RESTORABLE_SECRET_KEY",
  secretKeyPassphrase: "RESTORABLE_SECRET_KEY_PASSPHRASE",
  repositoryKeyFile: "RESTORABLE_REPOSITORY_KEY_FILE"
};
var WRAPPER_NAME = /^keys\/([0-9a-f]{64})$/;
function wrapperId(armored) {
  return createHash3("sha256").update(armored, "utf8").digest("hex");
}
var where = (backend, id) => `keys/${id} in ${backend.location}`;
async function writeWrapper(backend, armored) {
  await describeWrapper(armored);
  const id = wrapperId(armored);
  const name = `${KEYS_PREFIX}${id}`;
  if (await backend.stat(name) === void 0) await backend.write(name, new TextEncoder().encode(armored));
  return id;
}
async function loadWrapper(backend, id) {
  const name = `${KEYS_PREFIX}${id}`;
  const notFound = () => ({
    error: new KeyError("not-found", `${backend.location} has no key wrapper keys/${id}`)
  });
  const info = await backend.stat(name);
  if (info === void 0) return notFound();
  if (info.size > MAX_WRAPPER_BYTES) {
    const message = `${where(backend, id)} is ${info.size} bytes, too large for a key wrapper`;
    return { error: new KeyError("malformed", message) };
  }
  let bytes;
  try {
    bytes = await backend.read(name);
  } catch (error) {
    if (error instanceof NotFoundError) return notFound();
    throw error;
  }
  let armored;
  try {
    armored = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return { error: new KeyError("malformed", `${where(backend, id)} is not text`) };
  }
  if (createHash3("sha256").update(bytes).digest("hex") !== id) {
    const message = `${where(backend, id)} does not match its content hash: it was altered or is corrupt`;
    return { armored, error: new KeyError("tampered", message) };
  }
  return { armored };
}
async function readWrapper(backend, id) {
  const loaded = await loadWrapper(backend, id);
  if (loaded.error) throw loaded.error;
  return loaded.armored;
}
async function wrapperIds(backend) {
  const ids = [];
  for (const info of await backend.list(KEYS_PREFIX)) {
    const match = WRAPPER_NAME.exec(info.name);
    if (match) ids.push(match[1]);
  }
  return ids.sort();
}
async function listWrappers(backend, known = []) {
  const keys = await knownKeyIds(known);
  const out = [];
  for (const id of await wrapperIds(backend)) {
    try {
      out.push({ id, ...await describeWrapper(await readWrapper(backend, id), keys, where(backend, id)) });
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      out.push({ id, recipients: [], passphrase: false, gpgCompatible: false, problem: error.message });
    }
  }
  return out;
}
async function attempt(backend, repositoryId, opener, ids) {
  const result = {
    opened: [],
    refused: 0,
    problems: [],
    damaged: [],
    needs: /* @__PURE__ */ new Set(),
    passphrase: false,
    tried: 0
  };
  for (const id of ids) {
    result.tried++;
    let { armored, error } = await loadWrapper(backend, id);
    let description;
    if (armored !== void 0) {
      try {
        description = await describeWrapper(armored, [], where(backend, id));
      } catch (failure) {
        if (!(failure instanceof KeyError)) throw failure;
        error ??= failure;
      }
    }
    if (description) {
      for (const recipient of description.recipients) result.needs.add(recipient.keyId);
      if (description.passphrase) result.passphrase = true;
    }
    const relevant = description === void 0 || opener.mayOpen(description);
    if (error) {
      (relevant ? result.problems : result.damaged).push({ id, error });
      continue;
    }
    if (!relevant || armored === void 0) {
      result.refused++;
      continue;
    }
    try {
      result.opened.push({ id, key: await opener.unwrap(armored, repositoryId, where(backend, id)) });
    } catch (failure) {
      if (!(failure instanceof KeyError)) throw failure;
      if (failure.reason === "no-match") result.refused++;
      else result.problems.push({ id, error: failure });
    }
  }
  return result;
}
function noCredentials() {
  return new KeyError(
    "no-credentials",
    `no passphrase, secret key or repository key was given: set ${CREDENTIAL_ENV.passphrase} (or the policy's passphrase variable), ${CREDENTIAL_ENV.secretKeyFile} or ${CREDENTIAL_ENV.secretKey}, or ${CREDENTIAL_ENV.repositoryKeyFile}`
  );
}
var plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
async function unlock(backend, repositoryId, credentials) {
  if (credentials.repositoryKey) {
    return parseRepositoryKey(credentials.repositoryKey.text, repositoryId, credentials.repositoryKey.source);
  }
  const opener = await openCredentials(credentials);
  if (!opener.usable) throw noCredentials();
  const ids = await wrapperIds(backend);
  if (ids.length === 0) {
    throw new KeyError(
      "no-wrappers",
      `${backend.location} holds no key wrapper (keys/ is empty): it is not a repository, or its keys were deleted`
    );
  }
  const result = await attempt(backend, repositoryId, opener, ids);
  const first = result.opened[0];
  if (first) {
    for (const other of result.opened.slice(1)) {
      if (!timingSafeEqual(first.key, other.key)) {
        throw new KeyError(
          "disagree",
          `key wrappers keys/${first.id} and keys/${other.id} in ${backend.location} hold different master keys for the same repository; one of them was not written by this repository's owner. Remove the wrong one (restorable key remove) after checking which key opens the snapshots.`
        );
      }
    }
    return first.key;
  }
  const problem = result.problems[0];
  if (problem) {
    const others = result.tried - 1;
    throw new KeyError(
      problem.error.reason,
      `no key wrapper of ${backend.location} opens: ${problem.error.message}${others > 0 ? `; ${plural(others, "other wrapper")} did not open with the given passphrase or secret keys` : ""}`,
      { cause: problem.error }
    );
  }
  const needs2 = [...result.needs].sort();
  if (result.passphrase) needs2.push("a passphrase");
  const damaged = result.damaged.map((d) => d.error.message).join("; ");
  throw new KeyError(
    "no-match",
    `no key wrapper of ${backend.location} opens with the given passphrase or secret keys (tried ${plural(result.tried, "wrapper")}; they open with: ${needs2.join(", ") || "nothing readable"})${damaged ? `; besides, ${damaged}` : ""}`
  );
}
async function addWrapper(backend, repositoryId, credentials, to) {
  const masterKey = await unlock(backend, repositoryId, credentials);
  const armored = await wrapKey({
    repository: repositoryId,
    masterKey,
    recipients: to.recipients ?? [],
    ...to.passphrase !== void 0 ? { passphrase: to.passphrase } : {}
  });
  return writeWrapper(backend, armored);
}
async function resolveWrapperId(backend, idOrPrefix) {
  const wanted = idOrPrefix.toLowerCase().replace(/^keys\//, "");
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new KeyError(
      "not-found",
      `${JSON.stringify(idOrPrefix)} is not a key wrapper id (8 to 64 hex characters)`
    );
  }
  const matches = (await wrapperIds(backend)).filter((id) => id.startsWith(wanted));
  if (matches.length === 0)
    throw new KeyError("not-found", `${backend.location} has no key wrapper keys/${wanted}`);
  if (matches.length > 1) {
    throw new KeyError(
      "ambiguous",
      `${wanted} names ${matches.length} key wrappers in ${backend.location}; give more of the id`
    );
  }
  return matches[0];
}
async function removeWrapper(backend, idOrPrefix, keep) {
  const id = await resolveWrapperId(backend, idOrPrefix);
  const others = (await wrapperIds(backend)).filter((other) => other !== id);
  if (others.length === 0) {
    throw new KeyError(
      "last-wrapper",
      `keys/${id} is the last key wrapper of ${backend.location}; without it nobody could open the repository. Add another wrapper first (restorable key add).`
    );
  }
  if (keep) {
    const opener = await openCredentials(keep.credentials);
    if (opener.usable) {
      const result = await attempt(backend, keep.repository, opener, others);
      if (result.opened.length === 0) {
        throw new KeyError(
          "last-wrapper",
          `keys/${id} is the last key wrapper of ${backend.location} that opens with the given passphrase or secret keys; add one for them first (restorable key add), or remove it with other credentials`
        );
      }
    }
  }
  await backend.remove(`${KEYS_PREFIX}${id}`);
  return id;
}
var MAX_CREDENTIAL_FILE = 1 << 20;
async function readCredentialFile(variable, path) {
  try {
    const handle = await openFile(path, "r");
    try {
      const { size } = await handle.stat();
      if (size > MAX_CREDENTIAL_FILE) {
        throw new KeyError(
          "credentials",
          `${variable} names ${path}, which is ${size} bytes: too large for a key`
        );
      }
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError(
      "credentials",
      `${variable} names ${path}, which cannot be read (${error.code ?? error.message})`,
      { cause: error }
    );
  }
}
var value = (env, name) => {
  const v = env[name];
  return v === void 0 || v === "" ? void 0 : v;
};
async function credentialsFromEnv(env, passphraseVar = CREDENTIAL_ENV.passphrase) {
  const credentials = {};
  const passphrase = value(env, passphraseVar);
  if (passphrase !== void 0) credentials.passphrase = passphrase.replace(/\r?\n$/, "");
  const keyPassphrase = value(env, CREDENTIAL_ENV.secretKeyPassphrase)?.replace(/\r?\n$/, "");
  const secretKeys = [];
  const keyFile = value(env, CREDENTIAL_ENV.secretKeyFile);
  if (keyFile !== void 0) {
    secretKeys.push({
      armored: await readCredentialFile(CREDENTIAL_ENV.secretKeyFile, keyFile),
      source: `${CREDENTIAL_ENV.secretKeyFile} (${keyFile})`,
      ...keyPassphrase !== void 0 ? { passphrase: keyPassphrase } : {}
    });
  }
  const keyText = value(env, CREDENTIAL_ENV.secretKey);
  if (keyText !== void 0) {
    secretKeys.push({
      armored: keyText,
      source: CREDENTIAL_ENV.secretKey,
      ...keyPassphrase !== void 0 ? { passphrase: keyPassphrase } : {}
    });
  }
  if (secretKeys.length > 0) credentials.secretKeys = secretKeys;
  const documentFile = value(env, CREDENTIAL_ENV.repositoryKeyFile);
  if (documentFile !== void 0) {
    credentials.repositoryKey = {
      text: await readCredentialFile(CREDENTIAL_ENV.repositoryKeyFile, documentFile),
      source: `${CREDENTIAL_ENV.repositoryKeyFile} (${documentFile})`
    };
  }
  return credentials;
}

// src/commands/open-repository.ts
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";

// src/storage/local.ts
import { randomBytes as randomBytes4 } from "node:crypto";
import { link, mkdir, open as open2, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
var TEMPORARY_PREFIX = ".tmp-";
var TEMPORARY = /^(?:(?:keys|index|snapshots|locks)\/|data\/[0-9a-f]{2}\/)?\.tmp-[0-9a-f]{16}$/;
function isTemporary(name) {
  return name.startsWith(TEMPORARY_PREFIX, name.lastIndexOf("/") + 1);
}
var LocalBackend = class {
  location;
  root;
  madeDirs = /* @__PURE__ */ new Set();
  constructor(root) {
    this.root = root;
    this.location = root;
  }
  async write(name, data) {
    await this.place(name, data, async (temp, path) => {
      await rename(temp, path);
      return true;
    });
  }
  async writeNew(name, data) {
    return this.place(name, data, async (temp, path) => {
      try {
        await link(temp, path);
        return true;
      } catch (error) {
        if (error.code === "EEXIST") return false;
        throw error;
      } finally {
        await rm(temp, { force: true });
      }
    });
  }
  /** Writes `data` to a synced temporary file beside `name`, then lets `commit` put it in place. */
  async place(name, data, commit) {
    checkName(name);
    const path = join(this.root, name);
    const dir = dirname(path);
    const temp = join(dir, `${TEMPORARY_PREFIX}${randomBytes4(8).toString("hex")}`);
    try {
      if (!this.madeDirs.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.madeDirs.add(dir);
      }
      const handle = await open2(temp, "wx", 384);
      try {
        if (data instanceof Uint8Array) await handle.writeFile(data);
        else await writeAll(handle, data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const placed = await commit(temp, path);
      await syncDir(dir);
      return placed;
    } catch (error) {
      await rm(temp, { force: true }).catch(() => {
      });
      throw new StorageError(this.location, name, `cannot write (${error.message})`, {
        cause: error
      });
    }
  }
  async read(name, range) {
    checkName(name);
    let handle;
    try {
      handle = await open2(join(this.root, name), "r");
    } catch (error) {
      if (error.code === "ENOENT") throw new NotFoundError(this.location, name);
      throw new StorageError(this.location, name, `cannot read (${error.message})`, {
        cause: error
      });
    }
    try {
      if (!range) return new Uint8Array(await handle.readFile());
      const out = new Uint8Array(range.length);
      let done = 0;
      while (done < range.length) {
        const { bytesRead } = await handle.read(out, done, range.length - done, range.offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < range.length) {
        throw new StorageError(
          this.location,
          name,
          `is truncated: wanted bytes ${range.offset}..${range.offset + range.length}, file ends at ${range.offset + done} in`
        );
      }
      return out;
    } finally {
      await handle.close();
    }
  }
  async stat(name) {
    checkName(name);
    const info = await this.statFile(name);
    return info && { name, size: info.size };
  }
  async list(prefix) {
    const out = [];
    const top = prefix.includes("/") ? prefix.slice(0, prefix.indexOf("/")) : "";
    for await (const name of this.files(top)) {
      if (!name.startsWith(prefix) || isTemporary(name)) continue;
      const info = await this.statFile(name);
      if (info) out.push({ name, size: info.size });
    }
    return out;
  }
  async remove(name) {
    checkName(name);
    await this.removeFile(name);
  }
  async abandoned(before) {
    const out = [];
    for await (const name of this.files("")) {
      if (!TEMPORARY.test(name)) continue;
      const info = await this.statFile(name);
      if (info && info.mtimeMs < before.getTime()) out.push({ name, size: info.size });
    }
    return out;
  }
  async removeAbandoned(name) {
    if (!TEMPORARY.test(name)) throw new RangeError(`not a temporary file's name: ${JSON.stringify(name)}`);
    await this.removeFile(name);
  }
  /** Every file under a directory of the repository, named from the root; none when it does not exist. */
  async *files(relative) {
    let entries;
    try {
      entries = await readdir(join(this.root, relative), { withFileTypes: true });
    } catch (error) {
      if (error.code === "ENOENT") return;
      throw new StorageError(this.location, relative, `cannot list (${error.message})`, {
        cause: error
      });
    }
    for (const entry of entries) {
      const name = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) yield* this.files(name);
      else if (entry.isFile()) yield name;
    }
  }
  /** A file's status, or undefined when there is no such file. */
  async statFile(name) {
    try {
      return await stat(join(this.root, name));
    } catch (error) {
      if (error.code === "ENOENT") return void 0;
      throw new StorageError(this.location, name, `cannot stat (${error.message})`, {
        cause: error
      });
    }
  }
  async removeFile(name) {
    try {
      await rm(join(this.root, name), { force: true });
    } catch (error) {
      throw new StorageError(this.location, name, `cannot remove (${error.message})`, {
        cause: error
      });
    }
  }
  /** A directory has no object lock: nothing is ever retained. */
  async retainedUntil(name) {
    checkName(name);
    return void 0;
  }
};
async function writeAll(handle, parts) {
  for (let start = 0; start < parts.length; start += 1024) {
    let batch = parts.slice(start, start + 1024);
    let { bytesWritten } = await handle.writev(batch);
    let total = batch.reduce((sum, part) => sum + part.length, 0);
    while (bytesWritten < total) {
      const rest = [];
      let skip = bytesWritten;
      for (const part of batch) {
        if (skip >= part.length) skip -= part.length;
        else {
          rest.push(part.subarray(skip));
          skip = 0;
        }
      }
      batch = rest;
      total -= bytesWritten;
      ({ bytesWritten } = await handle.writev(batch));
    }
  }
}
async function syncDir(dir) {
  const handle = await open2(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// src/commands/open-repository.ts
async function backendFor(root, data) {
  if (data.local) return new LocalBackend(resolve(root, data.local.path));
  if (data.s3) {
    const { S3Backend } = await import("./chunk-3II3CK7V.js");
    return new S3Backend(data.s3);
  }
  throw new Error("repository names neither `local` nor `s3`");
}
function repositoryLocation(root, data) {
  if (data.local) return resolve(root, data.local.path);
  return `s3://${data.s3?.bucket}/${data.s3?.prefix ?? ""}${data.s3?.endpoint ? ` at ${data.s3.endpoint}` : ""}`;
}
function passphraseVariable(system) {
  const passphrase = system.encryption?.passphrase;
  if (typeof passphrase === "string") {
    throw new Error(
      `system "${system.name}": encryption.passphrase is written in the policy; a passphrase kept in the repository is no secret, so Restorable refuses to use it. Write \`passphrase: { env: NAME }\` and set NAME in the runner's secrets.`
    );
  }
  return passphrase?.env ?? "RESTORABLE_PASSPHRASE";
}
async function systemCredentials(system, env) {
  return credentialsFromEnv(env, passphraseVariable(system));
}
async function recipientFiles(root, system) {
  return readRecipientFiles(root, system.encryption?.recipients ?? [], `system "${system.name}": `);
}
async function readRecipientFiles(root, paths, context = "") {
  return Promise.all(
    paths.map(async (path) => {
      try {
        return { path, armored: await readFile(resolve(root, path), "utf8") };
      } catch (error) {
        throw new Error(`${context}cannot read recipient key ${path}: ${error.message}`);
      }
    })
  );
}
async function openRepository(backend, options) {
  const { system } = options;
  const credentials = await systemCredentials(system, options.env);
  const config = await readConfig(backend);
  if (config) {
    const masterKey2 = await unlock(backend, config.id, credentials);
    const repo = new Repository(backend, config, masterKey2);
    if (options.create)
      await addMissingRecipients(repo, masterKey2, await recipientFiles(options.root, system), options.log);
    return repo;
  }
  if (!options.create) {
    throw new Error(
      `${backend.location} holds no repository (no config object): check the location and the credentials. A new repository is created by its first \`restorable backup\`; do not run one to restore from a repository that should be there, as it would start a new, empty one`
    );
  }
  const recipients = await recipientFiles(options.root, system);
  if (recipients.length === 0 && credentials.passphrase === void 0) {
    throw new Error(
      `system "${system.name}": cannot create ${backend.location}: its key needs a passphrase or recipients; set ${passphraseVariable(system)} or list encryption.recipients`
    );
  }
  const created = newConfig();
  const masterKey = newMasterKey();
  const armored = await wrapKey({
    repository: created.id,
    masterKey,
    recipients,
    ...credentials.passphrase !== void 0 ? { passphrase: credentials.passphrase } : {}
  });
  const wrapper = await writeWrapper(backend, armored);
  if (!await writeNewConfig(backend, created)) {
    await backend.remove(`keys/${wrapper}`).catch((error) => {
      options.log?.(
        `${backend.location}: could not remove the unused key wrapper keys/${wrapper}: ${error.message}`
      );
    });
    const winner = await readConfig(backend);
    if (!winner)
      throw new Error(`${backend.location}: its config was created by another run but cannot be read`);
    options.log?.(`${backend.location} was created by another run at the same time; using it`);
    return new Repository(backend, winner, await unlock(backend, winner.id, credentials));
  }
  options.log?.(
    `created repository ${backend.location} (key wrapped to ${[...recipients.map((r) => r.path), ...credentials.passphrase !== void 0 ? ["a passphrase"] : []].join(", ")})`
  );
  return new Repository(backend, created, masterKey);
}
async function addMissingRecipients(repo, masterKey, recipients, log) {
  if (recipients.length === 0) return;
  const wrapped = /* @__PURE__ */ new Set();
  for (const wrapper of await listWrappers(repo.backend)) {
    for (const recipient of wrapper.recipients) wrapped.add(recipient.keyId);
  }
  const missing = [];
  for (const file of recipients) {
    const infos = await checkRecipient(file);
    if (!infos.some((info) => wrapped.has(info.encryptionKeyId))) missing.push(file);
  }
  if (missing.length === 0) return;
  await writeWrapper(
    repo.backend,
    await wrapKey({ repository: repo.config.id, masterKey, recipients: missing })
  );
  log?.(`${repo.location}: added a key wrapper for ${missing.map((file) => file.path).join(", ")}`);
}

// src/commands/plan.ts
var PlanError = class extends Error {
  problems;
  constructor(problems) {
    super(
      `the policies have ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was run:
${problems.map((p) => `  ${formatRange(p.location)}: ${p.message} [${p.ruleId}]`).join("\n")}`
    );
    this.name = "PlanError";
    this.problems = problems;
  }
};
function planSystems(options) {
  const config = loadConfig(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths, config.data.policies);
  const problems = [...config.problems, ...discovered.problems];
  const planned = [];
  problems.push(
    ...loadPolicies(options.root, discovered.files, (loaded, valid) => {
      if (!valid) return;
      for (const system of loaded.data.systems) {
        planned.push({
          file: loaded.file,
          policy: loaded.data,
          system,
          repositories: system.repositories.map((name) => ({ name, data: loaded.data.repositories[name] }))
        });
      }
    })
  );
  if (problems.length > 0) throw new PlanError(problems);
  if (planned.length === 0) {
    throw new Error(
      options.paths.length === 0 ? "no policy found: give policy files or directories, or list them under `policies` in .restorable/config.yaml" : `no policy found in ${options.paths.join(", ")}`
    );
  }
  const names = /* @__PURE__ */ new Map();
  for (const item of planned) {
    const other = names.get(item.system.name);
    if (other) {
      throw new Error(
        `system "${item.system.name}" is declared in both ${other.file} and ${item.file}; names must be unique`
      );
    }
    names.set(item.system.name, item);
  }
  if (!options.systems || options.systems.length === 0) return planned;
  return options.systems.map((name) => {
    const item = names.get(name);
    if (!item) {
      throw new Error(
        `no system named "${name}"; the policies declare: ${[...names.keys()].sort().join(", ")}`
      );
    }
    return item;
  });
}

// src/engine/lock.ts
import { readFileSync, readlinkSync } from "node:fs";
import { hostname, userInfo } from "node:os";
var LOCK_REFRESH_MS = 5 * 60 * 1e3;
var LOCK_LIFETIME_MS = 30 * 60 * 1e3;
var LockedError = class extends RepositoryError {
  constructor(message) {
    super(message);
    this.name = "LockedError";
  }
};
function conflicts(mine, theirs) {
  return mine === "exclusive" || theirs === "exclusive";
}
function describe(lock) {
  return `${lock.kind} lock by ${lock.purpose} (${lock.user}@${lock.hostname}, pid ${lock.pid}) since ${lock.created}, expires ${lock.expires}`;
}
async function liveLocks(repo, now, onProblem = () => {
}) {
  const live = [];
  for (const { name } of await repo.backend.list("locks/")) {
    const id = name.slice("locks/".length);
    let lock;
    try {
      lock = JSON.parse(new TextDecoder().decode(await repo.readSealed("locks", "lock", id)));
    } catch (error) {
      if (error instanceof NotFoundError) continue;
      onProblem(
        `${repo.location}: ${name} cannot be read (${error.message}); it is taken as held`
      );
      live.push({ name });
      continue;
    }
    if (new Date(lock.expires).getTime() > now.getTime() && !holderIsGone(lock)) live.push({ name, lock });
  }
  return live;
}
var identity;
function processIdentity() {
  if (identity) return identity;
  identity = {};
  try {
    identity.bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    identity.pidNamespace = readlinkSync("/proc/self/ns/pid");
  } catch {
    identity = {};
  }
  return identity;
}
function holderIsGone(lock) {
  const here = processIdentity();
  if (!lock.bootId || !lock.pidNamespace || lock.hostname !== hostname()) return false;
  if (lock.bootId !== here.bootId || lock.pidNamespace !== here.pidNamespace) return false;
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (error) {
    return error.code === "ESRCH";
  }
}
async function acquireLock(repo, kind, options) {
  const now = options.now ?? (() => /* @__PURE__ */ new Date());
  const onProblem = options.onProblem ?? (() => {
  });
  const write = async () => {
    const time = now();
    const info = {
      version: 1,
      kind,
      purpose: options.purpose,
      hostname: hostname(),
      pid: process.pid,
      user: userInfo().username,
      created: time.toISOString(),
      expires: new Date(time.getTime() + LOCK_LIFETIME_MS).toISOString(),
      ...processIdentity()
    };
    return `locks/${await repo.writeSealed("locks", "lock", new TextEncoder().encode(JSON.stringify(info)))}`;
  };
  const blocking = async (mine) => (await liveLocks(repo, now(), onProblem)).filter(
    ({ name: name2, lock }) => name2 !== mine && (!lock || conflicts(kind, lock.kind))
  );
  const before = await blocking(void 0);
  if (before.length > 0) throw lockedBy(repo, kind, before);
  let name = await write();
  const after = await blocking(name);
  if (after.length > 0) {
    await repo.backend.remove(name);
    throw lockedBy(repo, kind, after);
  }
  return {
    get name() {
      return name;
    },
    async refresh() {
      const previous = name;
      name = await write();
      await repo.backend.remove(previous);
    },
    async release() {
      await repo.backend.remove(name);
    }
  };
}
function lockedBy(repo, kind, holders) {
  const who = holders.map(({ name, lock }) => lock ? describe(lock) : `${name} (unreadable)`).join("; ");
  return new LockedError(
    `${repo.location} is locked: a ${kind} lock cannot be taken beside ${who}. Wait for it to finish, or, if its holder is gone (on another machine), for the lock to expire.`
  );
}
async function holdLocks(repos, kind, options) {
  const held = [];
  try {
    for (const repo of repos) held.push(await acquireLock(repo, kind, options));
  } catch (error) {
    await Promise.allSettled(held.map((lock) => lock.release()));
    throw error;
  }
  let refreshing = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = refreshing.then(() => Promise.allSettled(held.map((lock) => lock.refresh())));
  }, LOCK_REFRESH_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await refreshing;
      await Promise.allSettled(held.map((lock) => lock.release()));
    }
  };
}

export {
  release,
  objectId,
  sealedLength,
  RepositoryError,
  ListingWriter,
  readListing,
  BlobIndex,
  encodeIndex,
  decodeIndex,
  loadIndex,
  encodeBlob,
  packName,
  packId,
  packTail,
  PackWriter,
  decodePackHeader,
  BlobReader,
  LockedError,
  holdLocks,
  writeSnapshot,
  readSnapshot,
  listSnapshots,
  findSnapshot,
  CREDENTIAL_ENV,
  listWrappers,
  addWrapper,
  removeWrapper,
  backendFor,
  repositoryLocation,
  passphraseVariable,
  systemCredentials,
  recipientFiles,
  readRecipientFiles,
  openRepository,
  planSystems
};
