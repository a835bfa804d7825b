import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlanAction } from '../src/action/plan.ts';
import { PlanError } from '../src/commands/plan.ts';
import { type JobPlan, type PlanJobsOptions, planJobs } from '../src/commands/plan-due.ts';
import type { RecordDraft } from '../src/evidence/record.ts';
import { writeEvidence } from '../src/evidence/write.ts';
import { parseOutputs } from './helpers/action-runner.ts';
import { s3DrillBackend } from './helpers/drill-fixture.ts';
import { bareRemote, clone, GIT_ENV, git, removeTempDirs, tempDir, workTree } from './helpers/git.ts';
import { type CliRun, restorable } from './helpers/restorable-cli.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { S3RVER_CREDENTIALS, type S3Server, startS3Server } from './helpers/s3-server.ts';
import { newSigningKey, type SigningKey } from './helpers/signing-key.ts';

// `restorable plan`: which backups and drills are due, from the evidence branch alone (records written by the
// real writer into a bare origin), and the scale-out workflow (examples/workflows/scale-out.yml) run as its
// jobs would run: the planned backups at once, each from its own clone, against one s3rver and one bare
// evidence remote, then the drills at once, then `status`.

const BRANCH = 'restorable-evidence';
const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
for (const name of ['GITHUB_TOKEN', 'RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_ACTIONS', 'GITHUB_REPOSITORY'])
  delete env[name];
let key: SigningKey;

beforeAll(async () => {
  key = await newSigningKey('Plan');
});
afterAll(() => removeTempDirs());

// Wednesday 12 March 2025, 12:30 UTC: db's 6-hourly schedule last fired at 12:00, the daily ones at 02:00, the
// Monday drill on the 10th at 05:00, the monthly drill on the 1st at 05:00.
const NOW = new Date('2025-03-12T12:30:00Z');

const POLICY = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: shop, owner: ops@example.com }
repositories:
  primary: { local: { path: .backups/primary } }
  offsite: { local: { path: .backups/offsite } }
systems:
  - name: db
    source: { command: [sh, -c, "echo x"], filename: db.sql }
    schedule: "0 */6 * * *"
    repositories: [primary, offsite]
    drill: { schedule: "0 5 * * 1", repository: offsite }
  - name: files
    source: { paths: [data] }
    schedule: "0 2 * * *"
    repositories: [primary]
    drill: { schedule: "0 5 1 * *" }
  - name: cache
    source: { paths: [cache] }
    schedule: "0 2 * * *"
    repositories: [primary]
  - name: manual
    source: { paths: [manual] }
    repositories: [offsite, primary]
    drill: { verify: [{ command: [test, -d, "{restore.path}"] }] }
`;

function profile(evidence = true): string {
  return evidence
    ? `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: ${BRANCH}\n  signingKey:\n    fingerprint: ${key.fingerprint}\n`
    : 'apiVersion: restorable/v1\nkind: Config\n';
}

/** A work tree holding the policy and profile, with a bare repository as its origin. */
function repository(options: { evidence?: boolean; policy?: string } = {}): string {
  const root = workTree(bareRemote());
  mkdirSync(join(root, '.restorable'));
  writeFileSync(join(root, '.restorable/shop.yaml'), options.policy ?? POLICY);
  writeFileSync(join(root, '.restorable/config.yaml'), profile(options.evidence));
  return root;
}

const at = (iso: string) => new Date(iso);

function backupRecord(system: string, snapshotTime: string, outcome: RecordDraft['outcome'] = 'success') {
  const time = new Date(Date.parse(snapshotTime) + 60_000);
  return {
    kind: 'backup',
    outcome,
    time,
    startedAt: at(snapshotTime),
    systems: [{ name: system, policy: 'shop' }],
    policies: [],
    measurements:
      outcome === 'success'
        ? { snapshots: [{ repository: 'primary', id: 'ab'.repeat(32), time: snapshotTime }] }
        : {},
  } satisfies RecordDraft;
}

function drillRecord(system: string, time: string): RecordDraft {
  return {
    kind: 'drill',
    outcome: 'success',
    time: at(time),
    systems: [{ name: system, policy: 'shop' }],
    policies: [],
    measurements: { restoreDurationMs: 1000, verified: true },
  };
}

async function record(root: string, ...drafts: RecordDraft[]): Promise<void> {
  for (const draft of drafts) {
    const result = await writeEvidence(draft, {
      root,
      env: { ...env, RESTORABLE_EVIDENCE_KEY: key.armored },
      pages: null,
    });
    expect(result).toMatchObject({ written: true, remote: 'origin' });
  }
}

async function plan(root: string, options: Partial<PlanJobsOptions> = {}) {
  const log: string[] = [];
  const result = await planJobs({
    root,
    paths: [],
    env,
    now: NOW,
    log: (line) => log.push(line),
    ...options,
  });
  return { ...result, log };
}

const jobs = (p: JobPlan) => p.include.map((j) => `${j.command} ${j.system}`);
const skipped = (p: JobPlan) => p.skipped.map((j) => `${j.command} ${j.system}: ${j.reason}`);

describe('plan: the jobs and their fields', () => {
  it('without --due: every backup (one per system, all its repositories), then every declared drill', async () => {
    const root = repository();
    const result = await plan(root);
    expect(jobs(result)).toEqual([
      'backup db',
      'backup files',
      'backup cache',
      'backup manual',
      'drill db',
      'drill files',
      'drill manual',
    ]);
    expect(result.include[0]).toEqual({
      command: 'backup',
      system: 'db',
      repository: 'primary',
      repositories: ['primary', 'offsite'],
      policy: 'shop',
      file: '.restorable/shop.yaml',
      reason: 'planned without --due',
    });
    // A drill reads its own repository (the named one, else the system's first).
    expect(result.include.filter((j) => j.command === 'drill').map((j) => [j.system, j.repository])).toEqual([
      ['db', 'offsite'],
      ['files', 'primary'],
      ['manual', 'offsite'],
    ]);
    expect(skipped(result)).toEqual(['drill cache: declares no drill']);
    // The evidence branch is not even looked for.
    expect(result.log).toEqual([]);
  });

  it('filters by system and command; an unknown system or a policy problem stops the plan', async () => {
    const root = repository();
    const drills = await plan(root, { systems: ['manual', 'files'], commands: ['drill'] });
    expect(jobs(drills)).toEqual(['drill manual', 'drill files']);
    expect(drills.skipped).toEqual([]);
    await expect(plan(root, { systems: ['nope'] })).rejects.toThrow(/no system named "nope"/);
    const broken = repository({ policy: POLICY.replace('schedule: "0 2 * * *"', 'schedule: 7') });
    await expect(plan(broken)).rejects.toBeInstanceOf(PlanError);
  });
});

describe('plan --due from the evidence branch', () => {
  it('decides each backup and drill from state.json at --now', async () => {
    const root = repository();
    await record(
      root,
      // db: backed up after its schedule last fired (12:00), drilled after Monday 05:00.
      backupRecord('db', '2025-03-12T12:05:00.000Z'),
      drillRecord('db', '2025-03-10T06:00:00.000Z'),
      // files: the newest backup failed; the newest success is from before today's 02:00.
      backupRecord('files', '2025-03-11T02:01:00.000Z'),
      backupRecord('files', '2025-03-12T02:01:00.000Z', 'failure'),
      drillRecord('files', '2025-02-15T05:00:00.000Z'),
      // cache: never a successful backup.
      backupRecord('cache', '2025-03-12T02:01:00.000Z', 'failure'),
      // manual: no schedule at all, backed up and drilled a minute ago.
      backupRecord('manual', '2025-03-12T12:29:00.000Z'),
      drillRecord('manual', '2025-03-12T12:29:30.000Z'),
    );
    const result = await plan(root, { due: true });
    expect(result.log).toEqual([]);
    expect(result.now).toBe(NOW.toISOString());
    expect(Object.fromEntries(result.include.map((j) => [`${j.command} ${j.system}`, j.reason]))).toEqual({
      'backup files':
        'the schedule fired at 2025-03-12T02:00:00.000Z, after the newest snapshot (2025-03-11T02:01:00.000Z)',
      'backup cache': 'no successful backup on record',
      'backup manual': 'no schedule: due on every run (as `backup --due`)',
      'drill files':
        'the drill schedule fired at 2025-03-01T05:00:00.000Z, after the last drill (2025-02-15T05:00:00.000Z)',
      'drill manual': 'the drill has no schedule: due on every run (as `drill --due`)',
    });
    expect(jobs(result)).toEqual([
      'backup files',
      'backup cache',
      'backup manual',
      'drill files',
      'drill manual',
    ]);
    expect(skipped(result)).toEqual([
      "backup db: newest snapshot (2025-03-12T12:05:00.000Z) is not older than the schedule's last time (2025-03-12T12:00:00.000Z)",
      "drill db: last drill (2025-03-10T06:00:00.000Z) is not older than the drill schedule's last time (2025-03-10T05:00:00.000Z)",
      'drill cache: declares no drill',
    ]);

    // An hour earlier, db's 06:00 schedule is the last that fired, still before its backup: not due either;
    // a minute before the backup's snapshot was taken, it was due.
    const before = await plan(root, { due: true, now: at('2025-03-12T12:04:00Z'), commands: ['backup'] });
    expect(jobs(before)).toContain('backup files');
    expect(jobs(before)).not.toContain('backup db');
    const later = await plan(root, { due: true, now: at('2025-03-12T18:00:00Z'), systems: ['db'] });
    expect(jobs(later)).toEqual(['backup db']);
    expect(later.include[0]!.reason).toBe(
      'the schedule fired at 2025-03-12T18:00:00.000Z, after the newest snapshot (2025-03-12T12:05:00.000Z)',
    );
    const nextMonday = await plan(root, { due: true, now: at('2025-03-17T05:00:00Z'), commands: ['drill'] });
    expect(jobs(nextMonday)).toEqual(['drill db', 'drill files', 'drill manual']);
  });

  it('without evidence, everything is due, and a line says why', async () => {
    const all = [
      'backup db',
      'backup files',
      'backup cache',
      'backup manual',
      'drill db',
      'drill files',
      'drill manual',
    ];
    // No `evidence` section in the profile.
    const unconfigured = await plan(repository({ evidence: false }), { due: true });
    expect(jobs(unconfigured)).toEqual(all);
    expect(unconfigured.log).toEqual([
      'plan --due: no evidence branch is configured (the `evidence` section of the profile), so the last runs are unknown: everything is due',
    ]);
    expect(unconfigured.unknown).toMatch(/^no evidence branch is configured/);
    expect(unconfigured.include[0]!.reason).toBe('the last runs are unknown (no evidence branch to read)');

    // Configured, but nothing written yet: the remote has no such branch.
    const fresh = await plan(repository(), { due: true });
    expect(jobs(fresh)).toEqual(all);
    expect(fresh.log).toHaveLength(1);
    expect(fresh.log[0]).toMatch(
      /^plan --due: origin has no evidence branch restorable-evidence yet: .*: everything is due$/,
    );
    expect(fresh.include[0]!.reason).toBe('no successful backup on record');

    // A remote that cannot be read.
    const unreadable = await plan(repository(), { due: true, evidenceRemote: 'nowhere' });
    expect(jobs(unreadable)).toEqual(all);
    expect(unreadable.log).toEqual([
      expect.stringMatching(
        /^plan --due: the evidence branch restorable-evidence cannot be read \(.*no remote "nowhere".*\): everything is due$/,
      ),
    ]);
  });
});

const described = (r: CliRun) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe('restorable plan (CLI) and command: plan (Action)', () => {
  it('prints the matrix on one line, what is not planned on stderr; usage errors exit 2, policy problems 1', async () => {
    const root = repository();
    await record(root, backupRecord('db', '2025-03-12T12:05:00.000Z'));
    const cli = (...args: string[]) => restorable(['plan', ...args], { cwd: root, env: GIT_ENV });

    const run = await cli('--due', '--now', NOW.toISOString());
    expect(run.status, described(run)).toBe(0);
    expect(run.stdout.split('\n')).toHaveLength(2);
    const matrix = JSON.parse(run.stdout) as { include: { command: string; system: string }[] };
    expect(Object.keys(matrix)).toEqual(['include']);
    expect(matrix.include.map((j) => `${j.command} ${j.system}`)).toEqual([
      'backup files',
      'backup cache',
      'backup manual',
      'drill db',
      'drill files',
      'drill manual',
    ]);
    expect(run.stderr).toContain('backup db: not planned: newest snapshot (2025-03-12T12:05:00.000Z)');
    expect(run.stderr).toContain('drill cache: not planned: declares no drill');
    expect(run.stderr).toContain('plan --due: 6 jobs (3 backup, 3 drill) at 2025-03-12T12:30:00.000Z');

    const drills = await cli('--due', '--now', NOW.toISOString(), '--command', 'drill', '--system', 'db');
    expect(drills.status, described(drills)).toBe(0);
    expect(JSON.parse(drills.stdout).include).toMatchObject([{ command: 'drill', system: 'db' }]);

    const json = await cli('--json', '--system', 'cache', '--command', 'drill');
    expect(json.status, described(json)).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      command: 'plan',
      due: false,
      count: 0,
      include: [],
      skipped: [{ command: 'drill', system: 'cache', reason: 'declares no drill' }],
    });

    for (const args of [['--command', 'prune'], ['--now', 'yesterday'], ['--bogus']]) {
      const bad = await cli(...args);
      expect(bad.status, described(bad)).toBe(2);
      expect(bad.stdout).toBe('');
    }
    writeFileSync(join(root, '.restorable/shop.yaml'), POLICY.replace('kind: BackupPolicy', 'kind: Nope'));
    const broken = await cli('--due');
    expect(broken.status, described(broken)).toBe(1);
    expect(broken.stderr).toMatch(
      /restorable plan: the policies have 1 problem; nothing was run:\n {2}\.restorable\/shop\.yaml:2:/,
    );
  });

  it('the Action sets matrix, count and one matrix per command, and writes a summary table', async () => {
    const root = repository();
    const outputs = join(tempDir(), 'outputs');
    const summary = join(tempDir(), 'summary.md');
    writeFileSync(outputs, '');
    writeFileSync(summary, '');
    const inputs: Record<string, string> = {
      GITHUB_OUTPUT: outputs,
      GITHUB_STEP_SUMMARY: summary,
      INPUT_DUE: 'false',
      INPUT_SYSTEMS: 'db cache',
      INPUT_POLICIES: '',
      'INPUT_EVIDENCE-REMOTE': 'origin',
    };
    const saved = Object.fromEntries(Object.keys(inputs).map((name) => [name, process.env[name]]));
    Object.assign(process.env, inputs);
    const stdout = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await runPlanAction(root, undefined);
    } finally {
      process.stdout.write = stdout;
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const set = parseOutputs(readFileSync(outputs, 'utf8'));
    const entries = (name: string) =>
      (JSON.parse(set[name]!) as { include: { command: string; system: string }[] }).include.map(
        (j) => `${j.command} ${j.system}`,
      );
    expect(entries('matrix')).toEqual(['backup db', 'backup cache', 'drill db']);
    expect(set.count).toBe('3');
    expect(entries('backup-matrix')).toEqual(['backup db', 'backup cache']);
    expect(set['backup-count']).toBe('2');
    expect(entries('drill-matrix')).toEqual(['drill db']);
    expect(set['drill-count']).toBe('1');
    expect(set.result).toBe('passed');
    expect(JSON.parse(set['summary-json']!)).toMatchObject({ command: 'plan', count: 3 });
    const page = readFileSync(summary, 'utf8');
    expect(page).toContain('## Restorable: Plan');
    expect(page).toContain('| backup | db | primary, offsite | shop | planned without --due |');
    expect(page).toContain('## Restorable: Not planned');
    expect(page).toContain('| drill | cache | shop | declares no drill |');
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The scale-out workflow, run on one machine

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, string | boolean>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  outputs?: Record<string, string>;
  strategy?: { 'fail-fast'?: boolean; 'max-parallel'?: number; matrix?: string };
  steps: Step[];
}

const WORKFLOW = load(readFileSync(join(REPO_ROOT, 'examples/workflows/scale-out.yml'), 'utf8')) as {
  jobs: Record<string, Job>;
};

/** The workflow's Restorable step of a job (the one that `uses` the Action). */
function actionStep(job: Job): Step & { with: Record<string, string | boolean> } {
  const steps = job.steps.filter((s) => s.uses?.startsWith('restorable/restorable@'));
  expect(steps).toHaveLength(1);
  return steps[0] as Step & { with: Record<string, string | boolean> };
}

/** The CLI arguments of an Action step's inputs, `${{ matrix.NAME }}` taken from a matrix entry. */
function cliArgs(inputs: Record<string, string | boolean>, entry: Record<string, unknown> = {}): string[] {
  const value = (text: string | boolean) =>
    String(text).replace(/^\$\{\{ matrix\.(\w+) \}\}$/, (_, name: string) => {
      expect(entry, `matrix.${name}`).toHaveProperty(name);
      return String(entry[name]);
    });
  const args = [String(inputs.command)];
  for (const [name, raw] of Object.entries(inputs)) {
    if (name === 'command' || name.startsWith('evidence-key')) continue;
    if (name === 'due') {
      if (raw === true || raw === 'true') args.push('--due');
    } else if (name === 'systems') {
      for (const system of value(raw).split(/\s+/).filter(Boolean)) args.push('--system', system);
    } else {
      throw new Error(`the test does not know the input "${name}"`);
    }
  }
  return args;
}

describe('examples/workflows/scale-out.yml on one machine', () => {
  const BUCKET = 'fleet';
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server([BUCKET]);
  });
  afterAll(async () => {
    await s3?.close();
  });

  it('plans, backs up and drills three systems at once from their own clones, then status passes and nothing is due', async () => {
    const { jobs } = WORKFLOW;
    // The shape the run below relies on: plan → backup matrix → drill matrix → status.
    const planStep = actionStep(jobs.plan!);
    expect(planStep.with).toMatchObject({ command: 'plan', due: true });
    const matrixJobs = ['backup', 'drill'].map((command) => {
      const job = jobs[command]!;
      const output = /^\$\{\{ fromJSON\(needs\.plan\.outputs\.([\w-]+)\) \}\}$/.exec(
        job.strategy?.matrix ?? '',
      );
      expect(output, `${command}: strategy.matrix`).not.toBeNull();
      // Each job's own matrix is the plan step's `<command>-matrix`, guarded by its `<command>-count`.
      expect(output![1]).toBe(`${command}-matrix`);
      expect(jobs.plan!.outputs![output![1]!]).toBe(`\${{ steps.plan.outputs.${command}-matrix }}`);
      expect(jobs.plan!.outputs![`${command}-count`]).toBe(`\${{ steps.plan.outputs.${command}-count }}`);
      expect(job.if).toContain(`needs.plan.outputs.${command}-count != '0'`);
      expect(job.strategy!['fail-fast']).toBe(false);
      expect(job.strategy!['max-parallel']).toBeGreaterThan(0);
      const step = actionStep(job);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub expression, as the workflow holds it
      expect(step.with).toMatchObject({ command, systems: '${{ matrix.system }}' });
      expect(step.with.due).toBeUndefined();
      return { command, step };
    });
    expect(jobs.drill!.needs).toEqual(['plan', 'backup']);
    expect(jobs.drill!.if).toMatch(/!cancelled\(\)/);
    expect(jobs.status!.if).toBe('always()');
    expect(jobs.status!.needs).toEqual(['plan', 'backup', 'drill']);
    const statusStep = actionStep(jobs.status!);

    // The team's repository: three systems in one S3 repository, evidence to a bare origin.
    const remote = bareRemote();
    const team = workTree(remote);
    const systems = ['alpha', 'bravo', 'charlie'];
    const policy = {
      apiVersion: 'restorable/v1',
      kind: 'BackupPolicy',
      metadata: { name: 'fleet', owner: 'ops@example.com' },
      repositories: { shared: s3DrillBackend(() => s3.endpoint, BUCKET).repository(team) },
      systems: systems.map((name) => ({
        name,
        source: { paths: [`data/${name}`] },
        schedule: '0 * * * *',
        rpo: '1d',
        rto: '1h',
        encryption: { passphrase: { env: 'RESTORABLE_PASSPHRASE' } },
        repositories: ['shared'],
        drill: {
          schedule: '0 5 * * 1',
          verify: [{ name: 'restored', command: ['test', '-s', `{restore.path}/data/${name}/file.txt`] }],
        },
      })),
    };
    mkdirSync(join(team, '.restorable'));
    writeFileSync(join(team, '.restorable/fleet.yaml'), `${JSON.stringify(policy, null, 2)}\n`);
    writeFileSync(join(team, '.restorable/config.yaml'), profile());
    for (const name of systems) {
      mkdirSync(join(team, 'data', name), { recursive: true });
      writeFileSync(join(team, 'data', name, 'file.txt'), `${name}\n`.repeat(1000));
    }
    git(team, ['add', '.']);
    git(team, ['commit', '--quiet', '-m', 'policies']);
    git(team, ['push', '--quiet', 'origin', 'main']);

    const jobEnv = {
      ...GIT_ENV,
      RESTORABLE_PASSPHRASE: 'fleet passphrase',
      RESTORABLE_EVIDENCE_KEY: key.armored,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    // No repository exists yet: the first fan-out's backups race to create it, and must agree on one.
    // The plan job: no repository secret in its environment.
    const now = new Date().toISOString();
    const planArgs = [...cliArgs(planStep.with), '--now', now];
    const planned = await restorable(planArgs, { cwd: clone(remote), env: GIT_ENV });
    expect(planned.status, described(planned)).toBe(0);
    expect(planned.stderr).toContain('has no evidence branch restorable-evidence yet');
    const matrix = JSON.parse(planned.stdout) as { include: Record<string, unknown>[] };
    expect(matrix.include.map((j) => `${j.command} ${j.system}`)).toEqual([
      ...systems.map((s) => `backup ${s}`),
      ...systems.map((s) => `drill ${s}`),
    ]);

    const started = performance.now();
    const timings: Record<string, number> = {};
    for (const { command, step } of matrixJobs) {
      // `<command>-matrix` is what `plan --command <command>` prints.
      const own = await restorable([...planArgs, '--command', command], { cwd: clone(remote), env: GIT_ENV });
      expect(own.status, described(own)).toBe(0);
      const entries = (JSON.parse(own.stdout) as typeof matrix).include;
      expect(entries).toEqual(matrix.include.filter((j) => j.command === command));
      // Every matrix entry at once, each on its own "runner" (a clone of the team's repository).
      const began = performance.now();
      const runs = await Promise.all(
        entries.map((entry) => restorable(cliArgs(step.with, entry), { cwd: clone(remote), env: jobEnv })),
      );
      timings[command] = performance.now() - began;
      for (const run of runs) {
        expect(run.status, described(run)).toBe(0);
        expect(run.stderr).toMatch(/evidence: (backup|drill) \w+: appended records\//);
      }
      // The backups found no repository: one created it, and the others used that one.
      if (command === 'backup') {
        expect(runs.filter((run) => /created repository /.test(run.stderr))).toHaveLength(1);
      }
    }

    // The status job.
    const status = await restorable([...cliArgs(statusStep.with), '--json'], {
      cwd: clone(remote),
      env: GIT_ENV,
    });
    expect(status.status, described(status)).toBe(0);
    const results = JSON.parse(status.stdout).results as {
      system: string;
      control: string;
      status: string;
    }[];
    expect(results).toHaveLength(systems.length * 4);
    expect(results.filter((r) => r.status !== 'pass')).toEqual([]);

    // Six records, one chain: every push that raced was re-chained, none lost.
    const records = git(remote, ['ls-tree', '-r', '--name-only', BRANCH, '--', 'records/'])
      .split('\n')
      .filter((path) => path.endsWith('.json'));
    expect(records).toHaveLength(6);
    const verify = await restorable(['evidence', 'verify', '--remote', 'origin'], {
      cwd: clone(remote),
      env: GIT_ENV,
    });
    expect(verify.status, described(verify)).toBe(0);

    // The next hourly plan at the same time: nothing left to do.
    const again = await restorable(planArgs, { cwd: clone(remote), env: GIT_ENV });
    expect(again.status, described(again)).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ include: [] });
    expect(again.stderr).toContain('plan --due: 0 jobs (0 backup, 0 drill)');
    expect(again.stderr.match(/: not planned: /g)).toHaveLength(6);
    console.log(
      `scale-out: backups ${Math.round(timings.backup!)} ms, drills ${Math.round(timings.drill!)} ms (3 at once each); whole run ${Math.round(performance.now() - started)} ms`,
    );
  });
});
