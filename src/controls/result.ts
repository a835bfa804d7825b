import type { SourceRange } from '../policy/source.ts';
import type { CheckChanges } from '../report/changes.ts';

export type Severity = 'critical' | 'high' | 'medium' | 'low';
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low'];

export function isFailOn(value: string): value is Severity | 'never' {
  return value === 'never' || (SEVERITIES as readonly string[]).includes(value);
}

export type Status = 'pass' | 'fail' | 'not-applicable';

/** Where a finding comes from: a control of the library, or a problem with the files themselves. */
export type FindingKind = 'control' | 'problem';

export interface Finding {
  kind: FindingKind;
  /** Control id (e.g. RB-RET-001) or problem rule (e.g. policy/schema/required, yaml/duplicate-key). */
  ruleId: string;
  title: string;
  severity: Severity;
  /** Problems are always 'fail' (and 'critical'): a file that cannot be read cannot be checked. */
  status: Status;
  /** policy metadata.name, when known */
  policy?: string;
  /** system name; absent for problems and policy-wide findings */
  system?: string;
  location: SourceRange;
  /** What is wrong (or, for a pass, what holds). */
  message: string;
  /** What to write instead. */
  remediation?: string;
}

export interface ControlSummary {
  id: string;
  title: string;
  description: string;
  severity: Severity;
  /** 'static' controls are evaluated by check; 'runtime' ones by status, against evidence. */
  evaluation: 'static' | 'runtime';
  criteria: { soc2: string[]; iso27001: string[]; nist80053: string[] };
  remediation: string;
  /** File the control was loaded from, relative to the working directory or the package. */
  source: string;
}

export interface SystemRef {
  policy: string;
  system: string;
  file: string;
}

export interface CheckCounts {
  files: number;
  policies: number;
  systems: number;
  controls: number;
  passed: number;
  failed: number;
  notApplicable: number;
  /** problems with the files (YAML, schema, config) */
  problems: number;
  /** Failing control findings by severity (problems are counted apart, in `problems`). */
  bySeverity: Record<Severity, number>;
}

export interface CheckReport {
  tool: { name: 'restorable'; version: string };
  startedAt: string;
  durationMs: number;
  /** Files read, relative to the working directory. */
  files: string[];
  systems: SystemRef[];
  controls: ControlSummary[];
  /** Every evaluation, passes included, then every problem. */
  findings: Finding[];
  counts: CheckCounts;
  /** Lowest severity that fails the run, or 'never'. */
  failOn: Severity | 'never';
  /**
   * True when a failing finding is at or above failOn; with failScope `new`, only a failure this change
   * brings (see `changes`), or any problem with the files.
   */
  failed: boolean;
  /** What fails the run: every failing finding (`all`, the default) or only new ones (`new`). */
  failScope?: FailScope;
  /** The difference from the base commit, when the check ran against one (a pull request, or `--base`). */
  changes?: CheckChanges;
}

export type FailScope = 'all' | 'new';
export const FAIL_SCOPES: readonly FailScope[] = ['all', 'new'];
