import { createHash } from 'node:crypto';
import type { Log } from 'sarif';
import type { CheckReport, ControlSummary, Finding, Severity } from '../controls/result.ts';
import { reportedFindings } from './annotations.ts';

export const SARIF_SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';
export const INFORMATION_URI = 'https://github.com/restorable/restorable';
/** Key of the fingerprint in `partialFingerprints`; bump the version if its inputs ever change. */
export const FINGERPRINT_KEY = 'restorable/v1';

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export type SarifLevel = 'error' | 'warning' | 'note';

export function sarifLevel(severity: Severity): SarifLevel {
  switch (severity) {
    case 'critical':
    case 'high':
      return 'error';
    case 'medium':
      return 'warning';
    case 'low':
      return 'note';
  }
}

/** GitHub code scanning maps these to critical (≥ 9.0), high (≥ 7.0), medium (≥ 4.0) and low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: '9.5',
  high: '8.0',
  medium: '5.5',
  low: '3.0',
};

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown: string };
  helpUri?: string;
  defaultConfiguration: { level: SarifLevel };
  properties: Record<string, unknown>;
}

/** `Minimum retention` → `MinimumRetention`: SARIF wants an identifier-like rule name. */
function ruleName(title: string, fallback: string): string {
  const name = title
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
  return name || fallback.replace(/[^\p{L}\p{N}]+/gu, '');
}

function criteriaTags(control: ControlSummary): string[] {
  return [
    ...control.criteria.soc2.map((c) => `soc2/${c}`),
    ...control.criteria.iso27001.map((c) => `iso27001/${c}`),
    ...control.criteria.nist80053.map((c) => `nist80053/${c}`),
  ];
}

function criteriaLines(control: ControlSummary): string[] {
  const lines: string[] = [];
  if (control.criteria.soc2.length > 0) lines.push(`SOC 2: ${control.criteria.soc2.join(', ')}`);
  if (control.criteria.iso27001.length > 0) lines.push(`ISO 27001: ${control.criteria.iso27001.join(', ')}`);
  if (control.criteria.nist80053.length > 0)
    lines.push(`NIST 800-53: ${control.criteria.nist80053.join(', ')}`);
  return lines;
}

function controlRule(control: ControlSummary): SarifRule {
  const criteria = criteriaLines(control);
  const text = [
    control.description,
    '',
    `Remediation: ${control.remediation}`,
    ...(criteria.length ? ['', ...criteria] : []),
  ];
  const markdown = [
    control.description,
    '',
    `**Remediation:** ${control.remediation}`,
    ...(criteria.length ? ['', ...criteria.map((l) => `- ${l}`)] : []),
  ];
  return {
    id: control.id,
    name: ruleName(control.title, control.id),
    shortDescription: { text: control.title },
    fullDescription: { text: control.description },
    help: { text: text.join('\n'), markdown: markdown.join('\n') },
    defaultConfiguration: { level: sarifLevel(control.severity) },
    properties: {
      tags: [...criteriaTags(control), 'security'],
      'security-severity': SECURITY_SEVERITY[control.severity],
    },
  };
}

/** A rule for a problem with the files (or a control missing from the library listing). */
function findingRule(finding: Finding): SarifRule {
  return {
    id: finding.ruleId,
    name: ruleName(finding.title, finding.ruleId),
    shortDescription: { text: finding.title || finding.ruleId },
    defaultConfiguration: { level: sarifLevel(finding.severity) },
    properties: { tags: [finding.kind === 'problem' ? 'problem' : 'control'] },
  };
}

/** A relative URI with forward slashes, each segment percent-encoded. */
export function artifactUri(file: string): string {
  return file
    .replaceAll('\\', '/')
    .replace(/^(\.\/)+/, '')
    .split('/')
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

function positive(n: number): number {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

function region(finding: Finding): Record<string, number> {
  const { line, column, endLine, endColumn } = finding.location;
  const startLine = positive(line);
  const startColumn = positive(column);
  const end = Math.max(startLine, positive(endLine));
  const endCol = end === startLine ? Math.max(startColumn, positive(endColumn)) : positive(endColumn);
  return { startLine, startColumn, endLine: end, endColumn: endCol };
}

function fingerprint(parts: string[]): string {
  return createHash('sha256').update(parts.join('\u0000'), 'utf8').digest('hex');
}

function messageText(finding: Finding): string {
  const where = [finding.policy, finding.system].filter((p) => p !== undefined && p !== '').join('/');
  const text = where ? `[${where}] ${finding.message}` : finding.message;
  return finding.remediation ? `${text}\nFix: ${finding.remediation}` : text;
}

/** The report as SARIF 2.1.0, for GitHub code scanning. Passing findings are not results. */
export function renderSarif(report: CheckReport): Log {
  const rules: SarifRule[] = [];
  const ruleIndex = new Map<string, number>();
  const addRule = (rule: SarifRule) => {
    if (ruleIndex.has(rule.id)) return;
    ruleIndex.set(rule.id, rules.length);
    rules.push(rule);
  };
  for (const control of report.controls) addRule(controlRule(control));

  const reported = reportedFindings(report);
  // Problem rules (and any control missing from the listing) in a stable order.
  const extra = reported
    .filter((f) => !ruleIndex.has(f.ruleId))
    .sort((a, b) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0));
  for (const finding of extra) addRule(findingRule(finding));

  const seen = new Map<string, number>();
  const results = reported.map((finding) => {
    const file = finding.location.file.replaceAll('\\', '/');
    const parts = [finding.ruleId, finding.policy ?? '', finding.system ?? '', file];
    // Two results with the same identity (say, two duplicate keys in one file) would share a
    // fingerprint; the occurrence number keeps them apart and stays stable while their order does.
    const id = parts.join('\u0000');
    const occurrence = seen.get(id) ?? 0;
    seen.set(id, occurrence + 1);
    const print = fingerprint(occurrence === 0 ? parts : [...parts, String(occurrence)]);
    return {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId)!,
      level: sarifLevel(finding.severity),
      message: { text: messageText(finding) },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(file), uriBaseId: '%SRCROOT%' },
            region: region(finding),
          },
        },
      ],
      partialFingerprints: { [FINGERPRINT_KEY]: print },
      properties: {
        kind: finding.kind,
        severity: finding.severity,
        ...(finding.policy !== undefined ? { policy: finding.policy } : {}),
        ...(finding.system !== undefined ? { system: finding.system } : {}),
      },
    };
  });

  return {
    $schema: SARIF_SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            ...(SEMVER.test(report.tool.version) ? { semanticVersion: report.tool.version } : {}),
            informationUri: INFORMATION_URI,
            rules,
          },
        },
        columnKind: 'utf16CodeUnits',
        results,
      },
    ],
  };
}
