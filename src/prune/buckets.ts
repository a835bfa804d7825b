/**
 * Retention periods and the labels of their buckets. Two instants are in the same bucket of a period when
 * their labels are equal; labels are written from wall-clock fields (timezone.ts), so a bucket is a local
 * calendar hour, day, ISO week, month or year.
 */

import type { LocalFields } from './timezone.ts';

export const PERIODS = ['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
export type Period = (typeof PERIODS)[number];

function pad(value: number, width: number): string {
  const text = String(Math.abs(value)).padStart(width, '0');
  return value < 0 ? `-${text}` : text;
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];

/** Day of the year, 1 = 1 January. */
function ordinal(year: number, month: number, day: number): number {
  return DAYS_BEFORE_MONTH[month - 1]! + day + (month > 2 && isLeap(year) ? 1 : 0);
}

/** Weekday (1 = Monday … 7 = Sunday) of 1 January of the year. */
function weekdayOfJanuaryFirst(year: number): number {
  // Gauss's rule on the proleptic Gregorian calendar; 1 January 2001 was a Monday.
  const y = year - 1;
  const days = y * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400);
  return (((days % 7) + 7) % 7) + 1;
}

/** 53 when the year starts on a Thursday, or is a leap year that starts on a Wednesday; else 52. */
function isoWeeksInYear(year: number): number {
  const first = weekdayOfJanuaryFirst(year);
  return first === 4 || (first === 3 && isLeap(year)) ? 53 : 52;
}

/** ISO 8601 week-numbering year and week (1–53) of a calendar date whose weekday is known. */
export function isoWeek(fields: Pick<LocalFields, 'year' | 'month' | 'day' | 'weekday'>): {
  year: number;
  week: number;
} {
  const week = Math.floor((ordinal(fields.year, fields.month, fields.day) - fields.weekday + 10) / 7);
  if (week < 1) return { year: fields.year - 1, week: isoWeeksInYear(fields.year - 1) };
  if (week > isoWeeksInYear(fields.year)) return { year: fields.year + 1, week: 1 };
  return { year: fields.year, week };
}

/**
 * The bucket label of the fields for a period: `2026-11-24 13:00`, `2026-11-24`, `2026-W48`, `2026-11`,
 * `2026`. Labels of years 0–9999 sort as their periods do.
 */
export function periodLabel(fields: LocalFields, period: Period): string {
  const date = `${pad(fields.year, 4)}-${pad(fields.month, 2)}-${pad(fields.day, 2)}`;
  switch (period) {
    case 'hourly':
      return `${date} ${pad(fields.hour, 2)}:00`;
    case 'daily':
      return date;
    case 'weekly': {
      const { year, week } = isoWeek(fields);
      return `${pad(year, 4)}-W${pad(week, 2)}`;
    }
    case 'monthly':
      return `${pad(fields.year, 4)}-${pad(fields.month, 2)}`;
    case 'yearly':
      return pad(fields.year, 4);
  }
}
