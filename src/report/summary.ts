import type { CheckReport, ControlSummary, Finding, Severity, SystemRef } from '../controls/result.ts';
import { SEVERITIES } from '../controls/result.ts';
import { formatRange } from '../policy/source.ts';
import { reportedFindings } from './annotations.ts';
import { renderChangesMarkdown } from './changes-render.ts';
import { escapeCell } from './markdown.ts';

/** Past this many systems the matrix is transposed: one row per system, one column per control. */
export const MATRIX_MAX_SYSTEM_COLUMNS = 12;
/** Budget (UTF-8 bytes) for the failure list; GitHub refuses job summaries over 1 MiB. */
export const FAILURE_LIST_BUDGET = 800_000;
/** Budget (UTF-8 bytes) for the matrix, so a very large fleet cannot crowd out the failure list. */
export const MATRIX_BUDGET = 120_000;

const PASS = '✅';
const FAIL = '❌';
const NOT_APPLICABLE = '➖';

function bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function failedBreakdown(bySeverity: Record<Severity, number>): string {
  const parts = SEVERITIES.filter((s) => (bySeverity[s] ?? 0) > 0).map((s) => `${bySeverity[s]} ${s}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function verdict(report: CheckReport): string {
  const { counts } = report;
  const icon = report.failed ? FAIL : PASS;
  const word = report.failed ? '**Failed**' : '**Passed**';
  const scope = report.failScope === 'new' ? 'new failures at ' : '';
  const threshold =
    report.failOn === 'never' ? 'never fails on findings' : `fails on ${scope}${report.failOn} and above`;
  return (
    `${icon} ${word}: ${plural(counts.systems, 'system', 'systems')} in ` +
    `${plural(counts.policies, 'policy', 'policies')}, ${plural(counts.controls, 'control', 'controls')}; ` +
    `${counts.passed} passed, ${counts.failed} failed${failedBreakdown(counts.bySeverity)}, ` +
    `${counts.notApplicable} not applicable, ${plural(counts.problems, 'problem', 'problems')} ` +
    `(${threshold})`
  );
}

type Cell = { status: 'pass' } | { status: 'fail'; severity: Severity } | { status: 'not-applicable' } | null;

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

function key(ruleId: string, policy: string | undefined, system: string | undefined): string {
  return `${ruleId}\u0000${policy ?? ''}\u0000${system ?? ''}`;
}

/** Control findings by control, policy and system; policy-wide findings have an empty system. */
function indexFindings(findings: Finding[]): Map<string, Finding[]> {
  const index = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.kind !== 'control') continue;
    const k = key(f.ruleId, f.policy, f.system);
    const list = index.get(k);
    if (list) list.push(f);
    else index.set(k, [f]);
  }
  return index;
}

/** One cell: any failure wins (the worst severity is shown), then any pass, then not applicable. */
function cellFor(index: Map<string, Finding[]>, control: ControlSummary, system: SystemRef): Cell {
  const found = [
    ...(index.get(key(control.id, system.policy, system.system)) ?? []),
    // A policy-wide finding applies to every system of the policy.
    ...(index.get(key(control.id, system.policy, undefined)) ?? []),
  ];
  if (found.length === 0) return null;
  let worst: Severity | undefined;
  for (const f of found) {
    if (f.status === 'fail' && (worst === undefined || SEVERITY_RANK[f.severity] < SEVERITY_RANK[worst])) {
      worst = f.severity;
    }
  }
  if (worst !== undefined) return { status: 'fail', severity: worst };
  if (found.some((f) => f.status === 'pass')) return { status: 'pass' };
  return { status: 'not-applicable' };
}

function renderCell(cell: Cell): string {
  if (cell === null) return ' ';
  switch (cell.status) {
    case 'pass':
      return PASS;
    case 'fail':
      return `${FAIL} ${cell.severity}`;
    case 'not-applicable':
      return NOT_APPLICABLE;
  }
}

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

function systemLabel(system: SystemRef): string {
  return `${system.policy}/${system.system}`;
}

function criteriaText(control: ControlSummary): string {
  return control.criteria.soc2.join(', ');
}

/** Appends rows while they fit in the budget; returns how many were left out. */
function appendWithin(lines: string[], rows: string[], budget: number): number {
  let used = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const size = bytes(r) + 1;
    if (used + size > budget) return rows.length - i;
    used += size;
    lines.push(r);
  }
  return 0;
}

function renderMatrix(report: CheckReport): string[] {
  const controls = report.controls.filter((c) => c.evaluation === 'static');
  const systems = report.systems;
  const lines: string[] = ['### Controls × systems', ''];
  if (controls.length === 0 || systems.length === 0) {
    lines.push(controls.length === 0 ? '_No statically evaluated controls._' : '_No systems were checked._');
    return lines;
  }
  const index = indexFindings(report.findings);
  const legend = `${PASS} pass · ${FAIL} fail (severity) · ${NOT_APPLICABLE} not applicable`;

  if (systems.length <= MATRIX_MAX_SYSTEM_COLUMNS) {
    lines.push(legend, '');
    lines.push(row(['Control', 'SOC 2', ...systems.map((s) => escapeCell(systemLabel(s)))]));
    lines.push(row(['---', '---', ...systems.map(() => ':-:')]));
    for (const control of controls) {
      lines.push(
        row([
          `**${escapeCell(control.id)}** ${escapeCell(control.title)}`,
          escapeCell(criteriaText(control)),
          ...systems.map((s) => renderCell(cellFor(index, control, s))),
        ]),
      );
    }
    return lines;
  }

  // Transposed: one row per system, one column per control (by id), with a key to the controls.
  lines.push(legend, '');
  lines.push(row(['System', ...controls.map((c) => escapeCell(c.id))]));
  lines.push(row(['---', ...controls.map(() => ':-:')]));
  const rows = systems.map((s) =>
    row([escapeCell(systemLabel(s)), ...controls.map((c) => renderCell(cellFor(index, c, s)))]),
  );
  const left = appendWithin(lines, rows, MATRIX_BUDGET);
  if (left > 0) {
    lines.push(
      '',
      `_… and ${plural(left, 'more system', 'more systems')} not shown; the JSON report has all of them._`,
    );
  }
  lines.push('', '<details><summary>Controls</summary>', '');
  for (const control of controls) {
    const criteria = criteriaText(control);
    lines.push(
      `- **${escapeCell(control.id)}** ${escapeCell(control.title)}` +
        (criteria ? ` (SOC 2 ${escapeCell(criteria)})` : ''),
    );
  }
  lines.push('', '</details>');
  return lines;
}

function failureRow(f: Finding): string {
  const where = f.system ? `${f.policy ?? ''}/${f.system}` : (f.policy ?? '');
  return row([
    f.kind === 'problem' ? '⚠️' : FAIL,
    f.severity,
    `**${escapeCell(f.ruleId)}**`,
    escapeCell(where),
    escapeCell(formatRange(f.location)),
    escapeCell(f.message),
    escapeCell(f.remediation ?? ''),
  ]);
}

function renderFailures(report: CheckReport): string[] {
  const failures = reportedFindings(report);
  const lines: string[] = [`### Failures and problems (${failures.length})`, ''];
  if (failures.length === 0) {
    lines.push('None.');
    return lines;
  }
  lines.push(row(['', 'Severity', 'Rule', 'System', 'Location', 'Message', 'Fix']));
  lines.push(row(['---', '---', '---', '---', '---', '---', '---']));
  const left = appendWithin(lines, failures.map(failureRow), FAILURE_LIST_BUDGET);
  if (left > 0) {
    lines.push(
      '',
      `_… and ${left} more not shown to keep this summary under GitHub's size limit; ` +
        'the JSON report has all of them._',
    );
  }
  return lines;
}

/** The job summary, as GitHub-flavoured Markdown. */
export function renderSummary(report: CheckReport): string {
  const lines = [
    '## restorable check',
    '',
    verdict(report),
    '',
    // A pull request's reviewer wants the difference first; the whole state follows.
    ...(report.changes ? [...renderChangesMarkdown(report.changes), ''] : []),
    ...renderMatrix(report),
    '',
    ...renderFailures(report),
  ];
  return `${lines.join('\n')}\n`;
}
