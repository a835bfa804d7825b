import { createHash, randomBytes } from 'node:crypto';
import type { SnapshotRef } from '../engine/snapshot.ts';
import { formatDuration } from '../policy/duration.ts';

/**
 * Which snapshot a drill restores. `latest` takes the newest; `random-within` draws one of the snapshots
 * taken within the window before the drill, from a seed that the drill records, so anyone holding the seed
 * and the repository's snapshot list can repeat the draw (docs/drills.md, "Selection").
 */

export interface SelectionSpec {
  algorithm: 'latest' | 'random-within';
  /** For random-within: seconds before `now`. */
  windowSeconds?: number;
}

export interface Selection {
  algorithm: SelectionSpec['algorithm'];
  windowSeconds?: number;
  /** 16 hex digits; the draw is a function of it and the candidates. */
  seed: string;
  /** How many snapshots the draw chose among. */
  candidates: number;
  chosen: SnapshotRef;
}

export const DEFAULT_WINDOW_SECONDS = 30 * 86_400;

export function newSeed(): string {
  return randomBytes(8).toString('hex');
}

export function checkSeed(seed: string): string {
  if (!/^[0-9a-f]{16}$/.test(seed)) throw new Error(`a drill seed is 16 hex digits, not "${seed}"`);
  return seed;
}

/**
 * Chooses from `refs` (one system's snapshots, any order). The candidates are sorted by time then id; the
 * draw takes the first 6 bytes of SHA-256(seed, newline, the candidates' ids one per line) as a number,
 * modulo their count.
 */
export function selectSnapshot(
  refs: readonly SnapshotRef[],
  spec: SelectionSpec,
  now: Date,
  seed: string,
  system: string,
): Selection {
  const sorted = [...refs].sort(
    (a, b) => Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time) || a.id.localeCompare(b.id),
  );
  const newest = sorted.at(-1);
  if (!newest) throw new Error(`no snapshot of ${system} in the repository: there is nothing to drill`);
  if (spec.algorithm === 'latest') {
    return { algorithm: 'latest', seed, candidates: sorted.length, chosen: newest };
  }
  const windowSeconds = spec.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const from = now.getTime() - windowSeconds * 1000;
  const candidates = sorted.filter((ref) => Date.parse(ref.snapshot.time) >= from);
  if (candidates.length === 0) {
    throw new Error(
      `no snapshot of ${system} was taken within the drill's window of ${formatDuration(windowSeconds)}: the newest, ${newest.id.slice(0, 8)}, is from ${newest.snapshot.time}`,
    );
  }
  const digest = createHash('sha256')
    .update(`${seed}\n${candidates.map((ref) => ref.id).join('\n')}`)
    .digest();
  const draw = digest.readUIntBE(0, 6) % candidates.length;
  return {
    algorithm: 'random-within',
    windowSeconds,
    seed,
    candidates: candidates.length,
    chosen: candidates[draw]!,
  };
}
