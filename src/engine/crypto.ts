import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
  randomFillSync,
  type webcrypto,
} from 'node:crypto';
import { release } from './memory.ts';

/**
 * Repository cryptography: one random master key, subkeys derived from it with HKDF-SHA256, keyed object ids
 * (HMAC-SHA256) and AES-256-GCM sealing of stored objects.
 */
export const KEY_BYTES = 32;

const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Bytes that `seal` adds to a plaintext: version, nonce and tag. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

export interface SubKeys {
  /** Seals stored objects. */
  data: Uint8Array;
  /** Keys object ids. */
  id: Uint8Array;
  /** Keys content-defined chunk boundaries. */
  chunker: Uint8Array;
}

export type SealFailure = 'truncated' | 'version' | 'authentication';

export class SealError extends Error {
  readonly reason: SealFailure;

  constructor(reason: SealFailure, message: string) {
    super(message);
    this.name = 'SealError';
    this.reason = reason;
  }
}

/**
 * A key as raw bytes, or prepared once with `prepareKey`: Node then skips building a key object per call,
 * which costs more than sealing a small blob.
 */
export type Key = Uint8Array | KeyObject;

export function prepareKey(key: Uint8Array): KeyObject {
  checkKey(key, 'key');
  return createSecretKey(key);
}

function checkKey(key: Key, what: string): void {
  const length = key instanceof Uint8Array ? key.length : key.symmetricKeySize;
  if (length !== KEY_BYTES) {
    throw new RangeError(`${what} must be ${KEY_BYTES} bytes, got ${length}`);
  }
}

export function newMasterKey(): Uint8Array {
  return new Uint8Array(randomBytes(KEY_BYTES));
}

export function deriveKeys(master: Uint8Array): SubKeys {
  checkKey(master, 'master key');
  const derive = (purpose: string) =>
    new Uint8Array(hkdfSync('sha256', master, new Uint8Array(0), `restorable/v1 ${purpose}`, KEY_BYTES));
  return { data: derive('data'), id: derive('id'), chunker: derive('chunker') };
}

/** Lowercase hex HMAC-SHA256: keyed, so that the storage operator cannot confirm guessed content. */
export function objectId(idKey: Key, plaintext: Uint8Array): string {
  checkKey(idKey, 'id key');
  return createHmac('sha256', idKey).update(plaintext).digest('hex');
}

/** Additional data that binds a sealed object to its kind (and name) and to its repository. */
export function sealContext(kind: string, repository: string): Uint8Array {
  return new TextEncoder().encode(`restorable/v1 ${kind} ${repository}`);
}

/** Random bytes drawn at once for many nonces: one call to the system generator per 341 seals, not per seal. */
const NONCE_POOL_BYTES = 4092;
let noncePool = new Uint8Array(0);
let nonceAt = 0;

/** A fresh random nonce: never handed out twice, as each one is sliced off the pool and the pool refilled. */
function freshNonce(): Uint8Array {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = randomFillSync(new Uint8Array(NONCE_POOL_BYTES));
    nonceAt = 0;
  }
  const nonce = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}

/** The sealed size of `plainLength` bytes. */
export function sealedLength(plainLength: number): number {
  return SEAL_OVERHEAD + plainLength;
}

/**
 * AES-256-GCM with a fresh random nonce: `version(1) || nonce(12) || ciphertext || tag(16)`. `aad` (for example
 * the object's type and id) is authenticated but not stored, so an object moved to another place fails to open.
 * Random 96-bit nonces are safe for far more objects than a repository holds under one key.
 */
export function seal(key: Key, plaintext: Uint8Array | readonly Uint8Array[], aad: Uint8Array): Uint8Array {
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  // Unpooled: the result owns its memory, so it can be transferred between threads without copying a pool.
  const out = Buffer.allocUnsafeSlow(sealedLength(totalLength(parts)));
  sealInto(key, parts, aad, out, 0);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * `seal`, written into `out` from `at` (where `sealedLength` of the plaintext must fit); returns the bytes
 * written. Many small objects can then share one buffer.
 */
export function sealInto(
  key: Key,
  plaintext: Uint8Array | readonly Uint8Array[],
  aad: Uint8Array,
  out: Uint8Array,
  at: number,
): number {
  checkKey(key, 'data key');
  const parts = plaintext instanceof Uint8Array ? [plaintext] : plaintext;
  const length = sealedLength(totalLength(parts));
  if (!Number.isInteger(at) || at < 0 || at + length > out.length) {
    throw new RangeError(`sealing needs ${length} bytes at offset ${at} of a ${out.length}-byte buffer`);
  }
  const nonce = freshNonce();
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  out[at] = VERSION;
  out.set(nonce, at + 1);
  let end = at + 1 + NONCE_BYTES;
  // Parts (a header and its payload) are encrypted in turn, never joined in plain text first.
  for (const part of parts) {
    const ciphertext = cipher.update(part);
    out.set(ciphertext, end);
    end += ciphertext.length;
    // A fresh buffer per part, as large as the part: freed now, not at the next collection.
    release(ciphertext);
  }
  cipher.final();
  out.set(cipher.getAuthTag(), end);
  return length;
}

function totalLength(parts: readonly Uint8Array[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

function checkSealed(sealed: Uint8Array): void {
  if (sealed.length < SEAL_OVERHEAD) {
    throw new SealError(
      'truncated',
      `sealed object is ${sealed.length} bytes, shorter than the ${SEAL_OVERHEAD}-byte minimum`,
    );
  }
  if (sealed[0] !== VERSION) {
    throw new SealError(
      'version',
      `sealed object has unknown format version ${sealed[0]} (expected ${VERSION})`,
    );
  }
}

function authenticationFailure(): SealError {
  return new SealError(
    'authentication',
    'sealed object failed authentication: wrong key, wrong context, or the object was altered',
  );
}

export function open(key: Key, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKey(key, 'data key');
  checkSealed(sealed);
  const nonce = sealed.subarray(1, 1 + NONCE_BYTES);
  const ciphertext = sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
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

/**
 * Opening through WebCrypto, which runs in libuv's thread pool: large blobs are decrypted beside the main
 * thread during a restore. The result is identical to `open`'s.
 */
export async function importAsyncDataKey(data: Uint8Array): Promise<webcrypto.CryptoKey> {
  checkKey(data, 'data key');
  return globalThis.crypto.subtle.importKey('raw', data, { name: 'AES-GCM' }, false, ['decrypt']);
}

export async function openAsync(
  key: webcrypto.CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  checkSealed(sealed);
  try {
    return new Uint8Array(
      await globalThis.crypto.subtle.decrypt(
        {
          name: 'AES-GCM',
          iv: sealed.subarray(1, 1 + NONCE_BYTES),
          additionalData: aad,
          tagLength: TAG_BYTES * 8,
        },
        key,
        sealed.subarray(1 + NONCE_BYTES),
      ),
    );
  } catch {
    throw authenticationFailure();
  }
}
