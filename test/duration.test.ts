import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN, formatDuration, parseDuration } from '../src/policy/duration.ts';
import { mulberry32 } from './helpers/random.ts';

const VALID: [string, number][] = [
  ['30s', 30],
  ['15m', 900],
  ['6h', 21_600],
  ['35d', 3_024_000],
  ['2w', 1_209_600],
  ['7y', 220_752_000],
  ['1h30m', 5_400],
  ['1d12h', 129_600],
  ['1y2w3d4h5m6s', 31_536_000 + 1_209_600 + 259_200 + 14_400 + 300 + 6],
  ['0h30m', 1_800],
  ['90m', 5_400],
  ['007d', 604_800],
  ['1s', 1],
];

const INVALID = [
  '',
  '0d',
  '0s',
  '0h0m',
  '00y0s',
  '1',
  'd',
  '1.5h',
  '-1h',
  '+1h',
  '1 h',
  ' 1h',
  '1h ',
  '1h 30m',
  '1H',
  '1D',
  '30m1h',
  '1h1h',
  '1d1w',
  '1ms',
  '1x',
  '1h30',
  '1e3s',
  '0x10s',
  '١s',
  '99999999999y',
];

describe('parseDuration', () => {
  it.each(VALID)('parses %s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(INVALID)('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe('DURATION_PATTERN', () => {
  // Ajv compiles JSON Schema patterns with the u flag.
  const pattern = new RegExp(DURATION_PATTERN, 'u');

  it('is anchored', () => {
    expect(DURATION_PATTERN.startsWith('^')).toBe(true);
    expect(DURATION_PATTERN.endsWith('$')).toBe(true);
  });

  it.each(VALID)('accepts %s', (text) => {
    expect(pattern.test(text)).toBe(true);
  });

  // The pattern cannot express the upper bound on the total.
  it.each(INVALID.filter((text) => text !== '99999999999y'))('rejects %j', (text) => {
    expect(pattern.test(text)).toBe(false);
  });

  it('agrees with parseDuration on random strings', () => {
    const random = mulberry32(20_240_229);
    const alphabet = '0123456789ywdhms ';
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      let text = '';
      const length = Math.floor(random() * 7);
      for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
      const parsed = parseDuration(text) !== undefined;
      if (parsed) accepted++;
      expect(pattern.test(text), text).toBe(parsed);
    }
    // Make sure the comparison covered both outcomes.
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [1, '1s'],
    [59, '59s'],
    [60, '1m'],
    [3_600, '1h'],
    [5_400, '1h30m'],
    [86_400, '1d'],
    [90_000, '1d1h'],
    [604_800, '7d'],
    [2_592_000, '30d'],
    [7_776_000, '90d'],
    [691_200, '8d'],
    [31_536_000, '1y'],
    [31_622_400, '1y1d'],
    [31_536_000 + 604_800 + 86_400 + 3_600 + 60 + 1, '1y8d1h1m1s'],
  ])('formats %i as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('throws for %d', (seconds) => {
    expect(() => formatDuration(seconds)).toThrow(RangeError);
  });

  it('round-trips through parseDuration', () => {
    const random = mulberry32(7);
    const samples = [1, 59, 61, 3_599, 86_399, 86_401, 604_799, 31_535_999, Number.MAX_SAFE_INTEGER];
    for (let i = 0; i < 2_000; i++)
      samples.push(1 + Math.floor(random() * 10 ** (1 + Math.floor(random() * 10))));
    for (const seconds of samples) {
      expect(parseDuration(formatDuration(seconds)), String(seconds)).toBe(seconds);
    }
  });
});
