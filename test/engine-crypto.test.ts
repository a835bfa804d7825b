import { createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deriveKeys,
  KEY_BYTES,
  newMasterKey,
  objectId,
  open,
  SEAL_OVERHEAD,
  SealError,
  seal,
  sealInto,
} from '../src/engine/crypto.ts';

const text = (s: string) => new TextEncoder().encode(s);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

const KEY = new Uint8Array(32).map((_, i) => i);
const OTHER_KEY = new Uint8Array(32).map((_, i) => 255 - i);
const AAD = text('blob 1f2e3d');

/** Runs `fn` and returns the SealError it throws (failing the test if it throws anything else or nothing). */
function refusal(fn: () => unknown): SealError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SealError);
    return error as SealError;
  }
  throw new Error('expected a SealError, but nothing was thrown');
}

/** HKDF-SHA256 written out from RFC 5869, to check deriveKeys against an independent implementation. */
function rfc5869(ikm: Uint8Array, info: string): string {
  const prk = createHmac('sha256', new Uint8Array(32)).update(ikm).digest(); // empty salt = HashLen zeros
  return createHmac('sha256', prk)
    .update(info)
    .update(new Uint8Array([1]))
    .digest('hex');
}

describe('keys', () => {
  it('makes random 32-byte master keys', () => {
    expect(KEY_BYTES).toBe(32);
    const a = newMasterKey();
    const b = newMasterKey();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a.length).toBe(32);
    expect(hex(a)).not.toBe(hex(b));
  });

  it('derives three different subkeys, deterministically', () => {
    const keys = deriveKeys(KEY);
    const again = deriveKeys(new Uint8Array(KEY));
    expect(again).toEqual(keys);
    const all = [keys.data, keys.id, keys.chunker];
    for (const key of all) expect(key.length).toBe(32);
    expect(new Set([...all, KEY].map(hex)).size).toBe(4);
  });

  it('derives different subkeys from different master keys', () => {
    const a = deriveKeys(KEY);
    const b = deriveKeys(OTHER_KEY);
    expect(hex(a.data)).not.toBe(hex(b.data));
    expect(hex(a.id)).not.toBe(hex(b.id));
    expect(hex(a.chunker)).not.toBe(hex(b.chunker));
  });

  it('follows HKDF-SHA256 with the documented labels and an empty salt', () => {
    const keys = deriveKeys(KEY);
    expect(hex(keys.data)).toBe(rfc5869(KEY, 'restorable/v1 data'));
    expect(hex(keys.id)).toBe(rfc5869(KEY, 'restorable/v1 id'));
    expect(hex(keys.chunker)).toBe(rfc5869(KEY, 'restorable/v1 chunker'));
  });

  it('rejects master keys that are not 32 bytes', () => {
    for (const length of [0, 16, 31, 33, 64]) {
      expect(() => deriveKeys(new Uint8Array(length))).toThrow(/master key must be 32 bytes, got/);
    }
  });
});

describe('objectId', () => {
  const data = text('some chunk of a file');

  it('is a stable lowercase hex HMAC-SHA256', () => {
    const id = objectId(KEY, data);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(objectId(new Uint8Array(KEY), new Uint8Array(data))).toBe(id);
    expect(id).toBe(createHmac('sha256', KEY).update(data).digest('hex'));
  });

  it('depends on the key and on the data', () => {
    expect(objectId(OTHER_KEY, data)).not.toBe(objectId(KEY, data));
    expect(objectId(KEY, text('some chunk of a filE'))).not.toBe(objectId(KEY, data));
    expect(objectId(KEY, new Uint8Array(0))).not.toBe(objectId(OTHER_KEY, new Uint8Array(0)));
  });

  it('is not a plain hash of the content', () => {
    expect(objectId(KEY, data)).not.toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('rejects a key that is not 32 bytes', () => {
    expect(() => objectId(new Uint8Array(0), data)).toThrow(RangeError);
  });
});

describe('seal / open', () => {
  it('round trips, with the documented layout and overhead', () => {
    expect(SEAL_OVERHEAD).toBe(29);
    for (const plaintext of [new Uint8Array(0), text('hello'), new Uint8Array(randomBytes(1024 * 1024))]) {
      const sealed = seal(KEY, plaintext, AAD);
      expect(sealed.length).toBe(plaintext.length + SEAL_OVERHEAD);
      expect(sealed[0]).toBe(1);
      const opened = open(KEY, sealed, AAD);
      expect(opened).toBeInstanceOf(Uint8Array);
      expect(Buffer.compare(opened, plaintext)).toBe(0);
    }
  });

  it('writes version || nonce || ciphertext || tag, readable by a plain AES-256-GCM decryption', () => {
    const plaintext = text('layout check');
    const sealed = seal(KEY, plaintext, AAD);
    const decipher = createDecipheriv('aes-256-gcm', KEY, sealed.subarray(1, 13));
    decipher.setAAD(AAD);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const out = Buffer.concat([decipher.update(sealed.subarray(13, sealed.length - 16)), decipher.final()]);
    expect(new Uint8Array(out)).toEqual(plaintext);
  });

  it('uses a fresh nonce: sealing the same plaintext twice gives different outputs', () => {
    const plaintext = text('same plaintext');
    const a = seal(KEY, plaintext, AAD);
    const b = seal(KEY, plaintext, AAD);
    expect(hex(a)).not.toBe(hex(b));
    expect(hex(a.subarray(1, 13))).not.toBe(hex(b.subarray(1, 13)));
    expect(open(KEY, a, AAD)).toEqual(open(KEY, b, AAD));
  });

  it('never hands out a nonce twice, across many refills of its pool of random bytes', () => {
    const nonces = new Set<string>();
    for (let i = 0; i < 2000; i++) nonces.add(hex(seal(KEY, text('x'), AAD).subarray(1, 13)));
    expect(nonces.size).toBe(2000);
  });

  it('seals into a shared buffer at an offset, the same object as a sealed copy, and refuses one too small', () => {
    const out = new Uint8Array(200).fill(0xee);
    const first = sealInto(KEY, [text('head'), text('er and body')], AAD, out, 7);
    const second = sealInto(KEY, text('second'), AAD, out, 7 + first);
    expect(first).toBe(15 + SEAL_OVERHEAD);
    expect(second).toBe(6 + SEAL_OVERHEAD);
    expect(out.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(7 + first + second).every((b) => b === 0xee)).toBe(true);
    expect(open(KEY, out.subarray(7, 7 + first), AAD)).toEqual(text('header and body'));
    expect(open(KEY, out.subarray(7 + first, 7 + first + second), AAD)).toEqual(text('second'));
    expect(() => sealInto(KEY, text('too long'), AAD, new Uint8Array(36), 0)).toThrow(RangeError);
    expect(() => sealInto(KEY, text('x'), AAD, new Uint8Array(64), 40)).toThrow(/30 bytes at offset 40/);
  });

  it('refuses a flipped byte at every position', () => {
    const sealed = seal(KEY, text('a small secret object'), AAD);
    for (let at = 0; at < sealed.length; at++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = new Uint8Array(sealed);
        tampered[at]! ^= mask;
        expect(refusal(() => open(KEY, tampered, AAD)).reason).toBe(at === 0 ? 'version' : 'authentication');
      }
    }
  });

  it('refuses every truncation, and an extended object', () => {
    const sealed = seal(KEY, text('a small secret object'), AAD);
    for (let length = 0; length < sealed.length; length++) {
      const error = refusal(() => open(KEY, sealed.subarray(0, length), AAD));
      expect(error.reason).toBe(length < SEAL_OVERHEAD ? 'truncated' : 'authentication');
    }
    const extended = new Uint8Array([...sealed, 0]);
    expect(refusal(() => open(KEY, extended, AAD)).reason).toBe('authentication');
  });

  it('refuses the wrong key', () => {
    const sealed = seal(KEY, text('secret'), AAD);
    expect(refusal(() => open(OTHER_KEY, sealed, AAD)).reason).toBe('authentication');
  });

  it('refuses the wrong aad, so swapped objects are detected', () => {
    const aadA = text('blob aaaa');
    const aadB = text('blob bbbb');
    const a = seal(KEY, text('content of a'), aadA);
    const b = seal(KEY, text('content of b'), aadB);
    expect(refusal(() => open(KEY, b, aadA)).reason).toBe('authentication');
    expect(refusal(() => open(KEY, a, aadB)).reason).toBe('authentication');
    expect(refusal(() => open(KEY, a, new Uint8Array(0))).reason).toBe('authentication');
    expect(refusal(() => open(KEY, seal(KEY, text('x'), new Uint8Array(0)), aadA)).reason).toBe(
      'authentication',
    );
  });

  it('gives clear errors without key material', () => {
    const sealed = seal(KEY, text('secret'), AAD);
    const errors = [
      refusal(() => open(OTHER_KEY, sealed, AAD)),
      refusal(() => open(KEY, sealed.subarray(0, 5), AAD)),
      refusal(() => open(KEY, new Uint8Array([9, ...sealed.subarray(1)]), AAD)),
    ];
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/failed authentication/),
      expect.stringMatching(/5 bytes, shorter than the 29-byte minimum/),
      expect.stringMatching(/unknown format version 9/),
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe('SealError');
      for (const key of [KEY, OTHER_KEY]) {
        const shown = `${error.message} ${error.stack} ${String(error.cause)}`;
        expect(shown).not.toContain(hex(key));
        expect(shown).not.toContain(Buffer.from(key).toString('base64'));
      }
    }
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => seal(new Uint8Array(16), text('x'), AAD)).toThrow(RangeError);
    expect(() => open(new Uint8Array(16), new Uint8Array(64), AAD)).toThrow(RangeError);
  });
});
