/**
 * Standard five-field cron expressions (minute hour day-of-month month day-of-week), as GitHub Actions
 * `on.schedule` uses them, evaluated in UTC at minute resolution.
 */

export interface Cron {
  /** The expression exactly as written. */
  readonly text: string;
  /** Ascending, 0-59. */
  readonly minutes: readonly number[];
  /** Ascending, 0-23. */
  readonly hours: readonly number[];
  /** Ascending, 1-31. */
  readonly daysOfMonth: readonly number[];
  /** Ascending, 1-12. */
  readonly months: readonly number[];
  /** Ascending, 0-6 with 0 = Sunday (7 is folded into 0). */
  readonly daysOfWeek: readonly number[];
  /**
   * Whether the day fields were restricted, i.e. did not start with `*` (as in Vixie cron and cronie).
   * When both are, a day fires if either matches; otherwise both must match.
   */
  readonly dayOfMonthRestricted: boolean;
  readonly dayOfWeekRestricted: boolean;
}

export type CronParseResult = { ok: true; cron: Cron } | { ok: false; error: string };

const FIELD_NAMES = 'minute hour day-of-month month day-of-week';

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  /** The largest number accepted. */
  readonly max: number;
  /** Where `*` and `a/n` stop; differs from max only for day-of-week, where 7 repeats Sunday. */
  readonly openEnd: number;
  readonly names?: { readonly kind: string; readonly list: readonly string[]; readonly first: number };
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59, openEnd: 59 },
  { name: 'hour', min: 0, max: 23, openEnd: 23 },
  { name: 'day-of-month', min: 1, max: 31, openEnd: 31 },
  { name: 'month', min: 1, max: 12, openEnd: 12, names: { kind: 'month', list: MONTH_NAMES, first: 1 } },
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    openEnd: 6,
    names: { kind: 'day-of-week', list: WEEKDAY_NAMES, first: 0 },
  },
];

/** Thrown inside field parsing and turned into an error result that names the field. */
class FieldError extends Error {}

/** Parses five fields or a macro; the error names the field at fault, or says why it can never fire. */
const parsed = new Map<string, CronParseResult>();

/** Parses a cron expression; results are kept per text, since policies repeat a few schedules many times. */
export function parseCron(expr: string): CronParseResult {
  let result = parsed.get(expr);
  if (result === undefined) {
    result = parseCronText(expr);
    if (parsed.size < 10_000) parsed.set(expr, result);
  }
  return result;
}

function parseCronText(expr: string): CronParseResult {
  const trimmed = expr.trim();
  if (trimmed === '') return { ok: false, error: 'empty cron expression' };
  let body = trimmed;
  if (trimmed.startsWith('@')) {
    const expansion = MACROS[trimmed.toLowerCase()];
    if (expansion === undefined) {
      const known = Object.keys(MACROS).join(', ');
      return { ok: false, error: `unknown macro "${trimmed}"; expected one of ${known}` };
    }
    body = expansion;
  }
  const texts = body.split(/[ \t]+/);
  if (texts.length !== FIELDS.length) {
    return { ok: false, error: `expected 5 fields (${FIELD_NAMES}), found ${texts.length}` };
  }
  const sets: number[][] = [];
  for (const [index, spec] of FIELDS.entries()) {
    const text = texts[index]!;
    try {
      sets.push(parseField(text, spec));
    } catch (error) {
      if (!(error instanceof FieldError)) throw error;
      return { ok: false, error: `${spec.name} field "${text}": ${error.message}` };
    }
  }
  const cron: Cron = {
    text: expr,
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: sets[4]!,
    dayOfMonthRestricted: !texts[2]!.startsWith('*'),
    dayOfWeekRestricted: !texts[4]!.startsWith('*'),
  };
  const never = neverFiresReason(cron, texts[2]!, texts[3]!);
  return never === undefined ? { ok: true, cron } : { ok: false, error: `never fires: ${never}` };
}

/** A comma-separated list of items, each `*`, `a` or `a-b`, optionally followed by `/step`. */
function parseField(text: string, spec: FieldSpec): number[] {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    if (item === '') throw new FieldError('empty list item');
    for (const value of parseItem(item, spec)) values.add(spec.name === 'day-of-week' ? value % 7 : value);
  }
  return [...values].sort((a, b) => a - b);
}

function parseItem(item: string, spec: FieldSpec): number[] {
  const parts = item.split('/');
  if (parts.length > 2) throw new FieldError(`"${item}" has more than one step`);
  const [rangeText, stepText] = parts as [string, string | undefined];
  const step = stepText === undefined ? 1 : parseStep(stepText);
  if (rangeText === '') throw new FieldError('missing value before "/"');
  let start: number;
  let end: number;
  if (rangeText === '*') {
    [start, end] = [spec.min, spec.openEnd];
  } else if (rangeText.includes('-')) {
    const bounds = rangeText.split('-');
    if (bounds.length !== 2 || bounds.includes('')) {
      throw new FieldError(`"${rangeText}" is not a valid range`);
    }
    start = parseValue(bounds[0]!, spec);
    end = parseValue(bounds[1]!, spec);
    if (start > end) throw new FieldError(`range ${bounds[0]}-${bounds[1]} is backwards (start exceeds end)`);
  } else {
    start = parseValue(rangeText, spec);
    // `a/n` runs from a to the end of the field; a lone `a` is just a.
    end = stepText === undefined ? start : Math.max(start, spec.openEnd);
  }
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return values;
}

function parseStep(text: string): number {
  if (!/^[0-9]+$/.test(text)) throw new FieldError(`step "${text}" is not a whole number`);
  const step = Number(text);
  if (step < 1) throw new FieldError('step must be at least 1');
  return step;
}

function parseValue(text: string, spec: FieldSpec): number {
  if (/^[0-9]+$/.test(text)) {
    const value = Number(text);
    if (value < spec.min || value > spec.max) {
      throw new FieldError(`${text} is out of range ${spec.min}-${spec.max}`);
    }
    return value;
  }
  if (spec.names !== undefined && /^[A-Za-z]+$/.test(text)) {
    const index = spec.names.list.indexOf(text.toUpperCase());
    if (index < 0) throw new FieldError(`unknown ${spec.names.kind} name "${text}"`);
    return spec.names.first + index;
  }
  const expected = spec.names === undefined ? 'a number' : `a number or ${spec.names.kind} name`;
  throw new FieldError(`"${text}" is not ${expected}`);
}

/** Days in each month of a leap year: the most any month can have. */
const MAX_DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Why the expression can never fire, if it cannot. Only a day-of-month that no chosen month has can
 * cause that: under the OR rule any weekday will do, and every calendar date falls on every weekday
 * within the 400-year Gregorian cycle.
 */
function neverFiresReason(cron: Cron, dayOfMonthText: string, monthText: string): string | undefined {
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) return undefined;
  const smallestDay = cron.daysOfMonth[0]!;
  if (cron.months.some((month) => smallestDay <= MAX_DAYS_IN_MONTH[month]!)) return undefined;
  return `day-of-month "${dayOfMonthText}" never occurs in month "${monthText}"`;
}

/** Whether a day fires, given its day of month and weekday, following the OR rule. */
function dayMatcher(cron: Cron): (day: number, weekday: number) => boolean {
  const dayOfMonth = membership(cron.daysOfMonth, 32);
  const dayOfWeek = membership(cron.daysOfWeek, 7);
  if (cron.dayOfMonthRestricted && cron.dayOfWeekRestricted) {
    return (day, weekday) => dayOfMonth[day] === 1 || dayOfWeek[weekday] === 1;
  }
  return (day, weekday) => dayOfMonth[day] === 1 && dayOfWeek[weekday] === 1;
}

function membership(values: readonly number[], size: number): Uint8Array {
  const table = new Uint8Array(size);
  for (const value of values) table[value] = 1;
  return table;
}

function firstAtOrAfter(values: readonly number[], value: number): number | undefined {
  return values.find((candidate) => candidate >= value);
}

function lastAtOrBefore(values: readonly number[], value: number): number | undefined {
  return values.findLast((candidate) => candidate <= value);
}

const MINUTE_MS = 60_000;

/** A UTC instant from possibly out-of-range parts (day 0, hour 24, …), which roll over as in Date.UTC. */
function utc(year: number, month: number, day: number, hour: number, minute: number): Date {
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, 0, 0);
  return date;
}

/** More than enough: the longest wait spans one 400-year cycle, about 400 × (12 + 366) steps. */
const MAX_STEPS = 1_000_000;

/** The first fire time strictly after `after`. */
export function cronNext(cron: Cron, after: Date): Date {
  const matchesDay = dayMatcher(cron);
  let t = new Date(Math.floor(after.getTime() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  for (let steps = 0; steps < MAX_STEPS && !Number.isNaN(t.getTime()); steps++) {
    const [year, month, day, hour, minute] = parts(t);
    const nextMonth = firstAtOrAfter(cron.months, month);
    if (nextMonth !== month) {
      t = nextMonth === undefined ? utc(year + 1, cron.months[0]!, 1, 0, 0) : utc(year, nextMonth, 1, 0, 0);
      continue;
    }
    if (!matchesDay(day, t.getUTCDay())) {
      t = utc(year, month, day + 1, 0, 0);
      continue;
    }
    const nextHour = firstAtOrAfter(cron.hours, hour);
    if (nextHour !== hour) {
      t = nextHour === undefined ? utc(year, month, day + 1, 0, 0) : utc(year, month, day, nextHour, 0);
      continue;
    }
    const nextMinute = firstAtOrAfter(cron.minutes, minute);
    if (nextMinute !== minute) {
      t =
        nextMinute === undefined
          ? utc(year, month, day, hour + 1, 0)
          : utc(year, month, day, hour, nextMinute);
      continue;
    }
    return t;
  }
  throw new RangeError(`no fire time of "${cron.text}" after ${after.toISOString()} within the Date range`);
}

/** The last fire time at or before `atOrBefore`. */
export function cronPrevious(cron: Cron, atOrBefore: Date): Date {
  const matchesDay = dayMatcher(cron);
  let t = new Date(Math.floor(atOrBefore.getTime() / MINUTE_MS) * MINUTE_MS);
  for (let steps = 0; steps < MAX_STEPS && !Number.isNaN(t.getTime()); steps++) {
    const [year, month, day, hour, minute] = parts(t);
    const previousMonth = lastAtOrBefore(cron.months, month);
    if (previousMonth !== month) {
      // Day 0 of the following month is the last day of this one.
      t =
        previousMonth === undefined
          ? utc(year - 1, cron.months.at(-1)! + 1, 0, 23, 59)
          : utc(year, previousMonth + 1, 0, 23, 59);
      continue;
    }
    if (!matchesDay(day, t.getUTCDay())) {
      t = utc(year, month, day - 1, 23, 59);
      continue;
    }
    const previousHour = lastAtOrBefore(cron.hours, hour);
    if (previousHour !== hour) {
      t =
        previousHour === undefined
          ? utc(year, month, day - 1, 23, 59)
          : utc(year, month, day, previousHour, 59);
      continue;
    }
    const previousMinute = lastAtOrBefore(cron.minutes, minute);
    if (previousMinute !== minute) {
      t =
        previousMinute === undefined
          ? utc(year, month, day, hour - 1, 59)
          : utc(year, month, day, hour, previousMinute);
      continue;
    }
    return t;
  }
  throw new RangeError(
    `no fire time of "${cron.text}" at or before ${atOrBefore.toISOString()} within the Date range`,
  );
}

function parts(t: Date): [year: number, month: number, day: number, hour: number, minute: number] {
  return [t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate(), t.getUTCHours(), t.getUTCMinutes()];
}

const maxIntervalCache = new Map<string, number>();
const maxDayGapCache = new Map<string, number>();

/**
 * The longest gap, in seconds, between two consecutive fire times over the long run: computed exactly
 * over a whole 400-year Gregorian cycle (2000-01-01 to 2399-12-31, wrapping around), after which the
 * calendar, weekdays included, repeats. So `0 0 29 2 *` gives 8 years and a day (2096 to 2104).
 * Cached per expression text.
 */
export function cronMaxIntervalSeconds(cron: Cron): number {
  let seconds = maxIntervalCache.get(cron.text);
  if (seconds === undefined) {
    seconds = computeMaxIntervalMinutes(cron) * 60;
    maxIntervalCache.set(cron.text, seconds);
  }
  return seconds;
}

const MINUTES_PER_DAY = 1_440;

/**
 * Every fire day has the same fire times (hours × minutes), so the longest gap is either one within a
 * day or the one from the last fire of a fire day to the first fire of the next fire day.
 */
function computeMaxIntervalMinutes(cron: Cron): number {
  const times = cron.hours.flatMap((hour) => cron.minutes.map((minute) => hour * 60 + minute));
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i]! - times[i - 1]!);
  const firstToLast = times.at(-1)! - times[0]!;
  return Math.max(longest, maxFireDayGap(cron) * MINUTES_PER_DAY - firstToLast);
}

/** Whole days in the 400-year Gregorian cycle: a multiple of 7, so weekdays repeat with it. */
const GREGORIAN_CYCLE_DAYS = 146_097;
const CYCLE_START_YEAR = 2000;
/** 2000-01-01 was a Saturday. */
const CYCLE_START_WEEKDAY = 6;

/** The most days between consecutive fire days; depends only on the day fields, so cached by them. */
function maxFireDayGap(cron: Cron): number {
  const key = [
    cron.months.join(','),
    cron.daysOfMonth.join(','),
    cron.daysOfWeek.join(','),
    cron.dayOfMonthRestricted,
    cron.dayOfWeekRestricted,
  ].join('|');
  let gap = maxDayGapCache.get(key);
  if (gap === undefined) {
    gap = scanFireDayGaps(cron);
    maxDayGapCache.set(key, gap);
  }
  return gap;
}

function scanFireDayGaps(cron: Cron): number {
  const inMonths = membership(cron.months, 13);
  const matchesDay = dayMatcher(cron);
  let dayIndex = 0;
  let weekday = CYCLE_START_WEEKDAY;
  let first: number | undefined;
  let previous = 0;
  let longest = 0;
  for (let year = CYCLE_START_YEAR; year < CYCLE_START_YEAR + 400; year++) {
    for (let month = 1; month <= 12; month++) {
      const length = daysInMonth(year, month);
      if (inMonths[month] === 1) {
        for (let day = 1; day <= length; day++) {
          if (matchesDay(day, (weekday + day - 1) % 7)) {
            if (first === undefined) first = dayIndex + day - 1;
            else longest = Math.max(longest, dayIndex + day - 1 - previous);
            previous = dayIndex + day - 1;
          }
        }
      }
      dayIndex += length;
      weekday = (weekday + length) % 7;
    }
  }
  if (first === undefined) throw new Error(`"${cron.text}" never fires`);
  return Math.max(longest, first + GREGORIAN_CYCLE_DAYS - previous);
}

function daysInMonth(year: number, month: number): number {
  if (month !== 2) return MAX_DAYS_IN_MONTH[month]!;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return leap ? 29 : 28;
}
