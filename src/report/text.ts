import type { CheckReport, Finding, Severity } from '../controls/result.ts';
import { SEVERITIES } from '../controls/result.ts';
import { formatRange } from '../policy/source.ts';
import { compareFindings, isReported, reportedFindings } from './annotations.ts';
import { renderChangesText } from './changes-render.ts';

export interface TextOptions {
  /** Use ANSI colours. */
  color: boolean;
  /** Also list passing and not-applicable evaluations. */
  verbose: boolean;
}

const RESET = '\u001b[0m';
const STYLES = {
  bold: '\u001b[1m',
  dim: '\u001b[2m',
  red: '\u001b[31m',
  boldRed: '\u001b[1;31m',
  green: '\u001b[32m',
  yellow: '\u001b[33m',
  cyan: '\u001b[36m',
} as const;
type Style = keyof typeof STYLES;

const SEVERITY_STYLE: Record<Severity, Style> = {
  critical: 'boldRed',
  high: 'red',
  medium: 'yellow',
  low: 'cyan',
};

/**
 * Text from policies can reach the terminal: control characters (escape sequences included) are
 * dropped so a file cannot restyle or rewrite the output. Tabs become spaces; newlines are kept.
 */
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  return text.replace(/\t/g, ' ').replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '');
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

interface Line {
  location: string;
  label: string;
  labelStyle: Style;
  rule: string;
  scope: string;
  message: string;
  fix?: string;
}

function toLine(finding: Finding): Line {
  let label: string;
  let labelStyle: Style;
  if (isReported(finding)) {
    label = finding.severity.toUpperCase();
    labelStyle = SEVERITY_STYLE[finding.severity];
  } else if (finding.status === 'pass') {
    label = 'PASS';
    labelStyle = 'green';
  } else {
    label = 'N/A';
    labelStyle = 'dim';
  }
  return {
    location: clean(formatRange(finding.location)),
    label,
    labelStyle,
    rule: clean(finding.ruleId),
    scope: clean(finding.system ?? finding.policy ?? '-'),
    message: clean(finding.message),
    ...(isReported(finding) && finding.remediation ? { fix: clean(finding.remediation) } : {}),
  };
}

function summaryLine(report: CheckReport, paint: (style: Style, text: string) => string): string {
  const { counts } = report;
  const breakdown = SEVERITIES.filter((s) => (counts.bySeverity[s] ?? 0) > 0)
    .map((s) => `${counts.bySeverity[s]} ${s}`)
    .join(', ');
  const failed = `${counts.failed} failed` + (breakdown ? ` (${breakdown})` : '');
  const problems = plural(counts.problems, 'problem', 'problems');
  return (
    `checked ${plural(counts.systems, 'system', 'systems')} in ${plural(counts.policies, 'policy', 'policies')} ` +
    `against ${plural(counts.controls, 'control', 'controls')}: ` +
    `${counts.passed > 0 ? paint('green', `${counts.passed} passed`) : `${counts.passed} passed`}, ` +
    `${counts.failed > 0 ? paint('red', failed) : failed}, ` +
    `${counts.problems > 0 ? paint('yellow', problems) : problems}`
  );
}

/** Terminal output: failures and problems worst first (passes too when verbose), then a summary line. */
export function renderText(report: CheckReport, options: TextOptions): string {
  const paint = (style: Style, text: string): string =>
    options.color && text.length > 0 ? `${STYLES[style]}${text}${RESET}` : text;

  const findings = reportedFindings(report);
  if (options.verbose) {
    findings.push(...report.findings.filter((f) => !isReported(f)).sort(compareFindings));
  }
  const lines = findings.map(toLine);

  const width = (pick: (l: Line) => string) => Math.max(0, ...lines.map((l) => [...pick(l)].length));
  const pad = (text: string, w: number) => text + ' '.repeat(Math.max(0, w - [...text].length));
  const locationWidth = width((l) => l.location);
  const labelWidth = width((l) => l.label);
  const ruleWidth = width((l) => l.rule);
  const scopeWidth = width((l) => l.scope);
  const indent = ' '.repeat(4);

  const out: string[] = [];
  for (const l of lines) {
    const [first = '', ...rest] = l.message.split(/\r\n|\r|\n/);
    out.push(
      [
        paint('dim', pad(l.location, locationWidth)),
        paint(l.labelStyle, pad(l.label, labelWidth)),
        paint('bold', pad(l.rule, ruleWidth)),
        pad(l.scope, scopeWidth),
        first,
      ]
        .join('  ')
        .trimEnd(),
    );
    for (const more of rest) out.push(`${indent}${more}`);
    if (l.fix !== undefined) {
      const [fixFirst = '', ...fixRest] = l.fix.split(/\r\n|\r|\n/);
      out.push(`${indent}${paint('cyan', 'fix:')} ${fixFirst}`);
      for (const more of fixRest) out.push(`${indent}     ${more}`);
    }
  }
  if (out.length > 0) out.push('');
  if (report.changes) out.push(...renderChangesText(report.changes).map(clean), '');
  out.push(summaryLine(report, paint));
  return `${out.join('\n')}\n`;
}
