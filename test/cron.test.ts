import { describe, expect, it } from 'vitest';
import { type Cron, cronMaxIntervalSeconds, cronNext, cronPrevious, parseCron } from '../src/policy/cron.ts';
import { mulberry32 } from './helpers/random.ts';

const DAY = 86_400;

function cron(expr: string): Cron {
  const result = parseCron(expr);
  if (!result.ok) throw new Error(`${expr}: ${result.error}`);
  return result.cron;
}

function parseError(expr: string): string {
  const result = parseCron(expr);
  if (result.ok) throw new Error(`${expr} parsed, but an error was expected`);
  return result.error;
}

const at = (iso: string) => new Date(iso);
const next = (expr: string, after: string) => cronNext(cron(expr), at(after)).toISOString();
const previous = (expr: string, atOrBefore: string) => cronPrevious(cron(expr), at(atOrBefore)).toISOString();

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('parseCron', () => {
  it('expands wildcards and steps', () => {
    const parsed = cron('*/15 * * * *');
    expect(parsed.minutes).toEqual([0, 15, 30, 45]);
    expect(parsed.hours).toEqual(range(0, 23));
    expect(parsed.daysOfMonth).toEqual(range(1, 31));
    expect(parsed.months).toEqual(range(1, 12));
    expect(parsed.daysOfWeek).toEqual(range(0, 6));
    expect(parsed.dayOfMonthRestricted).toBe(false);
    expect(parsed.dayOfWeekRestricted).toBe(false);
    expect(parsed.text).toBe('*/15 * * * *');
  });

  it('parses ranges, lists, stepped ranges and names in any case', () => {
    const parsed = cron('5-20/5 1,2,3 */10 JAN-mar/2 mon-FRI');
    expect(parsed.minutes).toEqual([5, 10, 15, 20]);
    expect(parsed.hours).toEqual([1, 2, 3]);
    expect(parsed.daysOfMonth).toEqual([1, 11, 21, 31]);
    expect(parsed.months).toEqual([1, 3]);
    expect(parsed.daysOfWeek).toEqual([1, 2, 3, 4, 5]);
    expect(parsed.dayOfMonthRestricted).toBe(false);
    expect(parsed.dayOfWeekRestricted).toBe(true);
  });

  it('reads a/n as running from a to the end of the field', () => {
    const parsed = cron('30/10 7/8 7/10 11/2 1/2');
    expect(parsed.minutes).toEqual([30, 40, 50]);
    expect(parsed.hours).toEqual([7, 15, 23]);
    expect(parsed.daysOfMonth).toEqual([7, 17, 27]);
    expect(parsed.months).toEqual([11]);
    expect(parsed.daysOfWeek).toEqual([1, 3, 5]);
  });

  it('treats day-of-week 7 as Sunday', () => {
    expect(cron('0 0 * * 7').daysOfWeek).toEqual([0]);
    expect(cron('0 0 * * 5-7').daysOfWeek).toEqual([0, 5, 6]);
    expect(cron('0 0 * * SUN,7,0').daysOfWeek).toEqual([0]);
    expect(cron('0 0 * * */2').daysOfWeek).toEqual([0, 2, 4, 6]);
    expect(cron('0 0 * * sat-7').daysOfWeek).toEqual([0, 6]);
  });

  it('merges overlapping list items and sorts them', () => {
    expect(cron('50,0-10/5,5 * * * *').minutes).toEqual([0, 5, 10, 50]);
  });

  it('accepts tabs and runs of spaces between fields, and surrounding whitespace', () => {
    const parsed = cron(' 0\t12   1 \t * *\n');
    expect(parsed.minutes).toEqual([0]);
    expect(parsed.hours).toEqual([12]);
    expect(parsed.daysOfMonth).toEqual([1]);
    expect(parsed.text).toBe(' 0\t12   1 \t * *\n');
  });

  it.each([
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
    ['@monthly', '0 0 1 * *'],
    ['@weekly', '0 0 * * 0'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@hourly', '0 * * * *'],
    ['@Weekly', '0 0 * * 0'],
  ])('expands %s like %s', (macro, expansion) => {
    const { text: macroText, ...macroSets } = cron(macro);
    const { text: _, ...expansionSets } = cron(expansion);
    expect(macroText).toBe(macro);
    expect(macroSets).toEqual(expansionSets);
  });

  it.each([
    ['', 'empty cron expression'],
    [' \t ', 'empty cron expression'],
    ['* * * * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), found 6'],
    ['* * * *', 'expected 5 fields (minute hour day-of-month month day-of-week), found 4'],
    ['61 * * * *', 'minute field "61": 61 is out of range 0-59'],
    ['* 24 * * *', 'hour field "24": 24 is out of range 0-23'],
    ['* * 0 * *', 'day-of-month field "0": 0 is out of range 1-31'],
    ['* * 32 * *', 'day-of-month field "32": 32 is out of range 1-31'],
    ['* * * 13 *', 'month field "13": 13 is out of range 1-12'],
    ['* * * 0 *', 'month field "0": 0 is out of range 1-12'],
    ['* * * * 8', 'day-of-week field "8": 8 is out of range 0-7'],
    ['0-60/5 * * * *', 'minute field "0-60/5": 60 is out of range 0-59'],
    ['* * */0 * *', 'day-of-month field "*/0": step must be at least 1'],
    ['*/a * * * *', 'minute field "*/a": step "a" is not a whole number'],
    ['*/-1 * * * *', 'minute field "*/-1": step "-1" is not a whole number'],
    ['*/2/3 * * * *', 'minute field "*/2/3": "*/2/3" has more than one step'],
    ['/5 * * * *', 'minute field "/5": missing value before "/"'],
    ['5-1 * * * *', 'minute field "5-1": range 5-1 is backwards (start exceeds end)'],
    ['* * * * FRI-MON', 'day-of-week field "FRI-MON": range FRI-MON is backwards (start exceeds end)'],
    ['1-2-3 * * * *', 'minute field "1-2-3": "1-2-3" is not a valid range'],
    ['-5 * * * *', 'minute field "-5": "-5" is not a valid range'],
    ['1,,2 * * * *', 'minute field "1,,2": empty list item'],
    ['1, * * * *', 'minute field "1,": empty list item'],
    ['* * * FOO *', 'month field "FOO": unknown month name "FOO"'],
    ['* * * January *', 'month field "January": unknown month name "January"'],
    ['* * * * MONDAY', 'day-of-week field "MONDAY": unknown day-of-week name "MONDAY"'],
    ['MON * * * *', 'minute field "MON": "MON" is not a number'],
    ['* * * 1.5 *', 'month field "1.5": "1.5" is not a number or month name'],
    ['* * * * ?', 'day-of-week field "?": "?" is not a number or day-of-week name'],
    ['* * L * *', 'day-of-month field "L": "L" is not a number'],
    [
      '@reboot',
      'unknown macro "@reboot"; expected one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly',
    ],
  ])('rejects %j', (expr, error) => {
    expect(parseError(expr)).toBe(error);
  });

  it.each([
    ['0 0 31 2 *', 'never fires: day-of-month "31" never occurs in month "2"'],
    ['0 0 30 2 *', 'never fires: day-of-month "30" never occurs in month "2"'],
    ['0 0 30,31 FEB *', 'never fires: day-of-month "30,31" never occurs in month "FEB"'],
    ['0 0 31 4,6,9,11 *', 'never fires: day-of-month "31" never occurs in month "4,6,9,11"'],
    // Day-of-week starts with `*`, so both day fields must match.
    ['0 0 31 2 */2', 'never fires: day-of-month "31" never occurs in month "2"'],
  ])('rejects %j, which never fires', (expr, error) => {
    expect(parseError(expr)).toBe(error);
  });

  it.each(['0 0 29 2 *', '0 0 31 2,3 *', '0 0 31 2 1', '0 0 30 2 SUN'])(
    'accepts %j, which can fire',
    (expr) => {
      expect(parseCron(expr).ok).toBe(true);
    },
  );
});

describe('cronNext', () => {
  it.each([
    ['* * * * *', '2024-01-01T00:00:30Z', '2024-01-01T00:01:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:15:00Z', '2024-01-01T00:30:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:14:59.999Z', '2024-01-01T00:15:00.000Z'],
    ['0 */6 * * *', '2024-01-01T18:00:00Z', '2024-01-02T00:00:00.000Z'],
    ['0 0 1 * *', '2024-12-15T10:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['59 23 31 12 *', '2024-12-31T23:58:59.999Z', '2024-12-31T23:59:00.000Z'],
    ['59 23 31 12 *', '2024-12-31T23:59:00Z', '2025-12-31T23:59:00.000Z'],
    ['0 0 31 * *', '2024-01-31T00:00:00Z', '2024-03-31T00:00:00.000Z'],
    ['0 0 31 * *', '2024-03-31T00:00:00Z', '2024-05-31T00:00:00.000Z'],
    ['0 0 1 JAN,JUL *', '2024-02-01T00:00:00Z', '2024-07-01T00:00:00.000Z'],
    ['0 0 * 2 *', '2023-02-28T00:00:00Z', '2024-02-01T00:00:00.000Z'],
    ['0 0 * 2 *', '2024-02-28T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '2024-02-29T00:00:00Z', '2028-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '1999-01-01T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '2096-02-29T00:00:00Z', '2104-02-29T00:00:00.000Z'],
    ['30 9 * * 1-5', '2024-03-01T09:30:00Z', '2024-03-04T09:30:00.000Z'],
    ['0 5 * * 1', '2024-03-04T05:00:00Z', '2024-03-11T05:00:00.000Z'],
    // OR rule: the 13th or any Friday. 2024-10-11 is a Friday, the 13th a Sunday.
    ['0 12 13 * 5', '2024-10-11T12:00:00Z', '2024-10-13T12:00:00.000Z'],
    ['0 12 13 * 5', '2024-10-13T12:00:00Z', '2024-10-18T12:00:00.000Z'],
    ['0 0 1-7 * 0', '2024-12-01T00:00:00Z', '2024-12-02T00:00:00.000Z'],
    // Day-of-week starts with `*`, so both fields must match: the first Sunday of the month.
    ['0 0 1-7 * */7', '2024-11-15T00:00:00Z', '2024-12-01T00:00:00.000Z'],
    ['0 0 1-7 * */7', '2024-12-01T00:00:00Z', '2025-01-05T00:00:00.000Z'],
    // Day-of-month starts with `*`: Fridays only.
    ['0 0 */1 * FRI', '2024-10-11T00:00:00Z', '2024-10-18T00:00:00.000Z'],
    // Feb 29 on a Sunday: 2004, then 2032.
    ['0 0 29 2 */7', '2004-02-29T00:00:00Z', '2032-02-29T00:00:00.000Z'],
    ['0 0 1 1 *', '0050-06-01T00:00:00Z', '0051-01-01T00:00:00.000Z'],
  ])('%s after %s is %s', (expr, after, expected) => {
    expect(next(expr, after)).toBe(expected);
  });
});

describe('cronPrevious', () => {
  it.each([
    ['0 0 1 * *', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00.000Z'],
    ['0 0 1 * *', '2025-01-01T00:00:59.999Z', '2025-01-01T00:00:00.000Z'],
    ['0 0 1 * *', '2024-12-31T23:59:59Z', '2024-12-01T00:00:00.000Z'],
    ['0 0 1 1 *', '2024-12-31T23:59:59Z', '2024-01-01T00:00:00.000Z'],
    ['0 0 1 1 *', '2023-12-31T23:59:59Z', '2023-01-01T00:00:00.000Z'],
    ['30 9 * * 1-5', '2024-03-04T09:29:59Z', '2024-03-01T09:30:00.000Z'],
    ['0 0 31 * *', '2024-03-30T00:00:00Z', '2024-01-31T00:00:00.000Z'],
    ['0 0 29 2 *', '2024-02-28T23:59:00Z', '2020-02-29T00:00:00.000Z'],
    ['0 0 29 2 *', '2103-12-31T00:00:00Z', '2096-02-29T00:00:00.000Z'],
    ['59 23 * * *', '2024-03-01T00:00:00Z', '2024-02-29T23:59:00.000Z'],
    ['59 23 * * *', '2023-03-01T00:00:00Z', '2023-02-28T23:59:00.000Z'],
    ['0 0 * 12 *', '2024-06-01T00:00:00Z', '2023-12-31T00:00:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
    ['*/15 * * * *', '2024-01-01T00:14:00Z', '2024-01-01T00:00:00.000Z'],
    ['0 12 13 * 5', '2024-10-17T00:00:00Z', '2024-10-13T12:00:00.000Z'],
    ['0 12 13 * 5', '2024-10-13T11:59:00Z', '2024-10-11T12:00:00.000Z'],
  ])('%s at or before %s is %s', (expr, atOrBefore, expected) => {
    expect(previous(expr, atOrBefore)).toBe(expected);
  });
});

describe('cronMaxIntervalSeconds', () => {
  it.each([
    ['*/15 * * * *', 900],
    ['0 */6 * * *', 21_600],
    ['30 9 * * *', DAY],
    ['0,10 0 * * *', 1_430 * 60],
    ['0 5 * * 1', 7 * DAY],
    ['0 9 * * 1-5', 3 * DAY],
    ['0 0 * * 0,6', 6 * DAY],
    ['0 0 1 * *', 31 * DAY],
    // Aug 31 to Oct 31.
    ['0 0 31 * *', 61 * DAY],
    ['0 0 1 1,7 *', 184 * DAY],
    ['@yearly', 366 * DAY],
    ['0 12 13 * 5', 7 * DAY],
    // 2096-02-29 to 2104-02-29: 2100 is not a leap year.
    ['0 0 29 2 *', (8 * 365 + 1) * DAY],
    // Both fields must match, one starting with `*`: New Year's Day on a Sunday, then on a Monday.
    ['0 0 1 1 */7', 4_018 * DAY],
    ['0 0 */31 1 MON', 4_382 * DAY],
    // Feb 29 on a Sunday: 2088 to 2128.
    ['0 0 29 2 */7', (40 * 365 + 9) * DAY],
    // Friday 17:00 to Monday 08:00.
    ['0 8-17 * * 1-5', 2 * DAY + 15 * 3_600],
  ])('%s is %i', (expr, seconds) => {
    expect(cronMaxIntervalSeconds(cron(expr))).toBe(seconds);
  });

  it('matches the gaps cronNext walks across two whole 400-year cycles', () => {
    for (const expr of [
      '0 0 29 2 *',
      '0 0 31 * *',
      '0 12 13 * 5',
      '0 0 1-7 * */7',
      '0 6 */10 2 */3',
      '0 0 */31 1 MON',
    ]) {
      const parsed = cron(expr);
      const end = Date.UTC(2800, 0, 1);
      let t = cronNext(parsed, at('1999-12-31T23:59:59Z'));
      let longest = 0;
      while (t.getTime() < end) {
        const following = cronNext(parsed, t);
        longest = Math.max(longest, (following.getTime() - t.getTime()) / 1000);
        t = following;
      }
      expect(cronMaxIntervalSeconds(parsed), expr).toBe(longest);
    }
  });

  it('is fast for 10,000 systems', () => {
    const random = mulberry32(10_000);
    const pick = (n: number) => Math.floor(random() * n);
    const started = performance.now();
    for (let i = 0; i < 10_000; i++) {
      const expr = `${pick(60)} ${pick(24)} ${pick(3) === 0 ? 1 + pick(28) : '*'} * ${pick(2) === 0 ? pick(7) : '*'}`;
      expect(cronMaxIntervalSeconds(cron(expr))).toBeGreaterThan(0);
    }
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});

/** Random fields in every syntax the parser accepts, from a seeded PRNG. */
function randomExpression(random: () => number): string {
  const pick = (n: number) => Math.floor(random() * n);
  const field = (min: number, max: number, names?: readonly string[], nameOffset = 0): string => {
    const value = (v: number) =>
      names !== undefined && v - nameOffset < names.length && pick(3) === 0
        ? names[v - nameOffset]!
        : String(v);
    const span = () => {
      const a = min + pick(max - min + 1);
      const b = a + pick(max - a + 1);
      return [a, b];
    };
    const item = (): string => {
      const [a, b] = span() as [number, number];
      switch (pick(5)) {
        case 0:
          return value(a);
        case 1:
          return `${value(a)}-${value(b)}`;
        case 2:
          return `*/${1 + pick(max - min + 1)}`;
        case 3:
          return `${value(a)}-${value(b)}/${1 + pick(b - a + 2)}`;
        default:
          return `${value(a)}/${1 + pick(max - min + 1)}`;
      }
    };
    if (pick(3) === 0) return '*';
    const count = 1 + pick(3);
    return Array.from({ length: count }, item).join(',');
  };
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
  const weekdays = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  // Months and days of month are `*` more often, so that most expressions fire within the reference's reach.
  const dayOfMonth = pick(2) === 0 ? '*' : field(1, 31);
  const month = pick(2) === 0 ? '*' : field(1, 12, months, 1);
  return [field(0, 59), field(0, 23), dayOfMonth, month, field(0, 7, weekdays)].join(' ');
}

const MINUTE_MS = 60_000;
/** How far the reference scans, minute by minute. */
const REFERENCE_LIMIT_MINUTES = 400 * 1_440;

/** Whether a minute fires, straight from the definition, restrictions read off the field texts. */
function referenceMatches(parsed: Cron, fields: string[], t: Date): boolean {
  const dayOfMonth = parsed.daysOfMonth.includes(t.getUTCDate());
  const dayOfWeek = parsed.daysOfWeek.includes(t.getUTCDay());
  const bothRestricted = !fields[2]!.startsWith('*') && !fields[4]!.startsWith('*');
  const day = bothRestricted ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek;
  return (
    day &&
    parsed.months.includes(t.getUTCMonth() + 1) &&
    parsed.hours.includes(t.getUTCHours()) &&
    parsed.minutes.includes(t.getUTCMinutes())
  );
}

function referenceScan(
  parsed: Cron,
  fields: string[],
  startMinute: number,
  direction: 1 | -1,
): Date | undefined {
  for (let i = 0, minute = startMinute; i < REFERENCE_LIMIT_MINUTES; i++, minute += direction) {
    const t = new Date(minute * MINUTE_MS);
    if (referenceMatches(parsed, fields, t)) return t;
  }
  return undefined;
}

describe('randomized cross-check against a minute-by-minute scan', () => {
  const random = mulberry32(0xc0ffee);
  const cases: { expr: string; parsed: Cron; time: Date }[] = [];
  while (cases.length < 400) {
    const expr = randomExpression(random);
    const result = parseCron(expr);
    if (!result.ok) {
      expect(result.error, expr).toMatch(/^never fires: /);
      continue;
    }
    // Between 1999 and 2101, to cross the 2000 leap year and the 2100 non-leap year.
    const time = new Date(Date.UTC(1999, 0, 1) + Math.floor(random() * 102 * 365.25 * DAY * 1000));
    cases.push({ expr, parsed: result.cron, time });
  }

  it('generates varied expressions', () => {
    const orRule = cases.filter(({ parsed }) => parsed.dayOfMonthRestricted && parsed.dayOfWeekRestricted);
    expect(orRule.length).toBeGreaterThan(50);
    expect(cases.filter(({ expr }) => /[A-Z]/.test(expr)).length).toBeGreaterThan(50);
  });

  it('cronNext agrees', () => {
    let found = 0;
    for (const { expr, parsed, time } of cases) {
      const fields = expr.split(' ');
      const expected = referenceScan(parsed, fields, Math.floor(time.getTime() / MINUTE_MS) + 1, 1);
      const actual = cronNext(parsed, time);
      const context = `${expr} after ${time.toISOString()}`;
      if (expected === undefined) {
        expect(actual.getTime(), context).toBeGreaterThan(
          time.getTime() + REFERENCE_LIMIT_MINUTES * MINUTE_MS,
        );
      } else {
        found++;
        expect(actual.toISOString(), context).toBe(expected.toISOString());
      }
    }
    expect(found).toBeGreaterThanOrEqual(300);
  });

  it('cronPrevious agrees', () => {
    let found = 0;
    for (const { expr, parsed, time } of cases) {
      const fields = expr.split(' ');
      const expected = referenceScan(parsed, fields, Math.floor(time.getTime() / MINUTE_MS), -1);
      const actual = cronPrevious(parsed, time);
      const context = `${expr} at or before ${time.toISOString()}`;
      if (expected === undefined) {
        expect(actual.getTime(), context).toBeLessThan(time.getTime() - REFERENCE_LIMIT_MINUTES * MINUTE_MS);
      } else {
        found++;
        expect(actual.toISOString(), context).toBe(expected.toISOString());
      }
    }
    expect(found).toBeGreaterThanOrEqual(300);
  });

  it('cronNext and cronPrevious invert each other', () => {
    for (const { expr, parsed, time } of cases) {
      const following = cronNext(parsed, time);
      expect(cronPrevious(parsed, following).toISOString(), expr).toBe(following.toISOString());
      expect(cronNext(parsed, cronPrevious(parsed, time)).toISOString(), expr).toBe(following.toISOString());
    }
  });

  it('no gap cronNext walks exceeds cronMaxIntervalSeconds', () => {
    for (const { expr, parsed, time } of cases.slice(0, 100)) {
      const bound = cronMaxIntervalSeconds(parsed) * 1000;
      let t = cronNext(parsed, time);
      for (let i = 0; i < 300; i++) {
        const following = cronNext(parsed, t);
        expect(following.getTime() - t.getTime(), expr).toBeLessThanOrEqual(bound);
        t = following;
      }
    }
  });
});
