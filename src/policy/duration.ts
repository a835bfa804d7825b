/**
 * Durations as policies write them: `30s`, `15m`, `6h`, `35d`, `2w`, `7y`, or compounds such as
 * `1h30m` and `1d12h`. Whole numbers only, units largest first, each unit at most once.
 */

const DAY = 86_400;

/** Units largest first, in seconds. A year is 365 days and a week 7 days, so they are exact. */
const UNITS: readonly (readonly [unit: string, seconds: number])[] = [
  ['y', 365 * DAY],
  ['w', 7 * DAY],
  ['d', DAY],
  ['h', 3_600],
  ['m', 60],
  ['s', 1],
];

const UNIT_GROUPS = UNITS.map(([unit]) => `(?:([0-9]+)${unit})?`).join('');

/**
 * A regular expression source for JSON Schema `pattern`, accepting what parseDuration accepts.
 * The lookahead demands a non-zero digit somewhere, which rejects the empty string and `0d`.
 * The only thing it cannot express is the upper bound: totals beyond Number.MAX_SAFE_INTEGER seconds.
 */
export const DURATION_PATTERN = `^(?=.*[1-9])${UNIT_GROUPS.replaceAll('([0-9]+)', '[0-9]+')}$`;

const DURATION_REGEX = new RegExp(`^${UNIT_GROUPS}$`);

/** Seconds in a duration such as `6h` or `1d12h`, or undefined when it is malformed or zero. */
export function parseDuration(text: string): number | undefined {
  let seconds = durations.get(text);
  if (seconds === undefined && !durations.has(text)) {
    seconds = parseDurationText(text);
    if (durations.size < 10_000) durations.set(text, seconds);
  }
  return seconds;
}

const durations = new Map<string, number | undefined>();

function parseDurationText(text: string): number | undefined {
  const match = DURATION_REGEX.exec(text);
  if (match === null) return undefined;
  let total = 0;
  UNITS.forEach(([, seconds], index) => {
    const amount = match[index + 1];
    if (amount !== undefined) total += Number(amount) * seconds;
  });
  return total > 0 && Number.isSafeInteger(total) ? total : undefined;
}

/**
 * The exact form of a whole number of seconds, largest unit first: 90000 → `1d1h`, 0 → `0s`.
 * Weeks are read but never written: people compare retention in days (`30d`, not `4w2d`).
 */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new RangeError(`cannot format ${seconds} as a duration: expected a whole number of seconds >= 0`);
  }
  if (seconds === 0) return '0s';
  let rest = seconds;
  let text = '';
  for (const [unit, size] of UNITS) {
    if (unit === 'w') continue;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      text += `${amount}${unit}`;
      rest -= amount * size;
    }
  }
  return text;
}
