import type { CheckReport, Finding } from '../controls/result.ts';
import { formatRange } from '../policy/source.ts';
import { compareFindings } from './annotations.ts';

/** Characters XML 1.0 does not allow at all (even as references), lone surrogates included. */
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Replaces characters XML 1.0 cannot carry with U+FFFD. */
export function xmlSafe(text: string): string {
  return text.replace(INVALID_XML, '\uFFFD');
}

/** Escapes character data. */
export function escapeXmlText(text: string): string {
  return xmlSafe(text).replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // Attribute values are whitespace-normalised by parsers; references keep these characters.
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
};

/** Escapes a value for a double-quoted attribute. */
export function escapeXmlAttribute(text: string): string {
  return xmlSafe(text).replace(/[&<>"'\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]!);
}

function attributes(attrs: Record<string, string | number>): string {
  return Object.entries(attrs)
    .map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`)
    .join('');
}

interface Case {
  classname: string;
  name: string;
  finding: Finding;
  failed: boolean;
  skipped: boolean;
}

interface Suite {
  name: string;
  cases: Case[];
}

/** Appends `#2`, `#3`… to repeated names so every testcase name is unique, and stable. */
function uniqueName(used: Map<string, number>, name: string): string {
  const n = (used.get(name) ?? 0) + 1;
  used.set(name, n);
  return n === 1 ? name : `${name}#${n}`;
}

function failureBody(finding: Finding): string {
  const lines = [formatRange(finding.location), finding.message];
  if (finding.remediation) lines.push(`Fix: ${finding.remediation}`);
  return lines.join('\n');
}

function renderCase(c: Case): string[] {
  const open = `    <testcase${attributes({ classname: c.classname, name: c.name, time: '0' })}`;
  if (c.failed) {
    return [
      `${open}>`,
      `      <failure${attributes({ message: c.finding.message, type: c.finding.severity })}>${escapeXmlText(failureBody(c.finding))}</failure>`,
      '    </testcase>',
    ];
  }
  if (c.skipped) return [`${open}>`, '      <skipped message="not applicable"/>', '    </testcase>'];
  return [`${open}/>`];
}

function renderSuite(suite: Suite): string[] {
  const failures = suite.cases.filter((c) => c.failed).length;
  const skipped = suite.cases.filter((c) => c.skipped).length;
  const open = `  <testsuite${attributes({ name: suite.name, tests: suite.cases.length, failures, errors: 0, skipped, time: '0' })}`;
  if (suite.cases.length === 0) return [`${open}/>`];
  return [`${open}>`, ...suite.cases.flatMap(renderCase), '  </testsuite>'];
}

/** The report as JUnit XML: one suite per control, one testcase per evaluation, problems apart. */
export function renderJunit(report: CheckReport): string {
  const suites = new Map<string, Suite>();
  for (const control of report.controls) {
    if (control.evaluation !== 'static') continue;
    suites.set(control.id, { name: `${control.id} ${control.title}`, cases: [] });
  }
  const problems: Suite = { name: 'problems', cases: [] };
  const used = new Map<string, number>();

  // Sorted by rule, policy, system, then position, so names (and their #n suffixes) are stable.
  const findings = [...report.findings].sort(
    (a, b) =>
      (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) ||
      ((a.policy ?? '') < (b.policy ?? '') ? -1 : (a.policy ?? '') > (b.policy ?? '') ? 1 : 0) ||
      ((a.system ?? '') < (b.system ?? '') ? -1 : (a.system ?? '') > (b.system ?? '') ? 1 : 0) ||
      compareFindings(a, b),
  );
  for (const finding of findings) {
    if (finding.kind === 'problem') {
      problems.cases.push({
        classname: finding.ruleId,
        name: uniqueName(used, `${finding.ruleId}/${formatRange(finding.location)}`),
        finding,
        failed: true,
        skipped: false,
      });
      continue;
    }
    let suite = suites.get(finding.ruleId);
    if (!suite) {
      suite = { name: `${finding.ruleId} ${finding.title}`.trim(), cases: [] };
      suites.set(finding.ruleId, suite);
    }
    const scope = [finding.policy ?? '-', ...(finding.system !== undefined ? [finding.system] : [])].join(
      '/',
    );
    suite.cases.push({
      classname: finding.ruleId,
      name: uniqueName(used, `${finding.ruleId}/${scope}`),
      finding,
      failed: finding.status === 'fail',
      skipped: finding.status === 'not-applicable',
    });
  }

  const all = [...suites.values(), ...(problems.cases.length > 0 ? [problems] : [])];
  const cases = all.flatMap((s) => s.cases);
  const root = attributes({
    name: 'restorable check',
    tests: cases.length,
    failures: cases.filter((c) => c.failed).length,
    errors: 0,
    skipped: cases.filter((c) => c.skipped).length,
    time: (Math.max(0, report.durationMs) / 1000).toFixed(3),
  });
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${root}>`,
    ...all.flatMap(renderSuite),
    '</testsuites>',
  ];
  return `${lines.join('\n')}\n`;
}
