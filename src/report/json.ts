import type { CheckReport } from '../controls/result.ts';

/** Version of the JSON report's shape; bump it when a field is removed or changes meaning. */
export const JSON_SCHEMA_VERSION = 1;

/** The whole report as pretty JSON (2 spaces) with a `schemaVersion`, ending in a newline. */
export function renderJson(report: CheckReport): string {
  return `${JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...report }, null, 2)}\n`;
}
