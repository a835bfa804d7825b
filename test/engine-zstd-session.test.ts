import { randomBytes } from 'node:crypto';
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { outputRoom, ZstdSession } from '../src/engine/zstd-session.ts';

const PARAMS = { [constants.ZSTD_c_compressionLevel]: 3, [constants.ZSTD_c_checksumFlag]: 1 };
const TEXT = new TextEncoder().encode('insert into orders values (42, 7, 1999.50);\n'.repeat(60_000));

/** Text, random and mixed inputs from 64 bytes to 2.6 MiB, in an order that grows and shrinks. */
function inputs(): Uint8Array[] {
  const mixed = new Uint8Array(300_000);
  mixed.set(randomBytes(150_000));
  mixed.set(TEXT.subarray(0, 150_000), 150_000);
  return [
    TEXT.subarray(0, 64),
    TEXT.subarray(3, 5000),
    new Uint8Array(randomBytes(4096)),
    TEXT,
    TEXT.subarray(10, 700),
    mixed,
    new Uint8Array(randomBytes(2 * 1024 * 1024)),
    TEXT.subarray(0, 200_000),
  ];
}

function oneShot(data: Uint8Array): Uint8Array {
  return zstdCompressSync(data, { params: PARAMS, chunkSize: outputRoom(data.length) });
}

describe('ZstdSession', () => {
  it('reuses one context on this Node: a Node whose zstd engine changed shape fails here, not only slower', () => {
    const session = new ZstdSession(PARAMS);
    expect(session.reusesContext).toBe(true);
    session.compress(TEXT.subarray(0, 1000));
    expect(session.reusesContext).toBe(true);
  });

  it('makes, call after call, the same independent frames as zstdCompressSync', () => {
    const session = new ZstdSession(PARAMS);
    for (const data of [...inputs(), ...inputs()]) {
      const frame = new Uint8Array(session.compress(data));
      expect(Buffer.from(frame).equals(Buffer.from(oneShot(data)))).toBe(true);
      expect(Buffer.from(zstdDecompressSync(frame)).equals(Buffer.from(data))).toBe(true);
    }
    expect(session.reusesContext).toBe(true);
  });

  it('gives each output its own bytes until the next call, including outputs above the kept scratch size', () => {
    const session = new ZstdSession(PARAMS);
    const large = new Uint8Array(randomBytes(3 * 1024 * 1024));
    const first = session.compress(large);
    const copy = new Uint8Array(first);
    const second = session.compress(TEXT.subarray(0, 2000));
    expect(Buffer.from(first).equals(Buffer.from(copy))).toBe(true);
    expect(Buffer.from(zstdDecompressSync(second)).equals(Buffer.from(TEXT.subarray(0, 2000)))).toBe(true);
  });

  it('leaves headroom before the frame for a header of the caller, with and without the kept context', () => {
    for (const native of [true, false]) {
      const session = new ZstdSession(PARAMS, { native });
      for (const data of inputs()) {
        const framed = session.compress(data, 1);
        expect(Buffer.from(framed.subarray(1)).equals(Buffer.from(oneShot(data)))).toBe(true);
      }
    }
  });

  it('falls back to zstdCompressSync, with the same frames, where the context is not reused', () => {
    const session = new ZstdSession(PARAMS, { native: false });
    expect(session.reusesContext).toBe(false);
    for (const data of inputs()) {
      expect(Buffer.from(session.compress(data)).equals(Buffer.from(oneShot(data)))).toBe(true);
    }
  });

  it('keeps its own parameters: the checksum catches a flipped byte, and level 1 makes level 1 frames', () => {
    const session = new ZstdSession(PARAMS);
    const frame = new Uint8Array(session.compress(TEXT));
    frame[frame.length - 2]! ^= 0xff;
    expect(() => zstdDecompressSync(frame)).toThrow(/checksum/i);
    const fastParams = { [constants.ZSTD_c_compressionLevel]: 1 };
    const fast = new ZstdSession(fastParams);
    const data = TEXT.subarray(0, 100_000);
    const atOne = Buffer.from(fast.compress(data));
    expect(atOne.equals(Buffer.from(zstdCompressSync(data, { params: fastParams })))).toBe(true);
    expect(atOne.equals(Buffer.from(oneShot(data)))).toBe(false);
  });
});
