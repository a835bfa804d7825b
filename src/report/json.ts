import type { CheckReport } from '../controls/result.ts';

/** Version of the JSON report's shape; bump it when a field is removed or changes meaning. */
export const JSON_SCHEMA_VERSION = 1;

/**
 * The whole report as JSON with a `schemaVersion`, ending in a newline: indented, except that each
 * finding stands on one line. A large check has hundreds of thousands of findings; one per line keeps the
 * file greppable and about half the size of indenting every field.
 */
export function renderJson(report: CheckReport): string {
  const { findings, ...rest } = report;
  const head = JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...rest }, null, 2);
  const lines = findings.map((f) => `    ${JSON.stringify(f)}`).join(',\n');
  const list = findings.length ? `[\n${lines}\n  ]` : '[]';
  return `${head.slice(0, -2)},\n  "findings": ${list}\n}\n`;
}
