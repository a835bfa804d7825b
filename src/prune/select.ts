/**
 * Retention selection: which snapshots a policy's retention keeps and which it removes, and why.
 *
 * A pure function over snapshot times: no storage, no clock (the caller passes `now`). The semantics are
 * restic's `forget` where restic is well-defined, plus a minimum age (nothing younger is removed) and a
 * maximum age (disposal: anything older is removed, whatever the keep rules say). docs/retention.md has
 * worked examples; docs/decisions/0017-retention-selection.md the choices and their reasons.
 *
 * - `last N` keeps the newest N snapshots.
 * - `hourly|daily|weekly|monthly|yearly N` keeps the newest snapshot of each of the N most recent periods
 *   (local wall-clock hours, days, ISO weeks, months, years; UTC unless `timezone`) that contain one.
 * - `within D` keeps every snapshot younger than D, measured back from the newest authentic snapshot, or
 *   from `now` if that snapshot is dated in the future.
 * - `minimum M` keeps every snapshot younger than M (measured from `now`); `maximum X` removes every
 *   snapshot older than X (from `now`), and wins over every keep rule. M > X is an error.
 * - No keep rule at all keeps everything (Restorable never deletes by default); `maximum` still disposes.
 * - Only authentic snapshots (whose metadata authenticates with the repository key) count: for keep rules,
 *   for "newest", for `within`'s reference. The others are never removed and never occupy a keep slot.
 * - Snapshots at the same instant are ordered by id: of two, the one with the greater id is the newer.
 */

import { formatDuration, parseDuration } from '../policy/duration.ts';
import type { SystemData } from '../policy/model.ts';
import { PERIODS, type Period, periodLabel } from './buckets.ts';
import { assertTimeZone, type LocalFields, localFields } from './timezone.ts';

/** The policy's `retention`, as written in YAML (durations as text, e.g. `35d`). */
export type RetentionPolicy = NonNullable<SystemData['retention']>;

/** What selection needs to know of a snapshot. `time` is a Date or ISO 8601 text with `Z` or an offset. */
export interface SnapshotCandidate {
  id: string;
  time: Date | string;
  /** True when the snapshot's metadata authenticated with the repository key. */
  authentic: boolean;
}

export type KeepRule = 'last' | Period | 'within';

/** One keep rule that selected a snapshot. */
export interface KeepMatch {
  rule: KeepRule;
  /** hourly … yearly: the bucket's label in the policy's zone (`2026-11-24 13:00`, `2026-W48`, `2026`). */
  period?: string;
  /** last, hourly … yearly: 1 for the newest snapshot or most recent period, up to the rule's count. */
  rank?: number;
}

export interface SnapshotDecision {
  id: string;
  /** The snapshot's time, ISO 8601 UTC with milliseconds. */
  time: string;
  decision: 'keep' | 'remove';
  /** Human-readable: the rules that kept it, or why it goes. Never empty. */
  reasons: string[];
  /** Keep rules that selected it. For a disposal: the rules that `maximum` overrode. */
  keptBy: KeepMatch[];
  /** Younger than `minimum`: kept whatever the keep rules say. */
  protected: boolean;
  /** Removed because it is older than `maximum` (a disposal, SOC 2 C1.2). */
  disposal: boolean;
  /** False for a snapshot whose metadata did not authenticate: always `keep`, left for `repo verify`. */
  authentic: boolean;
}

/** The retention with durations in seconds, checked. */
export interface RetentionRules {
  keep: Partial<Record<'last' | Period, number>> & { within?: number };
  minimum?: number;
  maximum?: number;
  timezone?: string;
}

export class RetentionError extends Error {
  override name = 'RetentionError';
}

export const REASON_NOT_AUTHENTIC = 'not authenticated: left for repo verify';
export const REASON_NOT_SELECTED = 'not selected by any keep rule';
export const REASON_NO_KEEP_RULES = 'no keep rules: everything is kept';

const COUNT_RULES = ['last', ...PERIODS] as const;
const RETENTION_KEYS = new Set(['keep', 'minimum', 'maximum', 'timezone']);
const KEEP_KEYS = new Set<string>([...COUNT_RULES, 'within']);

function duration(text: unknown, where: string): number {
  const seconds = typeof text === 'string' ? parseDuration(text) : undefined;
  if (seconds === undefined) {
    throw new RetentionError(`${where} is ${JSON.stringify(text)}: write a duration such as 35d, 12h or 7y`);
  }
  return seconds;
}

/**
 * Checks a policy's retention and converts its durations to seconds. Throws a RetentionError naming the
 * field for anything selection could not honour: an unknown rule (a typo must not silently keep less), a
 * count that is not a whole number from 1, a malformed duration, an unknown time zone, or a minimum longer
 * than the maximum.
 */
export function parseRetention(policy: RetentionPolicy | undefined): RetentionRules {
  const rules: RetentionRules = { keep: {} };
  if (policy === undefined) return rules;
  for (const key of Object.keys(policy)) {
    if (!RETENTION_KEYS.has(key)) throw new RetentionError(`retention.${key} is not a retention setting`);
  }
  for (const [key, value] of Object.entries(policy.keep ?? {})) {
    if (!KEEP_KEYS.has(key)) {
      throw new RetentionError(
        `retention.keep.${key} is not a keep rule (expected ${[...KEEP_KEYS].join(', ')})`,
      );
    }
    if (value === undefined) continue;
    if (key === 'within') {
      rules.keep.within = duration(value, 'retention.keep.within');
    } else if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) {
      rules.keep[key as 'last' | Period] = value;
    } else {
      throw new RetentionError(
        `retention.keep.${key} is ${JSON.stringify(value)}: write a whole number from 1`,
      );
    }
  }
  if (policy.minimum !== undefined) rules.minimum = duration(policy.minimum, 'retention.minimum');
  if (policy.maximum !== undefined) rules.maximum = duration(policy.maximum, 'retention.maximum');
  if (rules.minimum !== undefined && rules.maximum !== undefined && rules.minimum > rules.maximum) {
    throw new RetentionError(
      `retention.minimum (${formatDuration(rules.minimum)}) is longer than retention.maximum ` +
        `(${formatDuration(rules.maximum)}): no snapshot can be both kept that long and disposed of that early; ` +
        'make the maximum at least the minimum (control RB-RET-003)',
    );
  }
  if (policy.timezone !== undefined) {
    if (typeof policy.timezone !== 'string') throw new RetentionError('retention.timezone must be text');
    try {
      assertTimeZone(policy.timezone);
    } catch (error) {
      throw new RetentionError(`retention.timezone: ${(error as Error).message}`);
    }
    rules.timezone = policy.timezone;
  }
  return rules;
}

/** True when at least one keep rule is set; without one, selection keeps everything. */
export function hasKeepRules(rules: RetentionRules): boolean {
  return Object.values(rules.keep).some((value) => value !== undefined);
}

/** The text of a keep match, as `reasons` shows it: `last 1/3`, `daily 2026-11-24`, `within 35d`. */
export function describeMatch(match: KeepMatch, rules: RetentionRules): string {
  if (match.rule === 'last') return `last ${match.rank}/${rules.keep.last}`;
  if (match.rule === 'within') return `within ${formatDuration(rules.keep.within ?? 0)}`;
  return `${match.rule} ${match.period}`;
}

const ZONED_TIME = /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const LATEST_DATE_MS = 8.64e15;

function instant(snapshot: SnapshotCandidate): number {
  const { time } = snapshot;
  let ms = Number.NaN;
  if (time instanceof Date) ms = time.getTime();
  else if (typeof time === 'string' && ZONED_TIME.test(time)) ms = Date.parse(time);
  // A day's margin at both ends of Date's range, so that shifting into a zone stays a valid Date.
  if (!Number.isFinite(ms) || Math.abs(ms) > LATEST_DATE_MS - 86_400_000) {
    throw new RetentionError(
      `snapshot ${snapshot.id} has time ${JSON.stringify(time)}: expected a Date or ISO 8601 text with Z or an offset`,
    );
  }
  return ms;
}

interface Item {
  id: string;
  ms: number;
  authentic: boolean;
  fields?: LocalFields;
}

/** Newest first; at the same instant, the greater id first (plain code-unit order, locale-free). */
function newestFirst(a: Item, b: Item): number {
  return b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/**
 * One decision per snapshot, newest first. Throws a RetentionError for a retention it cannot honour (see
 * parseRetention), a snapshot without a valid time, two snapshots with the same id, or an invalid `now`.
 */
export function selectSnapshots(
  snapshots: readonly SnapshotCandidate[],
  policy: RetentionPolicy | undefined,
  now: Date,
): SnapshotDecision[] {
  const rules = parseRetention(policy);
  const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (!Number.isFinite(nowMs)) throw new RetentionError('selection needs a valid date for now');

  const ids = new Set<string>();
  const items: Item[] = snapshots.map((snapshot) => {
    if (typeof snapshot.id !== 'string' || snapshot.id === '') {
      throw new RetentionError(`a snapshot has no id (${JSON.stringify(snapshot.id)})`);
    }
    if (ids.has(snapshot.id)) throw new RetentionError(`snapshot ${snapshot.id} is listed twice`);
    ids.add(snapshot.id);
    return { id: snapshot.id, ms: instant(snapshot), authentic: snapshot.authentic === true };
  });
  items.sort(newestFirst);
  const authentic = items.filter((item) => item.authentic);

  const matches = new Map<string, KeepMatch[]>();
  const match = (item: Item, keep: KeepMatch) => {
    const list = matches.get(item.id);
    if (list === undefined) matches.set(item.id, [keep]);
    else list.push(keep);
  };

  const { keep } = rules;
  if (keep.last !== undefined) {
    authentic.slice(0, keep.last).forEach((item, index) => {
      match(item, { rule: 'last', rank: index + 1 });
    });
  }
  for (const period of PERIODS) {
    const count = keep[period];
    if (count === undefined) continue;
    // Newest first, the first snapshot seen with a label is the newest of its period, and periods are
    // met in the order of their newest snapshots. Past the count-th period nothing more can be kept.
    const seen = new Set<string>();
    for (const item of authentic) {
      item.fields ??= localFields(item.ms, rules.timezone);
      const label = periodLabel(item.fields, period);
      if (seen.has(label)) continue;
      seen.add(label);
      if (seen.size > count) break;
      match(item, { rule: period, period: label, rank: seen.size });
    }
  }
  if (keep.within !== undefined && authentic.length > 0) {
    const reference = Math.min(nowMs, authentic[0]!.ms);
    for (const item of authentic) {
      if (reference - item.ms >= keep.within * 1000) break;
      match(item, { rule: 'within' });
    }
  }

  const keepRules = hasKeepRules(rules);
  const minimumMs = rules.minimum === undefined ? undefined : rules.minimum * 1000;
  const maximumMs = rules.maximum === undefined ? undefined : rules.maximum * 1000;
  return items.map((item): SnapshotDecision => {
    const time = new Date(item.ms).toISOString();
    if (!item.authentic) {
      return {
        id: item.id,
        time,
        decision: 'keep',
        reasons: [REASON_NOT_AUTHENTIC],
        keptBy: [],
        protected: false,
        disposal: false,
        authentic: false,
      };
    }
    const age = nowMs - item.ms;
    const keptBy = matches.get(item.id) ?? [];
    const described = keptBy.map((m) => describeMatch(m, rules));
    const isProtected = minimumMs !== undefined && age < minimumMs;
    const disposal = maximumMs !== undefined && age > maximumMs;
    const decision = (d: 'keep' | 'remove', reasons: string[]): SnapshotDecision => ({
      id: item.id,
      time,
      decision: d,
      reasons,
      keptBy,
      protected: isProtected,
      disposal,
      authentic: true,
    });
    if (disposal) {
      return decision('remove', [
        `past maximum ${formatDuration(rules.maximum!)} (disposal)`,
        ...described.map((text) => `overrides ${text}`),
      ]);
    }
    const protection = isProtected ? [`minimum age ${formatDuration(rules.minimum!)} (protected)`] : [];
    if (!keepRules) return decision('keep', [REASON_NO_KEEP_RULES, ...protection]);
    if (described.length > 0 || isProtected) return decision('keep', [...described, ...protection]);
    return decision('remove', [REASON_NOT_SELECTED]);
  });
}
