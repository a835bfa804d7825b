import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Chunker, type ChunkSizes, DEFAULT_CHUNK_SIZES, gearTable } from '../src/engine/chunker.ts';
import { mulberry32 } from './helpers/random.ts';

const SMALL: ChunkSizes = { min: 2 * 1024, avg: 8 * 1024, max: 64 * 1024 };
const KEY = new Uint8Array(32).fill(7);

/** Deterministic pseudo-random bytes. */
function bytes(length: number, seed: number): Uint8Array {
  const random = mulberry32(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function chunk(data: Uint8Array, sizes = SMALL, key = KEY, splits: number[] = []): Uint8Array[] {
  const chunker = new Chunker(gearTable(key), sizes);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const split of [...splits, data.length]) {
    out.push(...chunker.push(data.subarray(at, split)));
    at = split;
  }
  const last = chunker.finish();
  if (last) out.push(last);
  return out;
}

const lengths = (chunks: Uint8Array[]) => chunks.map((c) => c.length);
const hex = (c: Uint8Array) => Buffer.from(c).toString('hex');

describe('content-defined chunking', () => {
  const data = bytes(2 * 1024 * 1024, 1);

  it('chunks concatenate back to the input', () => {
    expect(Buffer.concat(chunk(data)).equals(Buffer.from(data))).toBe(true);
  });

  it('keeps every chunk but the last within min and max, averaging near avg', () => {
    const chunks = chunk(data);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(SMALL.min);
      expect(c.length).toBeLessThanOrEqual(SMALL.max);
    }
    const mean = data.length / chunks.length;
    expect(mean).toBeGreaterThan(SMALL.avg * 0.6);
    expect(mean).toBeLessThan(SMALL.avg * 1.6);
  });

  it('finds the same boundaries however the stream is split', () => {
    const whole = lengths(chunk(data));
    const random = mulberry32(99);
    for (let trial = 0; trial < 20; trial++) {
      const splits = Array.from({ length: 1 + Math.floor(random() * 50) }, () =>
        Math.floor(random() * data.length),
      ).sort((a, b) => a - b);
      expect(lengths(chunk(data, SMALL, KEY, splits))).toEqual(whole);
    }
  });

  it('an insertion in the middle changes only the chunks around it', () => {
    const edited = new Uint8Array(data.length + 100);
    const middle = data.length / 2;
    edited.set(data.subarray(0, middle));
    edited.set(bytes(100, 2), middle);
    edited.set(data.subarray(middle), middle + 100);
    const before = new Set(chunk(data).map(hex));
    const after = chunk(edited).map(hex);
    const changed = after.filter((c) => !before.has(c));
    expect(after.length).toBeGreaterThan(100);
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('keeps the boundaries of earlier versions, so new backups deduplicate against old ones', () => {
    // Boundaries the first release's chunker found: a faster chunker must find the same ones.
    expect(lengths(chunk(bytes(256 * 1024, 9)))).toEqual([
      8647, 3211, 2963, 6611, 11817, 5574, 11448, 4998, 9705, 9188, 8346, 8599, 13000, 11291, 11660, 2772,
      10767, 8384, 8405, 12409, 8616, 7951, 10013, 10026, 8663, 11261, 2303, 15236, 8388, 3716, 6176,
    ]);
  });

  it('boundaries depend on the key', () => {
    expect(lengths(chunk(data, SMALL, new Uint8Array(32).fill(8)))).not.toEqual(lengths(chunk(data)));
  });

  it('cuts data without any boundary at max, and returns nothing for no input', () => {
    const zeros = new Uint8Array(SMALL.max * 3 + 10);
    const chunks = chunk(zeros);
    expect(
      lengths(chunks)
        .slice(0, 3)
        .every((l) => l <= SMALL.max),
    ).toBe(true);
    expect(Buffer.concat(chunks).length).toBe(zeros.length);
    expect(chunk(new Uint8Array(0))).toEqual([]);
  });

  it('knows when a whole input is one chunk whatever it holds: up to the minimum size, from a fresh start', () => {
    const chunker = new Chunker(gearTable(KEY), SMALL);
    for (const length of [1, 100, SMALL.min - 1, SMALL.min]) {
      expect(chunker.isWhole(length)).toBe(true);
      for (const seed of [1, 2, 3]) expect(chunk(bytes(length, seed))).toHaveLength(1);
    }
    expect(chunker.isWhole(SMALL.min + 1)).toBe(false);
    chunker.push(bytes(10, 4));
    expect(chunker.isWhole(10)).toBe(false);
    chunker.finish();
    expect(chunker.isWhole(10)).toBe(true);
  });

  it('default sizes produce megabyte chunks', () => {
    const big = randomBytes(24 * 1024 * 1024);
    const chunks = chunk(big, DEFAULT_CHUNK_SIZES, randomBytes(32));
    const mean = big.length / chunks.length;
    expect(mean).toBeGreaterThan(DEFAULT_CHUNK_SIZES.avg * 0.5);
    expect(mean).toBeLessThan(DEFAULT_CHUNK_SIZES.avg * 2);
  });

  it('refuses sizes that cannot work', () => {
    expect(() => new Chunker(gearTable(KEY), { min: 16, avg: 64, max: 128 })).toThrow(RangeError);
    expect(() => new Chunker(gearTable(KEY), { min: 1024, avg: 3000, max: 8192 })).toThrow(/power of two/);
  });
});
