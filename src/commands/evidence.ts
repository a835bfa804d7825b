import type { CheckReport } from '../controls/result.ts';
import { policyEntries } from '../evidence/context.ts';
import type { ControlEntry, EvidenceKind, Measurements, Outcome, RecordDraft } from '../evidence/record.ts';
import { SIGNING_ENV } from '../evidence/signing.ts';
import { writeEvidence } from '../evidence/write.ts';
import { DEFAULT_CONFIG_PATH, DEFAULT_EVIDENCE_BRANCH, loadConfig } from '../policy/config.ts';
import type { SystemBackup } from './backup.ts';
import type { DrillRun } from './drill.ts';
import type { RepositoryPruneRun } from './prune.ts';

/**
 * What the commands do with evidence (docs/evidence-format.md, "When records are written"): whether a run
 * writes records, the record each run makes (drafts), and appending them one by one, where a failure stops
 * the appends but never the run itself. The CLI and the Action share this; only their output differs.
 */

/** Exit status when the run itself succeeded (or was partial) but its evidence could not be written. */
export const EXIT_EVIDENCE = 4;

/** The longest `message` a record holds (the schema's limit). */
const MAX_MESSAGE = 4096;

export interface EvidenceOptions {
  root: string;
  /** The profile (default .restorable/config.yaml). */
  config?: string;
  /** Where the signing key (SIGNING_ENV) and any token come from. */
  env: NodeJS.ProcessEnv;
  /** The remote to push to (see WriteEvidenceOptions.remote). */
  remote?: string | null;
  /** False for --no-evidence (Action: `evidence: false`): nothing is written, nothing is said. */
  enabled?: boolean;
  /** The run asked for evidence by name (check --evidence): say why when none can be written. */
  requested?: boolean;
  /** How to give the key, for the warning (`set RESTORABLE_EVIDENCE_KEY …`). */
  keyHint?: string;
  /** One line per record appended. */
  log: (line: string) => void;
  /** Evidence that is configured but cannot be written for want of a key: one line, not a failure. */
  warn: (line: string) => void;
  /** An append that failed: the run's evidence is incomplete. */
  error: (line: string) => void;
}

export interface WrittenRecord {
  kind: EvidenceKind;
  systems: string[];
  file: string;
  sha256: string;
  commit: string;
  branch: string;
  /** The remote pushed to, or null when only the local branch was written. */
  remote: string | null;
}

/** What a run's evidence came to, for --json and the Action's outputs. */
export interface EvidenceSummary {
  /** Why nothing was written, when evidence was off for this run. */
  skipped?: string;
  written: WrittenRecord[];
  /** The failure that stopped the appends. */
  error?: string;
  /** The records not written because of it (`backup payments-db`). */
  notWritten?: string[];
}

export function hasSigningKey(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env[SIGNING_ENV.key] || env[SIGNING_ENV.keyFile]);
}

/** Pull-request events run code under review: `check` never writes evidence there. */
export function isPullRequestEvent(env: NodeJS.ProcessEnv): boolean {
  return /^pull_request/.test(env.GITHUB_EVENT_NAME ?? '');
}

/**
 * One run's evidence. A run writes records when the profile has an `evidence` section and a signing key is
 * in the environment; evidence configured without a key is one warning and no record; a key without
 * configuration writes nothing either (and says so). Appends happen one by one; the first that fails is
 * reported and stops the others, which are listed as not written.
 */
export class EvidenceRun {
  readonly written: WrittenRecord[] = [];
  readonly notWritten: string[] = [];
  /** Why nothing is written, when evidence is off for this run. */
  readonly skipped: string | undefined;
  private failure: string | undefined;
  private readonly options: EvidenceOptions;

  constructor(options: EvidenceOptions) {
    this.options = options;
    this.skipped = this.whyOff();
  }

  get enabled(): boolean {
    return this.skipped === undefined;
  }

  /** The failure that stopped the appends, if one did. */
  get error(): string | undefined {
    return this.failure;
  }

  private whyOff(): string | undefined {
    const { options } = this;
    if (options.enabled === false) return 'evidence turned off for this run';
    const config = loadConfig(options.root, options.config);
    const file = config.file ?? options.config ?? DEFAULT_CONFIG_PATH;
    const keyed = hasSigningKey(options.env);
    if (config.problems.length > 0) {
      const why = `evidence not written: ${file} has problems`;
      if (options.requested || keyed) options.warn(why);
      return why;
    }
    const evidence = config.data.evidence;
    if (evidence === undefined) {
      const why = `evidence not written: ${file} has no \`evidence\` section (the evidence branch and the pinned signing key)`;
      if (options.requested || keyed) options.warn(why);
      return why;
    }
    if (!keyed) {
      const why = `evidence not written: ${file} configures the evidence branch ${evidence.branch ?? DEFAULT_EVIDENCE_BRANCH}, but no signing key is in the environment (${options.keyHint ?? `set ${SIGNING_ENV.key} or ${SIGNING_ENV.keyFile}`})`;
      options.warn(why);
      return why;
    }
    if (evidence.signingKey === undefined) {
      options.warn(
        `evidence: ${file} pins no signing key (evidence.signingKey.fingerprint): records are written, but nothing ties them to your key until you pin its fingerprint`,
      );
    }
    return undefined;
  }

  /**
   * Appends the record `label` names (`backup payments-db`), made by `draft` (whose own failures count as
   * the append's). Returns whether it was written.
   */
  async append(label: string, draft: () => Promise<RecordDraft>): Promise<boolean> {
    if (!this.enabled) return false;
    if (this.error !== undefined) {
      this.notWritten.push(label);
      return false;
    }
    const { options } = this;
    try {
      const result = await writeEvidence(await draft(), {
        root: options.root,
        env: options.env,
        log: options.log,
        ...(options.config !== undefined ? { config: options.config } : {}),
        ...(options.remote !== undefined ? { remote: options.remote } : {}),
      });
      if (!result.written) throw new Error(result.reason);
      const where = result.remote === null ? `branch ${result.branch}` : `${result.remote}/${result.branch}`;
      this.written.push({
        kind: result.record.kind,
        systems: result.record.systems.map((s) => s.name),
        file: result.file,
        sha256: result.sha256,
        commit: result.commit,
        branch: result.branch,
        remote: result.remote,
      });
      options.log(`evidence: ${label}: appended ${result.file} to ${where} (sha256 ${result.sha256})`);
      return true;
    } catch (error) {
      this.failure = `evidence: the ${label} record was not written: ${(error as Error).message}`;
      this.notWritten.push(label);
      options.error(this.failure);
      return false;
    }
  }

  /** Appends the record of one system's backup; a system that was not due ran nothing and gets none. */
  async appendBackup(result: SystemBackup): Promise<void> {
    if (result.status === 'not-due') return;
    const { root, env } = this.options;
    await this.append(`backup ${result.system}`, () => backupDraft(root, result, env));
  }

  /** Appends the record of one system's drill; a drill that was not due ran nothing and gets none. */
  async appendDrill(result: DrillRun): Promise<void> {
    if (result.status === 'not-due') return;
    const { root, env } = this.options;
    await this.append(`drill ${result.system}`, () => drillDraft(root, result, env));
  }

  /** Appends one record per system pruned in a repository; a dry run changed nothing and gets none. */
  async appendPrune(run: RepositoryPruneRun): Promise<void> {
    if (run.result?.dryRun) return;
    const { root, env } = this.options;
    for (const system of run.systems) {
      await this.append(`prune ${system} (${run.name})`, () => pruneDraft(root, run, system, env));
    }
  }

  /** What to say when the run is done (`the prune is done`) but some of its records are not written. */
  incomplete(done: string): string {
    return `${done}, but the evidence is incomplete (not written: ${this.notWritten.join(', ')})`;
  }

  summary(): EvidenceSummary {
    const summary: EvidenceSummary = { written: this.written };
    if (this.skipped !== undefined) summary.skipped = this.skipped;
    if (this.error !== undefined) {
      summary.error = this.error;
      summary.notWritten = this.notWritten;
    }
    return summary;
  }
}

function truncate(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

const OUTCOME: Record<Exclude<SystemBackup['status'], 'not-due'>, Outcome> = {
  ok: 'success',
  partial: 'partial',
  failed: 'failure',
};

/** The `backup` record of one system's run (not for a system that was not due: it did not run). */
export async function backupDraft(
  root: string,
  result: SystemBackup,
  env: NodeJS.ProcessEnv,
): Promise<RecordDraft> {
  if (result.status === 'not-due') throw new Error(`${result.system} was not due: it has no backup record`);
  const first = result.repositories[0]?.summary;
  const sum = (key: 'bytesAdded' | 'bytesStored') =>
    result.repositories.reduce((total, repository) => total + repository.summary[key], 0);
  const measurements: Measurements = {
    snapshots: result.repositories.map((r) => ({ repository: r.name, id: r.snapshot })),
    durationMs:
      first?.durationMs ?? Math.max(0, Date.parse(result.finishedAt) - Date.parse(result.startedAt)),
    problems: result.problems.length,
  };
  if (first) {
    // One pass over the source: files, bytes and bytes read are the same for every repository; what each
    // repository added and stored is summed.
    Object.assign(measurements, {
      files: first.files,
      bytes: first.bytes,
      bytesRead: first.bytesRead,
      bytesAdded: sum('bytesAdded'),
      bytesStored: sum('bytesStored'),
    });
  }
  const draft: RecordDraft = {
    kind: 'backup',
    outcome: OUTCOME[result.status],
    startedAt: result.startedAt,
    time: result.finishedAt,
    systems: [{ name: result.system, policy: result.policy }],
    policies: await policyEntries(root, [{ file: result.file, name: result.policy }], env),
    measurements,
  };
  if (result.status === 'failed') draft.message = truncate(result.message ?? 'the backup failed');
  if (result.status === 'partial') {
    const [problem] = result.problems;
    const more = result.problems.length > 1 ? ` (and ${result.problems.length - 1} more)` : '';
    draft.message = truncate(
      `${result.problems.length} path(s) left out of the snapshot: ${problem?.path}: ${problem?.message}${more}`,
    );
  }
  return draft;
}

/** Output of a failed verify step kept in its record. */
const MAX_STEP_OUTPUT = 1024;

/**
 * The `drill` record of one system: the snapshot drilled and how it was chosen (the seed repeats the draw),
 * restore and verification times against the RTO, the snapshot's age, what was restored,
 * whether it all read back as recorded, and each verify step's result.
 */
export async function drillDraft(
  root: string,
  result: DrillRun,
  env: NodeJS.ProcessEnv,
): Promise<RecordDraft> {
  if (result.status === 'not-due') throw new Error(`${result.system} was not due: it has no drill record`);
  const m = result.measurements;
  const measurements: Measurements = {
    verified: m.verified,
    drillId: result.drillId,
    durationMs: Math.max(0, Date.parse(result.finishedAt) - Date.parse(result.startedAt)),
    restoreProblems: result.restoreProblems.length,
    integrityProblems: result.integrityProblems.length,
    steps: result.steps.map((step) => {
      const entry: Record<string, unknown> = { name: step.name, status: step.status };
      if (step.exitCode !== undefined) entry.exitCode = step.exitCode;
      if (step.durationMs !== undefined) entry.durationMs = step.durationMs;
      if (step.status === 'failed' && step.output !== undefined) {
        entry.output =
          step.output.length <= MAX_STEP_OUTPUT ? step.output : `…${step.output.slice(-MAX_STEP_OUTPUT)}`;
      }
      return entry;
    }),
  };
  if (result.snapshot && result.repository !== undefined) {
    measurements.snapshots = [
      { repository: result.repository, id: result.snapshot.id, time: result.snapshot.time },
    ];
  }
  if (result.selection) measurements.selection = { ...result.selection };
  for (const key of [
    'restoreDurationMs',
    'restoreMs',
    'integrityMs',
    'files',
    'dirs',
    'symlinks',
    'bytes',
  ] as const) {
    if (m[key] !== undefined) measurements[key] = m[key];
  }
  if (m.timeoutSeconds !== undefined) measurements.timeoutSeconds = m.timeoutSeconds;
  if (m.rtoSeconds !== undefined || m.restoreDurationMs !== undefined) {
    measurements.rto = {
      ...(m.rtoSeconds !== undefined ? { targetSeconds: m.rtoSeconds } : {}),
      ...(m.restoreDurationMs !== undefined ? { achievedSeconds: m.restoreDurationMs / 1000 } : {}),
    };
  }
  // The drilled snapshot's age, not an RPO achieved: a random draw within a window is old by design. The
  // RPO is judged on backups (and on a `latest` drill, whose failure says so).
  if (m.snapshotAgeSeconds !== undefined) measurements.snapshotAgeSeconds = m.snapshotAgeSeconds;
  const draft: RecordDraft = {
    kind: 'drill',
    outcome: result.status === 'passed' ? 'success' : 'failure',
    startedAt: result.startedAt,
    time: result.finishedAt,
    systems: [{ name: result.system, policy: result.policy }],
    policies: await policyEntries(root, [{ file: result.file, name: result.policy }], env),
    measurements,
  };
  if (result.failures.length > 0) draft.message = truncate(result.failures.join('; '));
  return draft;
}

/**
 * The `prune` record of one system in one repository: the snapshots removed (disposals past the maximum
 * counted apart), what object lock kept, and, for the repository as a whole, the space freed.
 */
export async function pruneDraft(
  root: string,
  run: RepositoryPruneRun,
  system: string,
  env: NodeJS.ProcessEnv,
): Promise<RecordDraft> {
  const policy = run.policies.find((p) => p.system === system);
  if (!policy) throw new Error(`${system} was not pruned in ${run.name}`);
  const draft: RecordDraft = {
    kind: 'prune',
    outcome: run.status === 'ok' ? 'success' : 'failure',
    startedAt: run.startedAt,
    time: run.finishedAt,
    systems: [{ name: system, policy: policy.policy }],
    policies: await policyEntries(root, [{ file: policy.file, name: policy.policy }], env),
    measurements: {
      durationMs: Math.max(0, Date.parse(run.finishedAt) - Date.parse(run.startedAt)),
    },
  };
  const result = run.result;
  const mine = result?.systems.find((s) => s.system === system);
  if (run.status === 'failed' || !result || !mine) {
    draft.message = truncate(run.message ?? 'the prune failed');
    return draft;
  }
  Object.assign(draft.measurements!, {
    kept: mine.kept,
    deleted: mine.decisions
      .filter((d) => d.removed)
      .map((d) => ({ repository: run.name, id: d.id, time: d.time })),
    disposals: mine.disposals,
    lockedSnapshots: mine.locked,
    // The repository's data is shared by its systems: these are for the whole repository.
    repository: run.name,
    repositoryBytesFreed: Math.max(0, result.bytesFreed),
    repositoryPacksDeleted: result.packsDeleted,
    repositoryPacksRepacked: result.packsRepacked,
    repositoryLockedObjects: result.locked.length,
  });
  return draft;
}

/**
 * The `check` record: every system checked, every policy file read (pinned by blob and commit), every
 * control result (messages kept for failures only, so a large check stays a modest record) and every
 * problem with the files, under its rule id.
 */
export async function checkDraft(
  root: string,
  report: CheckReport,
  env: NodeJS.ProcessEnv,
  now: Date = new Date(),
): Promise<RecordDraft> {
  const names = new Map(report.systems.map((s) => [s.file, s.policy]));
  const controls: ControlEntry[] = report.findings.map((finding) => {
    const entry: ControlEntry = { id: finding.ruleId, status: finding.status, severity: finding.severity };
    if (finding.system !== undefined) entry.system = finding.system;
    if (finding.status === 'fail') entry.message = truncate(finding.message);
    return entry;
  });
  const { counts } = report;
  const failing = counts.failed + counts.problems;
  const outcome: Outcome = report.failed ? 'failure' : failing > 0 ? 'partial' : 'success';
  const draft: RecordDraft = {
    kind: 'check',
    outcome,
    startedAt: report.startedAt,
    time: now,
    systems: report.systems.map((s) => ({ name: s.system, policy: s.policy })),
    policies: await policyEntries(
      root,
      report.files.map((file) => {
        const name = names.get(file);
        return name === undefined ? { file } : { file, name };
      }),
      env,
    ),
    controls,
    measurements: {
      durationMs: report.durationMs,
      passed: counts.passed,
      failed: counts.failed,
      notApplicable: counts.notApplicable,
      problems: counts.problems,
    },
  };
  if (failing > 0) {
    draft.message = `${counts.failed} failing control result(s) and ${counts.problems} problem(s) with the files; fail-on ${report.failOn}${report.failed ? '' : ': none at or above it'}`;
  }
  return draft;
}

/**
 * `check --evidence` (Action: `evidence: true`): appends the check's record, unless the run is on a
 * pull-request event, where the policies under review are untrusted and no secret may be needed.
 */
export async function appendCheckRecord(
  report: CheckReport,
  options: EvidenceOptions,
): Promise<EvidenceRun | undefined> {
  if (isPullRequestEvent(options.env)) {
    options.warn(
      `evidence not written: check never writes evidence on ${options.env.GITHUB_EVENT_NAME} events (the change under review is untrusted); run it on push or schedule`,
    );
    return undefined;
  }
  const run = new EvidenceRun({ ...options, requested: true });
  await run.append('check', () => checkDraft(options.root, report, options.env));
  return run;
}
