/**
 * Local calendar fields of an instant in an IANA time zone, for retention buckets.
 *
 * Intl gives only the zone's UTC offset at the instant (`timeZoneName: 'longOffset'`); the calendar fields
 * are then read from the shifted instant with the UTC getters, so they are proleptic Gregorian for every
 * date (Intl's default `gregory` calendar switches to Julian before 1582) and never depend on a locale's
 * way of writing dates. Zone names are validated once, with a clear error, before any snapshot is read.
 */

/** Wall-clock fields: month 1–12, day 1–31, hour 0–23, weekday 1 (Monday) – 7 (Sunday). */
export interface LocalFields {
  year: number;
  month: number;
  day: number;
  hour: number;
  weekday: number;
}

export class TimeZoneError extends Error {
  override name = 'TimeZoneError';
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function offsetFormatter(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    try {
      formatter = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' });
    } catch {
      throw new TimeZoneError(
        `unknown time zone "${zone}": write an IANA name such as Europe/Berlin or America/New_York, or leave timezone out for UTC`,
      );
    }
    if (formatters.size < 100) formatters.set(zone, formatter);
  }
  return formatter;
}

/** Throws a TimeZoneError unless the zone is one this Node.js knows. */
export function assertTimeZone(zone: string): void {
  offsetFormatter(zone);
}

const OFFSET = /^GMT(?:([+\-\u2212])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;

/** The zone's offset from UTC at the instant, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(ms: number, zone: string): number {
  const part = offsetFormatter(zone)
    .formatToParts(ms)
    .find((p) => p.type === 'timeZoneName');
  const match = part === undefined ? null : OFFSET.exec(part.value);
  if (match === null) {
    throw new TimeZoneError(`cannot read the UTC offset of ${zone} at ${new Date(ms).toISOString()}`);
  }
  if (match[1] === undefined) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
  return (match[1] === '+' ? 1 : -1) * seconds * 1000;
}

/** The calendar fields of the instant on a wall clock in the zone (UTC when the zone is undefined). */
export function localFields(ms: number, zone: string | undefined): LocalFields {
  const shifted = new Date(zone === undefined || zone === 'UTC' ? ms : ms + zoneOffsetMs(ms, zone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    weekday: ((shifted.getUTCDay() + 6) % 7) + 1,
  };
}
