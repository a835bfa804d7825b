import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/engine/blob-decode-worker.ts
import { parentPort, workerData } from "node:worker_threads";

// src/engine/blob-decoder.ts
import { zstdDecompressSync as zstdDecompressSync2 } from "node:zlib";

// src/engine/compress.ts
import { promisify } from "node:util";
import { constants, zstdCompress, zstdDecompressSync } from "node:zlib";

// src/engine/zstd-session.ts
var KEPT_SCRATCH_BYTES = 1024 * 1024;

// src/engine/compress.ts
var RAW = 0;
var ZSTD = 1;
var SAMPLE_FROM_BYTES = 256 * 1024;
var SAMPLE_SLICE_BYTES = 16 * 1024;
var zstdCompressAsync = promisify(zstdCompress);

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
var SealError = class extends Error {
  reason;
  constructor(reason, message) {
    super(message);
    this.name = "SealError";
    this.reason = reason;
  }
};
function checkKey(key, what) {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== KEY_BYTES) {
    throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${length}`);
  }
}
function sealContext(kind, repository) {
  return new TextEncoder().encode(`restorable/v1 ${kind} ${repository}`);
}
var noncePool = new Uint8Array(0);
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

// src/engine/blob-codec.ts
var HEADER = { [RAW]: Uint8Array.of(RAW), [ZSTD]: Uint8Array.of(ZSTD) };
function blobContext(id) {
  return `blob ${id}`;
}

// src/engine/chunker.ts
var DEFAULT_CHUNK_SIZES = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

// src/engine/blob-decoder.ts
var MAX_BLOB_BYTES = DEFAULT_CHUNK_SIZES.max;
function inPlace(dataKey2, repositoryId2) {
  return {
    open: (id, sealed) => open(dataKey2, sealed, sealContext(blobContext(id), repositoryId2)),
    decompress: (data, options) => zstdDecompressSync2(data, options)
  };
}
async function decodeBlob(blob, sealed, ops2) {
  if (sealed.length !== blob.length)
    return { damaged: `read ${sealed.length} bytes, expected ${blob.length}` };
  let framed;
  try {
    framed = await ops2.open(blob.id, sealed);
  } catch {
    return { damaged: "it failed authentication" };
  }
  let plain;
  if (framed[0] === RAW) {
    plain = framed.subarray(1);
  } else if (framed[0] === ZSTD) {
    const limit = Math.min(blob.rawLength, MAX_BLOB_BYTES);
    try {
      plain = await ops2.decompress(framed.subarray(1), {
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

// src/engine/blob-decode-worker.ts
var { dataKey, repositoryId } = workerData;
var ops = inPlace(dataKey, repositoryId);
function movable(plain) {
  const buffer = plain.buffer;
  return buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize ? plain : new Uint8Array(plain);
}
parentPort.on("message", async ({ seq, run, blobs }) => {
  const decoded = [];
  const transfer = /* @__PURE__ */ new Set();
  for (const blob of blobs) {
    const result = await decodeBlob(blob, run.subarray(blob.offset, blob.offset + blob.length), ops);
    if ("plain" in result) {
      const plain = movable(result.plain);
      transfer.add(plain.buffer);
      decoded.push({ plain });
    } else {
      decoded.push(result);
    }
  }
  const reply = { seq, decoded };
  parentPort.postMessage(reply, [...transfer]);
});
