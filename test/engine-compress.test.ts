import { randomBytes } from 'node:crypto';
import { zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CompressError,
  looksIncompressible,
  MIN_COMPRESS_BYTES,
  pack,
  RAW,
  SAMPLE_FROM_BYTES,
  unpack,
  ZSTD,
} from '../src/engine/compress.ts';
import { mulberry32 } from './helpers/random.ts';

const MiB = 1024 * 1024;
const TEXT = new TextEncoder().encode('The quick brown fox jumps over the lazy dog. '.repeat(200));

/** Runs `fn` and returns the CompressError it throws (failing the test if it throws anything else or nothing). */
function refusal(fn: () => unknown): CompressError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CompressError);
    return error as CompressError;
  }
  throw new Error('expected a CompressError, but nothing was thrown');
}

/**
 * Seeded noise: random bytes reduced modulo `modulus`, so the low values are twice as likely as the others.
 * zstd stores uniform noise raw even over fewer than 256 values; this skew is what it can entropy-code.
 */
function noise(length: number, modulus: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  return new Uint8Array(length).map(() => Math.floor(random() * 256) % modulus);
}

/** Byte equality; vitest's toEqual walks large arrays element by element, far too slowly for MiBs. */
function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual.length).toBe(expected.length);
  expect(Buffer.compare(actual, expected)).toBe(0);
}

/** A packed frame holding a zstd frame (no content size, 128 KiB window) of RLE blocks, each 'a' repeated 128 KiB times. */
function rleFrame(blocks: number): Uint8Array {
  const out = Buffer.alloc(1 + 6 + blocks * 4);
  out[0] = ZSTD;
  out.writeUInt32LE(0xfd2fb528, 1); // zstd magic number
  out[6] = 7 << 3; // window log 10 + 7
  for (let i = 0; i < blocks; i++) {
    const last = i === blocks - 1 ? 1 : 0;
    out.writeUIntLE(((128 * 1024) << 3) | (1 << 1) | last, 7 + i * 4, 3); // size, type RLE, last-block bit
    out[7 + i * 4 + 3] = 0x61;
  }
  return out;
}

function frame(header: number, payload: Uint8Array): Uint8Array {
  return new Uint8Array([header, ...payload]);
}

describe('pack / unpack round trips', () => {
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['one byte', new Uint8Array([42])],
    ['small text', new TextEncoder().encode('hello, world')],
    ['63 zeros', new Uint8Array(63)],
    ['64 zeros', new Uint8Array(64)],
    ['text', TEXT],
    ['8 MiB random', new Uint8Array(randomBytes(8 * MiB))],
    ['8 MiB repetitive', new Uint8Array(8 * MiB).map((_, i) => i % 251)],
  ];
  for (const [name, data] of cases) {
    it(name, () => {
      const packed = pack(data);
      expectBytes(unpack(packed, data.length), data);
    });
  }

  it('round trips at other levels', () => {
    for (const level of [1, 9, 19]) {
      const packed = pack(TEXT, level);
      expect(packed[0]).toBe(ZSTD);
      expect(unpack(packed, TEXT.length)).toEqual(TEXT);
    }
  });

  it('returns a copy, not a view of its input', () => {
    const packed = pack(new Uint8Array([1, 2, 3]));
    const out = unpack(packed, 3);
    out[0] = 99;
    expect(packed[1]).toBe(1);
  });
});

describe('pack chooses the form', () => {
  it('stores random data raw', () => {
    const data = new Uint8Array(randomBytes(MiB));
    const packed = pack(data);
    expect(packed[0]).toBe(RAW);
    expect(packed.length).toBe(data.length + 1);
    expectBytes(packed.subarray(1), data);
  });

  it('compresses text', () => {
    const packed = pack(TEXT);
    expect(packed[0]).toBe(ZSTD);
    expect(packed.length).toBeLessThan(TEXT.length / 10);
  });

  it('compresses 8 MiB of repetitive data to a small fraction', () => {
    const data = new Uint8Array(8 * MiB).fill(7);
    const packed = pack(data);
    expect(packed[0]).toBe(ZSTD);
    expect(packed.length).toBeLessThan(MiB / 8);
  });

  it('stores inputs under the minimum size raw even when they compress', () => {
    const small = new Uint8Array(MIN_COMPRESS_BYTES - 1);
    expect(zstdCompressSync(small).length).toBeLessThan(small.length);
    expect(pack(small)[0]).toBe(RAW);
    expect(pack(new Uint8Array(MIN_COMPRESS_BYTES))[0]).toBe(ZSTD);
  });

  it('samples large inputs: random data skips compression, text and mixed data do not', () => {
    const random = new Uint8Array(randomBytes(2 * MiB));
    expect(looksIncompressible(random)).toBe(true);
    const text = new Uint8Array(2 * MiB);
    for (let at = 0; at < text.length; at += TEXT.length) text.set(TEXT.subarray(0, text.length - at), at);
    expect(looksIncompressible(text)).toBe(false);
    // Text where one slice of four is taken is enough to compress in full, and a quarter of text pays.
    const mixed = new Uint8Array(randomBytes(2 * MiB));
    mixed.set(text.subarray(0, 512 * 1024), mixed.length - 512 * 1024);
    expect(looksIncompressible(mixed)).toBe(false);
    expect(pack(mixed)[0]).toBe(ZSTD);
    expectBytes(unpack(pack(mixed), mixed.length), mixed);
    // Under the sampling size the sample is not taken: compression alone decides.
    expect(looksIncompressible(random.subarray(0, SAMPLE_FROM_BYTES - 1))).toBe(false);
  });

  it('does not sample away skewed noise that compresses by more than 1/32', () => {
    const more = noise(SAMPLE_FROM_BYTES, 200, 3);
    expect(looksIncompressible(more)).toBe(false);
    expect(pack(more)[0]).toBe(ZSTD);
  });

  it('stores raw when compression saves something but less than 1/32', () => {
    // Skewed noise: zstd's entropy coding saves about 2.3%, under the 1/32 (3.1%) threshold.
    const data = noise(64 * 1024, 232, 1);
    const saved = 1 - zstdCompressSync(data).length / data.length;
    expect(saved).toBeGreaterThan(0.01);
    expect(saved).toBeLessThan(1 / 32);
    expect(pack(data)[0]).toBe(RAW);

    // More skew: about 5.4% saved, over the threshold.
    const more = noise(64 * 1024, 200, 2);
    expect(pack(more)[0]).toBe(ZSTD);
    expectBytes(unpack(pack(more), more.length), more);
  });

  it('refuses levels zstd would silently clamp', () => {
    for (const level of [0, 23, 1.5, Number.NaN]) expect(() => pack(TEXT, level)).toThrow(RangeError);
  });
});

describe('unpack refuses bad frames', () => {
  it('refuses an empty input', () => {
    expect(refusal(() => unpack(new Uint8Array(0), 100)).reason).toBe('empty');
  });

  it('refuses unknown header bytes', () => {
    for (const header of [2, 3, 0x28, 255]) {
      const error = refusal(() => unpack(frame(header, TEXT), TEXT.length));
      expect(error.reason).toBe('header');
      expect(error.message).toContain(`header byte ${header}`);
    }
  });

  it('refuses a decompression bomb: a tiny frame that would exceed maxSize', () => {
    const bomb = frame(ZSTD, zstdCompressSync(new Uint8Array(64 * MiB)));
    expect(bomb.length).toBeLessThan(4096);
    const error = refusal(() => unpack(bomb, MiB));
    expect(error.reason).toBe('too-large');
    expect(error.message).toContain(String(MiB));
  });

  it('refuses a hand-made bomb: 32 KiB of RLE blocks declaring 1 GiB', () => {
    const bomb = rleFrame(8192);
    expect(bomb.length).toBeLessThan(33 * 1024);
    expect(refusal(() => unpack(bomb, 16 * MiB)).reason).toBe('too-large');
    // The same construction within the limit unpacks: the bomb is refused for its size, not as malformed.
    expectBytes(unpack(rleFrame(2), 256 * 1024), new Uint8Array(256 * 1024).fill(0x61));
  });

  it('enforces maxSize exactly, for both forms', () => {
    const zeros = new Uint8Array(MiB);
    const packed = pack(zeros);
    expect(packed[0]).toBe(ZSTD);
    expectBytes(unpack(packed, MiB), zeros);
    expect(refusal(() => unpack(packed, MiB - 1)).reason).toBe('too-large');

    const raw = pack(new Uint8Array([1, 2, 3]));
    expect(unpack(raw, 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(refusal(() => unpack(raw, 2)).reason).toBe('too-large');

    expect(unpack(pack(new Uint8Array(0)), 0)).toEqual(new Uint8Array(0));
    expect(refusal(() => unpack(pack(new Uint8Array(64)), 0)).reason).toBe('too-large');
    // zstd cannot be given a limit of 0, so this one-byte frame needs the check after decompression.
    const oneByte = frame(ZSTD, zstdCompressSync(new Uint8Array([5])));
    expect(unpack(oneByte, 1)).toEqual(new Uint8Array([5]));
    expect(refusal(() => unpack(oneByte, 0)).reason).toBe('too-large');
  });

  it('refuses a bad maxSize', () => {
    for (const maxSize of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => unpack(pack(TEXT), maxSize)).toThrow(RangeError);
    }
  });

  it('refuses garbage and empty zstd payloads', () => {
    expect(refusal(() => unpack(frame(ZSTD, new Uint8Array(0)), 100)).reason).toBe('corrupt');
    expect(refusal(() => unpack(frame(ZSTD, new Uint8Array(randomBytes(100))), 1000)).reason).toBe('corrupt');
  });

  it('refuses every truncation of a zstd frame', () => {
    const packed = pack(TEXT);
    for (let length = 2; length < packed.length; length++) {
      const error = refusal(() => unpack(packed.subarray(0, length), TEXT.length));
      expect(error.reason).toBe('corrupt');
    }
  });

  it('refuses a flipped byte anywhere in a zstd frame', () => {
    const packed = pack(TEXT);
    expect(packed[0]).toBe(ZSTD);
    for (let at = 1; at < packed.length; at++) {
      for (const mask of [0x01, 0x80]) {
        const tampered = new Uint8Array(packed);
        tampered[at]! ^= mask;
        const error = refusal(() => unpack(tampered, TEXT.length));
        expect(['corrupt', 'too-large']).toContain(error.reason);
      }
    }
  });
});
