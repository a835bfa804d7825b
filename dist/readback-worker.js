import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/drill/readback-worker.ts
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";

// src/drill/integrity.ts
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from "node:fs";

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
var NONCE_BYTES = 12;
var TAG_BYTES = 16;
var SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;
function checkKey(key, what) {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== KEY_BYTES) {
    throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${length}`);
  }
}
function objectId(idKey2, plaintext) {
  checkKey(idKey2, "id key");
  return createHmac("sha256", idKey2).update(plaintext).digest("hex");
}
var noncePool = new Uint8Array(0);

// src/engine/chunker.ts
var DEFAULT_CHUNK_SIZES = { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 };

// src/engine/listing.ts
var FLUSH_BYTES = 1024 * 1024;

// src/engine/restorer.ts
var BATCH_BYTES = 16 * 1024 * 1024;

// src/drill/integrity.ts
var READ_BUFFER_BYTES = 8 * 1024 * 1024;
var BATCH_BYTES2 = 16 * 1024 * 1024;
function describe(error) {
  return error.code === "ENOENT" ? "missing from the restore" : error.message;
}
function checkMode(mode, expected) {
  if ((mode & 4095) !== expected) {
    throw new Error(`has mode ${(mode & 4095).toString(8)}, the snapshot says ${expected.toString(8)}`);
  }
}
function checkFile(absolute, file, buffer2, idKey2) {
  const fd = openSync(absolute, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error("is not a regular file");
    if (stat.size !== file.size) throw new Error(`has ${stat.size} bytes, the snapshot says ${file.size}`);
    checkMode(stat.mode, file.mode);
    const ids = file.content;
    let offset = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const length = file.lengths[i];
      if (length === void 0 || length > buffer2.length) {
        throw new Error(
          `chunk ${i + 1} of ${ids.length} (${id.slice(0, 12)}) is in no index of the repository`
        );
      }
      let filled = 0;
      while (filled < length) {
        const n = readSync(fd, buffer2, filled, length - filled, offset + filled);
        if (n === 0) break;
        filled += n;
      }
      if (filled !== length || objectId(idKey2, buffer2.subarray(0, length)) !== id) {
        throw new Error(
          `differs from the snapshot in bytes ${offset}\u2013${offset + length - 1} (chunk ${i + 1} of ${ids.length})`
        );
      }
      offset += length;
    }
    if (offset !== file.size) {
      throw new Error(`the snapshot's chunks hold ${offset} bytes, its listing says ${file.size}`);
    }
    return offset;
  } finally {
    closeSync(fd);
  }
}

// src/drill/readback-worker.ts
var { target, idKey } = workerData;
var buffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
parentPort.on("message", (files) => {
  const result = { files: 0, bytes: 0, problems: [] };
  for (const file of files) {
    try {
      result.bytes += checkFile(join(target, file.path), file, buffer, idKey);
      result.files++;
    } catch (error) {
      result.problems.push({ path: file.path, message: describe(error) });
    }
  }
  parentPort.postMessage(result);
});
