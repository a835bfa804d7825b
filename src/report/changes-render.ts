import type { Finding } from '../controls/result.ts';
import { formatRange } from '../policy/source.ts';
import type { ChangedFinding, CheckChanges, TermChange } from './changes.ts';
import { hasChanges } from './changes.ts';
import { escapeCell } from './markdown.ts';

/** Rows per list; a pull request that changes more than this has the JSON report for the rest. */
export const CHANGE_ROWS = 50;

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function where(f: Finding): string {
  return f.system ? `${f.policy ?? ''}/${f.system}` : (f.policy ?? f.location.file);
}

/** One line that says it all: the counts of each kind of change. */
export function changesHeadline(changes: CheckChanges): string {
  if (!hasChanges(changes)) {
    return `no control changes status, no system is added or removed and no term is loosened (${changes.stillFailing} still failing)`;
  }
  const parts = [
    plural(changes.newFailures.length, 'new failure', 'new failures'),
    `${changes.fixed.length} fixed`,
    `${changes.stillFailing} still failing`,
  ];
  if (changes.systemsAdded.length > 0) parts.push(`${changes.systemsAdded.length} system(s) added`);
  if (changes.systemsRemoved.length > 0) parts.push(`${changes.systemsRemoved.length} system(s) removed`);
  if (changes.loosened.length > 0)
    parts.push(plural(changes.loosened.length, 'term loosened', 'terms loosened'));
  if (changes.tightened.length > 0)
    parts.push(plural(changes.tightened.length, 'term tightened', 'terms tightened'));
  return parts.join(', ');
}

function table(header: string[], rows: string[][]): string[] {
  const shown = rows.slice(0, CHANGE_ROWS);
  const lines = [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...shown.map((r) => `| ${r.join(' | ')} |`),
  ];
  if (rows.length > shown.length)
    lines.push('', `_… and ${rows.length - shown.length} more in the JSON report._`);
  return lines;
}

function findingRows(list: readonly ChangedFinding[], note: boolean): string[][] {
  return list.map(({ finding: f, onBase }) => [
    f.kind === 'problem' ? '⚠️ problem' : f.severity,
    `**${escapeCell(f.ruleId)}**${note && !onBase ? ' (new system)' : ''}`,
    escapeCell(where(f)),
    escapeCell(formatRange(f.location)),
    escapeCell(f.message),
  ]);
}

function termRows(list: readonly TermChange[]): string[][] {
  return list.map((t) => [
    escapeCell(`${t.policy}/${t.system}`),
    `\`${t.term}\``,
    escapeCell(t.before),
    escapeCell(t.after),
    escapeCell(formatRange(t.location)),
  ]);
}

/** The difference as Markdown, for the job summary and the pull-request comment; `heading` sets the level. */
export function renderChangesMarkdown(changes: CheckChanges, heading = '###'): string[] {
  const base = `\`${changes.base.commit.slice(0, 7)}\``;
  const lines = [
    `${heading} What this pull request changes`,
    '',
    `Against the base commit ${base}: ${changesHeadline(changes)}.`,
  ];
  const section = (title: string, body: string[]) => lines.push('', `**${title}**`, '', ...body);
  if (changes.newFailures.length > 0) {
    section(
      `❌ New failures (${changes.newFailures.length})`,
      table(['Severity', 'Rule', 'System', 'Location', 'Message'], findingRows(changes.newFailures, true)),
    );
  }
  if (changes.loosened.length > 0) {
    section(
      `⚠️ Loosened (${changes.loosened.length})`,
      table(['System', 'Term', 'Before', 'After', 'Location'], termRows(changes.loosened)),
    );
  }
  if (changes.fixed.length > 0) {
    section(
      `✅ Fixed (${changes.fixed.length})`,
      table(
        ['Severity', 'Rule', 'System', 'Location (base)', 'Message (base)'],
        findingRows(changes.fixed, false),
      ),
    );
  }
  const systems = [
    ...changes.systemsAdded.map(
      (s) => `- added: **${escapeCell(`${s.policy}/${s.system}`)}** (${escapeCell(s.file)})`,
    ),
    ...changes.systemsRemoved.map(
      (s) => `- removed: **${escapeCell(`${s.policy}/${s.system}`)}** (was in ${escapeCell(s.file)})`,
    ),
  ];
  if (systems.length > 0) section('Systems', systems.slice(0, CHANGE_ROWS));
  if (changes.tightened.length > 0) {
    lines.push(
      '',
      `<details><summary>Tightened (${changes.tightened.length})</summary>`,
      '',
      ...table(['System', 'Term', 'Before', 'After', 'Location'], termRows(changes.tightened)),
      '',
      '</details>',
    );
  }
  return lines;
}

/** The difference as plain lines, for the terminal. */
export function renderChangesText(changes: CheckChanges): string[] {
  const lines = [
    `changes against ${changes.base.revision} (${changes.base.commit.slice(0, 12)}): ${changesHeadline(changes)}`,
  ];
  for (const { finding: f, onBase } of changes.newFailures) {
    lines.push(
      `  new failure  ${f.severity} ${f.ruleId} ${where(f)}${onBase ? '' : ' (new system)'} at ${formatRange(f.location)}: ${f.message}`,
    );
  }
  for (const t of changes.loosened) {
    lines.push(
      `  loosened     ${t.policy}/${t.system} ${t.term}: ${t.before} → ${t.after} at ${formatRange(t.location)}`,
    );
  }
  for (const { finding: f } of changes.fixed)
    lines.push(`  fixed        ${f.severity} ${f.ruleId} ${where(f)}`);
  for (const s of changes.systemsAdded) lines.push(`  added        ${s.policy}/${s.system} (${s.file})`);
  for (const s of changes.systemsRemoved)
    lines.push(`  removed      ${s.policy}/${s.system} (was in ${s.file})`);
  for (const t of changes.tightened)
    lines.push(`  tightened    ${t.policy}/${t.system} ${t.term}: ${t.before} → ${t.after}`);
  return lines;
}
