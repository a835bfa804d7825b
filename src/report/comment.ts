import type { CheckReport, Finding, Severity } from '../controls/result.ts';
import { SEVERITIES } from '../controls/result.ts';
import { reportedFindings } from './annotations.ts';
import { renderChangesMarkdown } from './changes-render.ts';
import { escapeCell } from './markdown.ts';
import { verdict } from './summary.ts';

/** The hidden first line that finds this tool's comment among a pull request's comments. */
export const CHECK_COMMENT_MARKER = '<!-- restorable:check -->';
/** Systems listed in the comment's matrix; the job summary and the JSON report have all of them. */
export const COMMENT_SYSTEMS = 30;

export interface CommentContext {
  /** The workflow run, for a link to the whole summary. */
  runUrl?: string;
  /** The head commit the check ran on. */
  headSha?: string;
}

/**
 * The pull-request comment: the verdict, what the pull request changes, and a compact matrix (one row per
 * system with its failing controls) rather than the summary's full controls × systems table, so that it
 * reads on a phone and stays far below GitHub's 65,536-character limit.
 */
export function renderCheckComment(report: CheckReport, context: CommentContext = {}): string {
  const lines = [CHECK_COMMENT_MARKER, '## restorable check', '', verdict(report), ''];
  if (report.changes) lines.push(...renderChangesMarkdown(report.changes), '');
  lines.push(...compactMatrix(report), '');
  const problems = reportedFindings(report).filter((f) => f.kind === 'problem');
  if (problems.length > 0) {
    lines.push(`**⚠️ Problems with the files (${problems.length})**`, '');
    for (const f of problems.slice(0, 20)) {
      lines.push(`- \`${escapeCell(`${f.location.file}:${f.location.line}`)}\` ${escapeCell(f.message)}`);
    }
    if (problems.length > 20) lines.push(`- … and ${problems.length - 20} more`);
    lines.push('');
  }
  const footer = [
    context.headSha ? `Checked at ${context.headSha.slice(0, 7)}.` : '',
    context.runUrl ? `[Full summary and reports](${context.runUrl}).` : '',
    'This comment is updated on every push.',
  ].filter(Boolean);
  lines.push(`<sub>${footer.join(' ')}</sub>`);
  return `${lines.join('\n')}\n`;
}

function compactMatrix(report: CheckReport): string[] {
  const failing = new Map<string, Finding[]>();
  for (const f of report.findings) {
    if (f.kind !== 'control' || f.status !== 'fail') continue;
    const systems = f.system
      ? [`${f.policy}/${f.system}`]
      : report.systems.filter((s) => s.policy === f.policy).map((s) => `${s.policy}/${s.system}`);
    for (const key of systems) {
      const list = failing.get(key) ?? [];
      list.push(f);
      failing.set(key, list);
    }
  }
  const lines = ['### Systems', ''];
  if (report.systems.length === 0) return [...lines, '_No systems were checked._'];
  lines.push('| System | Result | Failing controls |', '| --- | :-: | --- |');
  // Failing systems first, worst first; then the rest in file order.
  const worst = (key: string) =>
    Math.min(...(failing.get(key) ?? []).map((f) => SEVERITIES.indexOf(f.severity)), SEVERITIES.length);
  const rows = report.systems
    .map((s, order) => ({ key: `${s.policy}/${s.system}`, order }))
    .sort((a, b) => worst(a.key) - worst(b.key) || a.order - b.order);
  for (const { key } of rows.slice(0, COMMENT_SYSTEMS)) {
    const list = failing.get(key) ?? [];
    const ids = [...new Set(list.map((f) => `${f.ruleId} (${f.severity})`))];
    lines.push(
      `| ${escapeCell(key)} | ${list.length > 0 ? `❌ ${worstSeverity(list)}` : '✅'} | ${escapeCell(ids.join(', '))} |`,
    );
  }
  if (rows.length > COMMENT_SYSTEMS) {
    lines.push('', `_… and ${rows.length - COMMENT_SYSTEMS} more systems in the job summary._`);
  }
  return lines;
}

function worstSeverity(list: readonly Finding[]): Severity {
  return list.reduce<Severity>(
    (w, f) => (SEVERITIES.indexOf(f.severity) < SEVERITIES.indexOf(w) ? f.severity : w),
    'low',
  );
}
