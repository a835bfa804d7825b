import { fails, loadProfile, repositoryProbe } from '../commands/check.ts';
import type { Comparison, Control, Predicate } from '../controls/control.ts';
import { type FactScope, factValue, systemFacts } from '../controls/facts.ts';
import { evaluate, fillTemplate, OPERATOR_WORDS, showFact } from '../controls/predicate.ts';
import type { Severity } from '../controls/result.ts';
import { discoverPolicyFiles } from '../policy/discover.ts';
import { formatDuration } from '../policy/duration.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import { formatRange } from '../policy/source.ts';
import type { YamlProblem } from '../policy/yaml-file.ts';
import { checkBranchName, EvidenceError, isShallow } from './branch.ts';
import { remoteUrl, withCredentials } from './credentials.ts';
import { Git } from './git.ts';
import type { EvidenceKind } from './record.ts';
import { evidenceSettings } from './settings.ts';
import { type EvidenceState, type KindState, parseState, type RecordRef, STATE_FILE } from './state.ts';

/**
 * `restorable status`: the run-time controls (controls/*.yaml with `check.runtime`) evaluated for every
 * system of the policies, against the newest evidence of that system in the evidence branch's state.json
 * (read from git objects, no checkout; fetched first from the remote when there is one), at the time of the
 * call. A scheduled workflow that runs it fails, and so alerts the team, when a backup is older than its RPO,
 * a drill failed or is overdue, a restore took longer than the RTO, or restored data was not verified
 * (SOC 2 CC7.2, A1.2, A1.3).
 *
 * state.json is derived from the records and not itself signed: `status` is an operational alarm read from
 * it cheaply; `evidence verify` is the proof that it matches the signed records.
 */

export type RuntimeStatus = 'pass' | 'fail' | 'no-evidence' | 'not-applicable';

/** The measures a run-time check may name (schemas/control.schema.json). */
export type Measure =
  | 'snapshotAge'
  | 'drillAge'
  | 'drillPassed'
  | 'restoreDuration'
  | 'restoredComplete'
  | 'backupSucceeded';

export interface RuntimeResult {
  system: string;
  /** The policy's metadata.name and file. */
  policy: string;
  file: string;
  control: string;
  title: string;
  severity: Severity;
  evidence: EvidenceKind;
  measure: string;
  status: RuntimeStatus;
  /** The measured value: seconds for a duration, true or false for a boolean measure. */
  measured?: number | boolean;
  /** The measured value as shown (`2d3h`, `true`). */
  value?: string;
  /** The requirement's limit as shown (`6h`), and with its operator (`at most 6h`). */
  limit?: string;
  expected?: string;
  /** Why it fails, or what holds. */
  message: string;
  remediation?: string;
  /** The record the value comes from. */
  record?: RecordRef;
  /** Whether this result fails the run (a failure, or missing evidence, at or above failOn). */
  failing: boolean;
}

export interface StatusCounts {
  systems: number;
  controls: number;
  pass: number;
  fail: number;
  noEvidence: number;
  notApplicable: number;
  problems: number;
}

export interface StatusReport {
  branch: string;
  /** Where the state was read: the remote-tracking ref, or the local branch. */
  revision: string;
  remote: string | null;
  tip?: string;
  /** Whether the branch (with a readable state.json) was found. */
  evidence: boolean;
  /** The branch's records and newest record, when it was found. */
  records?: number;
  head?: { sequence: number; file: string; time: string; sha256: string };
  /** The time the ages are measured at. */
  evaluatedAt: string;
  results: RuntimeResult[];
  /** Problems with the profile, the controls or the policies (`file:line:col: message`). */
  problems: string[];
  /** A sentence for the reader when there is no evidence to read (e.g. no branch yet). */
  notice?: string;
  counts: StatusCounts;
  failOn: Severity | 'never';
  allowMissing: boolean;
  /** True when a result fails at or above failOn, or a file has a problem: exit status 1. */
  failed: boolean;
}

export interface StatusOptions {
  root: string;
  /** Policy files, directories or globs; empty for the configured ones. */
  paths?: readonly string[];
  config?: string;
  /** Default: the profile's evidence.branch. */
  branch?: string;
  /**
   * The remote to fetch the branch from first. A name; null to read the local branch only. Default:
   * `origin` when there is one, else the local branch.
   */
  remote?: string | null;
  /** Overrides the profile's failOn. */
  failOn?: Severity | 'never';
  /** Missing evidence is reported but does not fail the run. */
  allowMissing?: boolean;
  now?: Date;
  env?: NodeJS.ProcessEnv;
}

/** Reads the evidence branch's state and evaluates the run-time controls on every system of the policies. */
export async function evidenceStatus(options: StatusOptions): Promise<StatusReport> {
  const env = options.env ?? process.env;
  const now = options.now ?? new Date();
  const settings = evidenceSettings(options.root, options.config);
  const branch = checkBranchName(options.branch ?? settings.branch);
  const { config, library, profile } = loadProfile(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths ?? [], config.data.policies);
  const problems: YamlProblem[] = [
    ...config.problems,
    ...library.problems,
    ...profile.problems,
    ...discovered.problems,
  ];
  const systems: SystemToCheck[] = [];
  const probe = repositoryProbe(options.root);
  problems.push(
    ...loadPolicies(options.root, discovered.files, (policy, valid) => {
      if (!valid) return;
      policy.data.systems.forEach((system, index) => {
        systems.push({
          name: system.name,
          policy: policy.data.metadata.name,
          file: policy.file,
          scope: systemFacts(policy.data, index, probe),
        });
      });
    }),
  );
  if (discovered.files.length === 0 && discovered.problems.length === 0) {
    problems.push({
      ruleId: 'policy/none-found',
      message: 'no policy files found',
      remediation: 'Add a policy under .restorable/ or give the paths to check.',
      location: { file: '.', line: 1, column: 1, endLine: 1, endColumn: 1 },
    });
  }

  const read = await readState(options.root, branch, options.remote, env);
  const failOn = options.failOn ?? config.data.failOn ?? 'low';
  const allowMissing = options.allowMissing ?? false;
  const runtime = profile.controls.filter((c) => c.data.check.runtime !== undefined);
  const results = evaluateRuntime(read.state, systems, runtime, now, { failOn, allowMissing });
  const counts: StatusCounts = {
    systems: systems.length,
    controls: runtime.length,
    pass: 0,
    fail: 0,
    noEvidence: 0,
    notApplicable: 0,
    problems: problems.length,
  };
  for (const r of results) {
    if (r.status === 'pass') counts.pass++;
    else if (r.status === 'fail') counts.fail++;
    else if (r.status === 'no-evidence') counts.noEvidence++;
    else counts.notApplicable++;
  }
  const report: StatusReport = {
    branch,
    revision: read.revision,
    remote: read.remote,
    evidence: read.state !== undefined,
    evaluatedAt: now.toISOString(),
    results,
    problems: problems.map((p) => `${formatRange(p.location)}: ${p.message}`),
    counts,
    failOn,
    allowMissing,
    failed: problems.length > 0 || results.some((r) => r.failing),
  };
  if (read.tip !== undefined) report.tip = read.tip;
  if (read.notice !== undefined) report.notice = read.notice;
  if (read.state) {
    const { head } = read.state;
    report.records = read.state.count;
    report.head = { sequence: head.sequence, file: head.file, time: head.time, sha256: head.sha256 };
  }
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// The state, through git plumbing

interface ReadState {
  state?: EvidenceState;
  revision: string;
  remote: string | null;
  tip?: string;
  notice?: string;
}

/** Fetches the branch (when there is a remote) and reads its state.json from the git objects. */
export async function readState(
  root: string,
  branch: string,
  remote: string | null | undefined,
  env: NodeJS.ProcessEnv,
): Promise<ReadState> {
  let git = new Git(root, env);
  const repository = await git.run(['rev-parse', '--git-dir'], { ok: [0, 128] });
  if (repository.code !== 0) throw new EvidenceError(`${root} is not a git repository`);
  let name: string | null = null;
  if (remote !== null) {
    const wanted = remote ?? 'origin';
    const url = await remoteUrl(git, wanted);
    if (url === undefined && remote !== undefined) {
      throw new EvidenceError(`${root} has no remote "${wanted}" to read the evidence branch from`);
    }
    if (url !== undefined) {
      name = wanted;
      git = await withCredentials(git, url, env);
    }
  }
  const local = `refs/heads/${branch}`;
  if (name !== null) {
    const revision = `refs/remotes/${name}/${branch}`;
    const fetched = await git.run(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        // state.json is all that is read: in a shallow clone (actions/checkout's default), the tip is enough.
        ...((await isShallow(git)) ? ['--depth=1'] : []),
        '--',
        name,
        `+${local}:${revision}`,
      ],
      { ok: [0, 1, 128] },
    );
    if (fetched.code !== 0) {
      if (/couldn't find remote ref/i.test(fetched.stderr)) {
        return {
          revision,
          remote: name,
          notice: `${name} has no evidence branch ${branch} yet: no backup, drill or prune has written evidence. Runs write it when the profile has an \`evidence\` section and a signing key is in the environment (RESTORABLE_EVIDENCE_KEY).`,
        };
      }
      throw new EvidenceError(
        `cannot fetch ${branch} from ${name}: ${fetched.stderr.trim() || `git fetch exited with ${fetched.code}`}`,
      );
    }
    return readAt(git, revision, name, branch);
  }
  return readAt(git, local, null, branch);
}

async function readAt(git: Git, revision: string, remote: string | null, branch: string): Promise<ReadState> {
  const names = [`${revision}^{commit}`, `${revision}:${STATE_FILE}`];
  const objects = await git.catObjects(names);
  const tip = objects.get(names[0]!)?.id;
  if (tip === undefined) {
    return {
      revision,
      remote,
      notice: `there is no evidence branch ${branch} in ${git.cwd} yet: no backup, drill or prune has written evidence. Runs write it when the profile has an \`evidence\` section and a signing key is in the environment (RESTORABLE_EVIDENCE_KEY).`,
    };
  }
  const blob = objects.get(names[1]!);
  const state = blob?.type === 'blob' ? parseState(blob.content) : undefined;
  if (!state) {
    throw new EvidenceError(
      `${revision} (at ${tip.slice(0, 12)}) has ${blob ? 'a state.json this version cannot read' : 'no state.json'}; the next append rebuilds it from the records (run \`restorable evidence verify\` to check them)`,
    );
  }
  return { state, revision, remote, tip };
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation

/** One system of a policy, with its facts. */
export interface SystemToCheck {
  name: string;
  policy: string;
  file: string;
  scope: FactScope;
}

const DURATION_MEASURES = new Set(['snapshotAge', 'drillAge', 'restoreDuration']);

/**
 * Evaluates each run-time control on each system against `state` (undefined: no evidence at all), with ages
 * measured at `now`. Pure: the tests feed it states made with nextState.
 */
export function evaluateRuntime(
  state: EvidenceState | undefined,
  systems: readonly SystemToCheck[],
  controls: readonly Control[],
  now: Date,
  options: { failOn?: Severity | 'never'; allowMissing?: boolean } = {},
): RuntimeResult[] {
  const failOn = options.failOn ?? 'low';
  const results: RuntimeResult[] = [];
  for (const system of systems) {
    for (const control of controls) {
      const check = control.data.check.runtime;
      if (!check) continue;
      const evidence = check.evidence as EvidenceKind;
      const base = {
        system: system.name,
        policy: system.policy,
        file: system.file,
        control: control.data.id,
        title: control.data.title,
        severity: control.severity,
        evidence,
        measure: check.measure,
      };
      if (check.when && !evaluate(check.when, system.scope, control).ok) {
        results.push({
          ...base,
          status: 'not-applicable',
          message: 'does not apply to this system',
          failing: false,
        });
        continue;
      }
      const kind = state?.systems[system.name]?.[evidence];
      const measured = measure(check.measure, kind, now, evidence);
      if (measured.value === undefined) {
        const result: RuntimeResult = {
          ...base,
          status: measured.status,
          message: measured.why,
          remediation: fillTemplate(control.data.remediation, undefined, system.scope, control),
          failing:
            measured.status === 'fail' || !options.allowMissing ? fails(control.severity, failOn) : false,
        };
        const limit = limitOf(check.require, system.scope, control);
        if (limit) Object.assign(result, limit);
        if (measured.ref) result.record = measured.ref;
        results.push(result);
        continue;
      }
      const scope: FactScope = {
        ...system.scope,
        values: { ...system.scope.values, measured: measured.value },
      };
      const outcome = evaluate(check.require, scope, control);
      const value = show(check.measure, measured.value);
      const result: RuntimeResult = {
        ...base,
        status: outcome.ok ? 'pass' : 'fail',
        measured: measured.value,
        value,
        message: '',
        failing: !outcome.ok && fails(control.severity, failOn),
      };
      if (measured.ref) result.record = measured.ref;
      if (outcome.ok) {
        const limit = limitOf(check.require, scope, control);
        if (limit) Object.assign(result, limit);
        result.message = `${check.measure} is ${value}${limit ? `, ${limit.expected}` : ''}`;
      } else {
        const failure = outcome.failure;
        result.limit = failure.limit;
        result.expected = failure.expected;
        result.message = fillTemplate(check.message, failure, scope, control) ?? failure.text;
        const remediation = fillTemplate(control.data.remediation, failure, scope, control);
        if (remediation !== undefined) result.remediation = remediation;
      }
      results.push(result);
    }
  }
  return results;
}

type Measured =
  | { value: number | boolean; ref?: RecordRef }
  | { value?: undefined; status: 'fail' | 'no-evidence'; why: string; ref?: RecordRef };

const describe = (ref: RecordRef) => `#${ref.sequence} of ${ref.time}, ${ref.outcome}`;

/** The value of `name` from the newest records of one kind of one system. */
export function measure(
  name: string,
  kind: KindState | undefined,
  now: Date,
  evidence: EvidenceKind = name === 'snapshotAge' || name === 'backupSucceeded' ? 'backup' : 'drill',
): Measured {
  if (!kind)
    return { status: 'no-evidence', why: `the evidence branch holds no ${evidence} record of this system` };
  const last = kind.last;
  const age = (time: string) => Math.max(0, Math.floor((now.getTime() - Date.parse(time)) / 1000));
  switch (name) {
    case 'snapshotAge':
    case 'drillAge': {
      const ref = kind.lastSuccess;
      if (!ref) {
        return {
          status: 'fail',
          why: `no ${evidence} of this system has succeeded: the newest (${describe(last)}) and every one before it did not`,
          ref: last,
        };
      }
      const time = name === 'snapshotAge' ? (ref.snapshotTime ?? ref.time) : ref.time;
      return { value: age(time), ref };
    }
    case 'restoreDuration':
      if (last.restoreDurationMs === undefined) {
        return {
          status: 'no-evidence',
          why: `the newest ${evidence} (${describe(last)}) recorded no restore time (measurements.restoreDurationMs)`,
          ref: last,
        };
      }
      return { value: Math.round(last.restoreDurationMs / 1000), ref: last };
    case 'restoredComplete':
      // A drill that did not say it verified the restored data did not verify it.
      return { value: last.verified === true, ref: last };
    case 'drillPassed':
    case 'backupSucceeded':
      return { value: last.outcome === 'success', ref: last };
    default:
      return {
        status: 'no-evidence',
        why: `this version of restorable does not know the measure ${name}`,
        ref: last,
      };
  }
}

/**
 * A measured value as shown: durations to the second under an hour, else rounded up to the minute (an age
 * of 6h0m30s shows as 6h1m, never as a 6h that seems to meet a 6h limit).
 */
export function show(measureName: string, value: number | boolean): string {
  if (!DURATION_MEASURES.has(measureName) || typeof value !== 'number') return String(value);
  return formatDuration(value < 3600 ? value : Math.ceil(value / 60) * 60);
}

/** The limit the requirement puts on `measured` (its first comparison of it), as shown. */
function limitOf(
  predicate: Predicate,
  scope: FactScope,
  control: Control,
): { limit: string; expected: string } | undefined {
  const comparison = firstComparison(predicate);
  if (!comparison) return undefined;
  const op = Object.keys(OPERATOR_WORDS).find((o) => o in comparison);
  if (!op) return undefined;
  const operand = comparison[op as keyof Comparison] as unknown;
  let limit: string;
  if (typeof operand === 'object' && operand !== null && 'param' in operand) {
    limit = control.paramText[String((operand as { param: string }).param)] ?? 'not set';
  } else if (typeof operand === 'object' && operand !== null && 'fact' in operand) {
    const fact = String((operand as { fact: string }).fact);
    limit = showFact(fact, factValue(scope, fact));
  } else if (Array.isArray(operand)) {
    limit = operand.map(String).join(', ');
  } else {
    limit = String(operand);
  }
  return { limit, expected: `${OPERATOR_WORDS[op as keyof typeof OPERATOR_WORDS]} ${limit}` };
}

function firstComparison(predicate: Predicate): Comparison | undefined {
  if ('all' in predicate) return predicate.all.map(firstComparison).find(Boolean);
  if ('any' in predicate) return predicate.any.map(firstComparison).find(Boolean);
  if ('not' in predicate || 'each' in predicate) return undefined;
  return predicate.fact === 'measured' ? predicate : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Text

const LABEL: Record<RuntimeStatus, string> = {
  pass: 'pass',
  fail: 'FAIL',
  'no-evidence': 'NO EVIDENCE',
  'not-applicable': 'n/a',
};

/** The report for a terminal: a table of system × control, then one paragraph per failure. */
export function renderStatus(report: StatusReport): string {
  const lines: string[] = [];
  const where = report.tip ? `${report.revision} at ${report.tip.slice(0, 12)}` : `${report.revision}`;
  if (report.evidence && report.head) {
    lines.push(
      `evidence: ${where}, ${report.records} record${report.records === 1 ? '' : 's'}, newest #${report.head.sequence} of ${report.head.time}; evaluated at ${report.evaluatedAt}`,
    );
  } else {
    lines.push(`evidence: ${report.notice ?? `none in ${where}`}`);
  }
  for (const problem of report.problems) lines.push(`problem: ${problem}`);
  lines.push('');
  if (report.results.length === 0) {
    lines.push(
      report.counts.controls === 0
        ? 'No run-time control is selected by the profile: nothing to evaluate.'
        : 'No system to evaluate.',
    );
  } else {
    const header = ['SYSTEM', 'CONTROL', 'MEASURE', 'VALUE', 'REQUIRED', 'STATUS', 'RECORD'];
    const rows = report.results.map((r) => [
      r.system,
      r.control,
      r.measure,
      r.value ?? '-',
      r.expected ?? '-',
      LABEL[r.status],
      r.record ? `#${r.record.sequence} ${r.record.time.slice(0, 16).replace('T', ' ')}` : '-',
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (row: string[]) =>
      row
        .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    lines.push(line(header));
    let previous = '';
    for (const [i, row] of rows.entries()) {
      // A blank line between systems.
      if (previous !== '' && report.results[i]!.system !== previous) lines.push('');
      previous = report.results[i]!.system;
      lines.push(line(row));
    }
  }
  // Without any evidence, the notice above says why every result lacks it.
  const bad = report.results.filter(
    (r) => r.status === 'fail' || (r.status === 'no-evidence' && report.evidence),
  );
  if (bad.length > 0) lines.push('');
  for (const r of bad) {
    const what =
      r.status === 'fail'
        ? `${r.measure} ${r.value ?? 'not measured'}${r.limit !== undefined ? `, limit ${r.limit}` : ''}`
        : 'no evidence';
    lines.push(
      `${LABEL[r.status]} ${r.system} ${r.control} (${r.severity}, ${r.title}; ${what}): ${r.message}${r.record ? ` [${r.record.file}]` : ''}`,
    );
    if (r.remediation) lines.push(`  remediation: ${r.remediation}`);
  }
  const c = report.counts;
  lines.push('');
  lines.push(
    `${c.systems} system${c.systems === 1 ? '' : 's'} × ${c.controls} run-time control${c.controls === 1 ? '' : 's'}: ${c.pass} pass, ${c.fail} fail, ${c.noEvidence} without evidence, ${c.notApplicable} not applicable${c.problems ? `; ${c.problems} problem${c.problems === 1 ? '' : 's'} with files` : ''}${report.failed ? ` (fails at ${report.failOn}${report.allowMissing ? '' : ', missing evidence included'})` : ''}`,
  );
  return `${lines.join('\n')}\n`;
}
