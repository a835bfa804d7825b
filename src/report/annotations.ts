import type { CheckReport, Finding, Severity } from '../controls/result.ts';

export type AnnotationLevel = 'error' | 'warning' | 'notice';

export interface Annotation {
  level: AnnotationLevel;
  message: string;
  title: string;
  file: string;
  startLine: number;
  startColumn: number;
  endLine: number;
  endColumn: number;
}

/** GitHub shows at most this many annotations of each level per step. */
export const ANNOTATIONS_PER_LEVEL = 10;

const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/**
 * Whether a finding is reported as a failure: a failing control evaluation, or a problem with the
 * files (a problem is always reported, whatever its status).
 */
export function isReported(finding: Finding): boolean {
  return finding.kind === 'problem' || finding.status === 'fail';
}

function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Worst first: severity (critical, high, medium, low), then file, line, column, and finally rule,
 * policy, system and message so the order never depends on the order findings were produced in.
 */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    compareText(a.location.file, b.location.file) ||
    a.location.line - b.location.line ||
    a.location.column - b.location.column ||
    compareText(a.ruleId, b.ruleId) ||
    compareText(a.policy, b.policy) ||
    compareText(a.system, b.system) ||
    compareText(a.message, b.message)
  );
}

/** Failing findings and problems, worst first. */
export function reportedFindings(report: CheckReport): Finding[] {
  return report.findings.filter(isReported).sort(compareFindings);
}

export function annotationLevel(severity: Severity): AnnotationLevel {
  switch (severity) {
    case 'critical':
    case 'high':
      return 'error';
    case 'medium':
      return 'warning';
    case 'low':
      return 'notice';
  }
}

/** `RB-RET-001 Minimum retention (payments-db)`; the system is left out when there is none. */
export function findingTitle(finding: Finding): string {
  const base = `${finding.ruleId} ${finding.title}`.trim();
  return finding.system ? `${base} (${finding.system})` : base;
}

function positive(n: number): number {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

function toAnnotation(finding: Finding): Annotation {
  const { location } = finding;
  const startLine = positive(location.line);
  const startColumn = positive(location.column);
  const endLine = Math.max(startLine, positive(location.endLine));
  const endColumn =
    endLine === startLine
      ? Math.max(startColumn, positive(location.endColumn))
      : positive(location.endColumn);
  return {
    level: annotationLevel(finding.severity),
    title: findingTitle(finding),
    message: finding.remediation ? `${finding.message}\nFix: ${finding.remediation}` : finding.message,
    file: location.file.replaceAll('\\', '/'),
    startLine,
    startColumn,
    endLine,
    endColumn,
  };
}

/**
 * The annotations to emit for a report: failing findings and problems, worst first, at most
 * {@link ANNOTATIONS_PER_LEVEL} per level (GitHub drops the rest anyway).
 */
export function selectAnnotations(report: CheckReport): Annotation[] {
  const perLevel: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };
  const selected: Annotation[] = [];
  for (const finding of reportedFindings(report)) {
    const level = annotationLevel(finding.severity);
    if (perLevel[level] >= ANNOTATIONS_PER_LEVEL) continue;
    perLevel[level] += 1;
    selected.push(toAnnotation(finding));
  }
  return selected;
}

/** How many failing findings and problems {@link selectAnnotations} leaves out. */
export function annotationOverflow(report: CheckReport): number {
  return reportedFindings(report).length - selectAnnotations(report).length;
}
