import { describe, expect, it } from 'vitest';
import { checkSeed, DEFAULT_WINDOW_SECONDS, newSeed, selectSnapshot } from '../src/drill/select.ts';
import { fillPlaceholders } from '../src/drill/steps.ts';
import type { SnapshotRef } from '../src/engine/snapshot.ts';

const NOW = new Date('2026-11-26T12:00:00Z');
const DAY = 86_400_000;

function ref(id: string, daysAgo: number): SnapshotRef {
  return {
    id,
    snapshot: { time: new Date(NOW.getTime() - daysAgo * DAY).toISOString() } as SnapshotRef['snapshot'],
  };
}

// Ids are distinct hex strings; days ago from 0 to 59.
const SIXTY = Array.from({ length: 60 }, (_, i) => ref(i.toString(16).padStart(64, 'a'), 59 - i));

describe('drill selection', () => {
  it('latest takes the newest, in whatever order the snapshots come', () => {
    const shuffled = [SIXTY[10]!, SIXTY[59]!, SIXTY[0]!, SIXTY[30]!];
    const chosen = selectSnapshot(shuffled, { algorithm: 'latest' }, NOW, newSeed(), 'db');
    expect(chosen.chosen.id).toBe(SIXTY[59]!.id);
    expect(chosen.candidates).toBe(4);
  });

  it('random-within draws only inside the window, and the seed repeats the draw', () => {
    const spec = { algorithm: 'random-within' as const, windowSeconds: 7 * 86_400 };
    const inside = new Set(SIXTY.slice(52).map((r) => r.id)); // 0 to 7 days old
    const drawn = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const seed = newSeed();
      const first = selectSnapshot(SIXTY, spec, NOW, seed, 'db');
      const again = selectSnapshot([...SIXTY].reverse(), spec, NOW, seed, 'db');
      expect(again.chosen.id).toBe(first.chosen.id);
      expect(first.candidates).toBe(8);
      expect(first.seed).toBe(seed);
      expect(inside.has(first.chosen.id)).toBe(true);
      drawn.set(first.chosen.id, (drawn.get(first.chosen.id) ?? 0) + 1);
    }
    // Every candidate is drawn, none overwhelmingly (expected 50 each of 400).
    expect(drawn.size).toBe(8);
    for (const times of drawn.values()) expect(times).toBeGreaterThan(15);
  });

  it('the draw is a documented function of the seed and the candidates', () => {
    const spec = { algorithm: 'random-within' as const, windowSeconds: 7 * 86_400 };
    const a = selectSnapshot(SIXTY, spec, NOW, '0000000000000000', 'db');
    const b = selectSnapshot(SIXTY, spec, NOW, '0000000000000001', 'db');
    const c = selectSnapshot(SIXTY, spec, NOW, 'ffffffffffffffff', 'db');
    // At least two of three seeds differ in their draw among 8 (all equal has probability 1/64).
    expect(new Set([a.chosen.id, b.chosen.id, c.chosen.id]).size).toBeGreaterThan(1);
    expect(selectSnapshot(SIXTY, spec, NOW, '0000000000000000', 'db').chosen.id).toBe(a.chosen.id);
  });

  it('random-within defaults to a 30-day window', () => {
    const chosen = selectSnapshot(SIXTY, { algorithm: 'random-within' }, NOW, newSeed(), 'db');
    expect(chosen.windowSeconds).toBe(DEFAULT_WINDOW_SECONDS);
    expect(chosen.candidates).toBe(31);
  });

  it('an empty window and an empty repository are failures that say what is there', () => {
    const old = [ref('b'.repeat(64), 40), ref('c'.repeat(64), 35)];
    expect(() =>
      selectSnapshot(old, { algorithm: 'random-within', windowSeconds: 7 * 86_400 }, NOW, newSeed(), 'db'),
    ).toThrow(
      /no snapshot of db was taken within the drill's window of 7d: the newest, cccccccc, is from 2026-10-22T12:00:00.000Z/,
    );
    expect(() => selectSnapshot([], { algorithm: 'latest' }, NOW, newSeed(), 'db')).toThrow(
      'no snapshot of db in the repository: there is nothing to drill',
    );
  });

  it('seeds are 16 hex digits', () => {
    expect(newSeed()).toMatch(/^[0-9a-f]{16}$/);
    expect(checkSeed('0123456789abcdef')).toBe('0123456789abcdef');
    expect(() => checkSeed('xyz')).toThrow('a drill seed is 16 hex digits, not "xyz"');
  });
});

describe('verify step placeholders', () => {
  const values = {
    'restore.path': '/tmp/drill $HOME',
    'drill.id': '0a1b2c3d',
    'snapshot.id': 'f'.repeat(64),
  };

  it('fills the known ones and escapes `$` for the variable expansion that follows', () => {
    expect(fillPlaceholders('{restore.path}/db.dump', values)).toBe('/tmp/drill $$HOME/db.dump');
    expect(fillPlaceholders('drill_{drill.id}', values)).toBe('drill_0a1b2c3d');
    expect(fillPlaceholders('{snapshot.id}{snapshot.id}', values)).toBe('f'.repeat(128));
  });

  it('leaves other braces alone (SQL, JSON, shell)', () => {
    expect(fillPlaceholders("select '{1,2}'::int[]", values)).toBe("select '{1,2}'::int[]");
    expect(fillPlaceholders('{"a": 1}', values)).toBe('{"a": 1}');
    expect(fillPlaceholders('$HOME', values)).toBe('$HOME');
    // Known but without a value in this drill (no single file): left as written.
    expect(fillPlaceholders('{restore.file}', values)).toBe('{restore.file}');
  });
});
