import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEvidence } from '../src/cli/check-evidence.ts';
import { runCheck } from '../src/commands/check.ts';
import { parseOutputs } from './helpers/action-runner.ts';
import { bareRemote, GIT_ENV, git, removeTempDirs, tempDir, workTree } from './helpers/git.ts';
import { restorable } from './helpers/restorable-cli.ts';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';
import { newSigningKey, type SigningKey } from './helpers/signing-key.ts';

// The commands write their evidence: `backup` one record per system run, `check` only when asked and never
// on a pull request; the Action takes the key as a masked input and never lets it reach a log or a file;
// the README's demo runs end to end. Real git (a bare repository as origin), real openpgp.js keys, the
// built CLI and Action (dist/).

const BRANCH = 'restorable-evidence';
const PASSPHRASE = 'repository passphrase for the wiring tests';
const KEY_PASSPHRASE = 'evidence key passphrase, never to be printed';
const ACTION = join(REPO_ROOT, 'dist/index.js');

let key: SigningKey;
/** The same kind of key, protected by KEY_PASSPHRASE (for the Action's passphrase input). */
let lockedKey: SigningKey;
let otherKey: SigningKey;

beforeAll(async () => {
  [key, lockedKey, otherKey] = await Promise.all([
    newSigningKey('Evidence'),
    newSigningKey('Locked', KEY_PASSPHRASE),
    newSigningKey('Other'),
  ]);
});
afterAll(() => removeTempDirs());

const POLICY = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: files, owner: ops@example.com }
repositories:
  local: { local: { path: backups/repo } }
systems:
  - name: docs
    source: { paths: [data] }
    schedule: "0 2 * * *"
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
  - name: environment
    source: { command: [sh, -c, "env | cut -d= -f1 | sort > env-names.txt"], filename: env.txt }
    schedule: "0 2 * * *"
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
`;

function config(fingerprint: string | undefined): string {
  const pin = fingerprint ? `\n  signingKey:\n    fingerprint: ${fingerprint}` : '';
  return `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: ${BRANCH}${pin}\n`;
}

/** A team's repository: the policy and profile committed on main, `origin` a bare repository. */
function teamRepository(options: { fingerprint?: string; evidence?: boolean } = {}) {
  const remote = bareRemote();
  const root = workTree(remote);
  const files: Record<string, string> = {
    '.restorable/files.yaml': POLICY,
    'data/a.txt': 'alpha\n'.repeat(500),
    'data/sub/b.txt': 'bravo\n',
    '.gitignore': '/backups/\n',
  };
  if (options.evidence !== false) files['.restorable/config.yaml'] = config(options.fingerprint);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  git(root, ['add', '.']);
  git(root, ['commit', '--quiet', '-m', 'policy']);
  git(root, ['push', '--quiet', 'origin', 'main']);
  return { root, remote };
}

/** The record files on the remote's evidence branch (none when it has no such branch). */
function remoteRecords(remote: string): string[] {
  if (git(remote, ['branch', '--list', BRANCH]) === '') return [];
  return git(remote, ['ls-tree', '-r', '--name-only', BRANCH, '--', 'records/'])
    .split('\n')
    .filter((path) => path.endsWith('.json'));
}

function readRecord(remote: string, file: string) {
  return JSON.parse(git(remote, ['show', `${BRANCH}:${file}`]));
}

const cliEnv = (extra: Record<string, string> = {}) => ({
  ...GIT_ENV,
  RESTORABLE_PASSPHRASE: PASSPHRASE,
  ...extra,
});

describe('restorable backup writes evidence', () => {
  it('appends one signed record per system that verifies and carries the snapshot id; not-due writes none', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const env = cliEnv({ RESTORABLE_EVIDENCE_KEY: key.armored });
    const run = await restorable(['backup', '--json'], { cwd: root, env });
    expect(run.stderr).not.toMatch(/warning|FAILED/);
    expect(run.status).toBe(0);
    const summary = JSON.parse(run.stdout);
    const docs = summary.systems.find((s: { system: string }) => s.system === 'docs');
    const snapshot = docs.repositories[0].snapshot as string;
    expect(summary.evidence.written.map((w: { file: string }) => w.file)).toEqual([
      'records/000000/00000000-backup-docs.json',
      'records/000000/00000001-backup-environment.json',
    ]);
    expect(run.stderr).toContain(
      `evidence: backup docs: appended records/000000/00000000-backup-docs.json to origin/${BRANCH}`,
    );

    expect(remoteRecords(remote)).toHaveLength(2);
    const record = readRecord(remote, 'records/000000/00000000-backup-docs.json');
    expect(record).toMatchObject({
      kind: 'backup',
      outcome: 'success',
      systems: [{ name: 'docs', policy: 'files' }],
      policies: [
        {
          file: '.restorable/files.yaml',
          name: 'files',
          commit: git(root, ['rev-parse', 'HEAD']),
          blob: git(root, ['rev-parse', 'HEAD:.restorable/files.yaml']),
          modified: false,
        },
      ],
      run: { ci: 'none' },
      measurements: {
        snapshots: [{ repository: 'local', id: snapshot }],
        files: 2,
        bytes: 3006,
        bytesRead: 3006,
        problems: 0,
      },
    });
    expect(record.measurements.bytesStored).toBeGreaterThan(0);
    expect(record.measurements.durationMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(record.time)).toBeGreaterThanOrEqual(Date.parse(record.startedAt));
    expect(record.controls).toBeUndefined();

    // The command source ran without the signing key (or the repository's passphrase) in its environment.
    const names = readFileSync(join(root, 'env-names.txt'), 'utf8');
    expect(names).toContain('PATH\n');
    expect(names).not.toContain('RESTORABLE_EVIDENCE_KEY');
    expect(names).not.toContain('RESTORABLE_PASSPHRASE');

    const verify = await restorable(['evidence', 'verify', '--remote', 'origin'], {
      cwd: root,
      env: cliEnv(),
    });
    expect(verify.stdout).toContain(`2 records, every one signed by ${key.fingerprint} and chained`);
    expect(verify.status).toBe(0);

    // Nothing is due an hour later: nothing ran, so nothing is recorded.
    const due = await restorable(['backup', '--due'], { cwd: root, env });
    expect(due.status).toBe(0);
    expect(due.stdout).toContain('docs: not due');
    expect(due.stderr).not.toContain('evidence');
    expect(remoteRecords(remote)).toHaveLength(2);
  });

  it('without a key: one warning line, no record, exit 0; --no-evidence: silence', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const run = await restorable(['backup', '--system', 'docs'], { cwd: root, env: cliEnv() });
    expect(run.status).toBe(0);
    const warnings = run.stderr.split('\n').filter((line) => /warning/i.test(line));
    expect(warnings).toEqual([
      `warning: evidence not written: .restorable/config.yaml configures the evidence branch ${BRANCH}, but no signing key is in the environment (set RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE, or pass --no-evidence)`,
    ]);
    expect(run.stdout).toMatch(/docs → local .*snapshot [0-9a-f]{8}/);
    expect(remoteRecords(remote)).toEqual([]);

    const off = await restorable(['backup', '--system', 'docs', '--no-evidence'], {
      cwd: root,
      env: cliEnv({ RESTORABLE_EVIDENCE_KEY: key.armored }),
    });
    expect(off.status).toBe(0);
    expect(off.stderr).toBe('');
    expect(remoteRecords(remote)).toEqual([]);
  });

  it('an evidence failure after a good backup: the snapshot is kept, the failure is named, exit 4', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const run = await restorable(['backup', '--json'], {
      cwd: root,
      env: cliEnv({ RESTORABLE_EVIDENCE_KEY: otherKey.armored }),
    });
    expect(run.status).toBe(4);
    const summary = JSON.parse(run.stdout);
    expect(summary.systems.map((s: { status: string }) => s.status)).toEqual(['ok', 'ok']);
    expect(summary.evidence.written).toEqual([]);
    expect(summary.evidence.notWritten).toEqual(['backup docs', 'backup environment']);
    expect(run.stderr).toContain(
      `evidence: the backup docs record was not written: the evidence signing key is ${otherKey.fingerprint}, but the configuration pins ${key.fingerprint}`,
    );
    expect(run.stderr).toContain('the backups are done and their snapshots are safe');
    expect(remoteRecords(remote)).toEqual([]);
    const snapshots = await restorable(['snapshots', '--json'], { cwd: root, env: cliEnv() });
    expect(JSON.parse(snapshots.stdout).snapshots).toHaveLength(2);
  });

  it('a key without an evidence section in the profile writes nothing, and says so', async () => {
    const { root, remote } = teamRepository({ evidence: false });
    const run = await restorable(['backup', '--system', 'docs'], {
      cwd: root,
      env: cliEnv({ RESTORABLE_EVIDENCE_KEY: key.armored }),
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(
      'warning: evidence not written: .restorable/config.yaml has no `evidence` section',
    );
    expect(remoteRecords(remote)).toEqual([]);
  });
});

describe('restorable prune writes evidence', () => {
  it('appends a prune record naming the snapshots removed; a dry run writes none', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const policy = POLICY.replace(
      '    source: { paths: [data] }\n',
      '    source: { paths: [data] }\n    retention: { keep: { last: 1 } }\n',
    );
    writeFileSync(join(root, '.restorable/files.yaml'), policy);
    git(root, ['commit', '--quiet', '-am', 'keep one']);
    const backups: string[] = [];
    for (let i = 0; i < 2; i++) {
      writeFileSync(join(root, 'data/a.txt'), `version ${i}\n`);
      const run = await restorable(['backup', '--system', 'docs', '--no-evidence', '--json'], {
        cwd: root,
        env: cliEnv(),
      });
      expect(run.status, run.stderr).toBe(0);
      backups.push(JSON.parse(run.stdout).systems[0].repositories[0].snapshot);
    }
    const env = cliEnv({ RESTORABLE_EVIDENCE_KEY: key.armored });
    const dry = await restorable(['prune', '--system', 'docs', '--dry-run'], { cwd: root, env });
    expect(dry.status, dry.stderr).toBe(0);
    expect(remoteRecords(remote)).toEqual([]);

    const run = await restorable(['prune', '--system', 'docs', '--json'], { cwd: root, env });
    expect(run.status, run.stderr).toBe(0);
    const written = JSON.parse(run.stdout).evidence.written as { kind: string; file: string }[];
    expect(written.map((w) => w.kind)).toEqual(['prune']);
    const record = readRecord(remote, written[0]!.file);
    expect(record).toMatchObject({
      kind: 'prune',
      outcome: 'success',
      systems: [{ name: 'docs', policy: 'files' }],
      measurements: { kept: 1, disposals: 0, deleted: [{ repository: 'local', id: backups[0] }] },
    });
    const verify = await restorable(['evidence', 'verify', '--remote', 'origin'], {
      cwd: root,
      env: cliEnv(),
    });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });
});

describe('restorable drill writes evidence', () => {
  it('appends a drill record that status judges; --due then skips the drill until its schedule fires', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const policy = POLICY.replace(
      '    source: { paths: [data] }\n',
      `    source: { paths: [data] }
    rpo: 1d
    rto: 1h
    drill:
      schedule: "0 5 * * 1"
      verify: [{ name: the file is there, command: [test, -s, "{restore.path}/data/a.txt"] }]
`,
    );
    writeFileSync(join(root, '.restorable/files.yaml'), policy);
    git(root, ['commit', '--quiet', '-am', 'a drill']);
    const env = cliEnv({ RESTORABLE_EVIDENCE_KEY: key.armored });
    const backup = await restorable(['backup', '--system', 'docs', '--json'], { cwd: root, env });
    expect(backup.status, backup.stderr).toBe(0);
    const snapshot = JSON.parse(backup.stdout).systems[0].repositories[0].snapshot;

    const run = await restorable(['drill', '--json'], { cwd: root, env });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.systems.map((s: { system: string; status: string }) => [s.system, s.status])).toEqual([
      ['docs', 'passed'],
    ]);
    const written = out.evidence.written as { kind: string; file: string }[];
    expect(written.map((w) => [w.kind, w.file])).toEqual([
      ['drill', 'records/000000/00000001-drill-docs.json'],
    ]);
    const record = readRecord(remote, written[0]!.file);
    expect(record).toMatchObject({
      kind: 'drill',
      outcome: 'success',
      systems: [{ name: 'docs', policy: 'files' }],
      measurements: {
        verified: true,
        files: 2,
        snapshots: [{ repository: 'local', id: snapshot }],
        selection: { algorithm: 'latest', candidates: 1 },
        rto: { targetSeconds: 3600 },
        steps: [{ name: 'the file is there', status: 'passed', exitCode: 0 }],
      },
    });
    expect(record.measurements.restoreDurationMs).toBeGreaterThanOrEqual(0);
    expect(record.measurements.restoreDurationMs).toBeLessThanOrEqual(record.measurements.durationMs);

    // The run-time controls now have a drill to judge, pages included.
    const status = await restorable(['status', '--remote', 'origin', '--json'], { cwd: root, env: cliEnv() });
    const results = JSON.parse(status.stdout).results as {
      system: string;
      control: string;
      status: string;
    }[];
    const docs = Object.fromEntries(
      results.filter((r) => r.system === 'docs').map((r) => [r.control, r.status]),
    );
    expect(docs).toMatchObject({ 'RB-RT-002': 'pass', 'RB-RT-003': 'pass', 'RB-RT-004': 'pass' });
    expect(git(remote, ['show', `${BRANCH}:systems/docs.md`])).toContain('verified complete');

    // The drill ran after the schedule last fired: not due, and no record for it.
    const due = await restorable(['drill', '--due', '--json'], { cwd: root, env });
    expect(due.status, due.stderr).toBe(0);
    const dueOut = JSON.parse(due.stdout);
    expect(dueOut.systems[0].status).toBe('not-due');
    expect(dueOut.systems[0].message).toMatch(
      /^last drill \(.+\) is not older than the drill schedule's last time/,
    );
    expect(dueOut.evidence.written).toEqual([]);

    const verify = await restorable(['evidence', 'verify', '--remote', 'origin'], {
      cwd: root,
      env: cliEnv(),
    });
    expect(verify.status, verify.stdout + verify.stderr).toBe(0);
  });
});

describe('check --evidence', () => {
  it('on a schedule writes a check record; on a pull request never, even with a key', async () => {
    const { root, remote } = teamRepository({ fingerprint: key.fingerprint });
    const report = runCheck({ root, paths: [] });
    expect(report.counts.systems).toBe(2);
    const status = report.failed ? 1 : 0;
    const lines: string[] = [];
    const base: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV, RESTORABLE_EVIDENCE_KEY: key.armored };
    for (const name of ['GITHUB_TOKEN', 'RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_SERVER_URL', 'GITHUB_ACTIONS'])
      delete base[name];
    const io = (event: string) => ({
      err: (line: string) => lines.push(line),
      env: { ...base, GITHUB_EVENT_NAME: event },
    });
    expect(await checkEvidence(report, { root, status }, io('schedule'))).toBe(status);
    expect(remoteRecords(remote)).toEqual(['records/000000/00000000-check.json']);
    const record = readRecord(remote, 'records/000000/00000000-check.json');
    expect(record.kind).toBe('check');
    expect(record.outcome).toBe(report.failed ? 'failure' : 'success');
    expect(record.run.event).toBe('schedule');
    expect(record.systems).toEqual([
      { name: 'docs', policy: 'files' },
      { name: 'environment', policy: 'files' },
    ]);
    expect(record.policies).toEqual([
      expect.objectContaining({ file: '.restorable/files.yaml', name: 'files', modified: false }),
    ]);
    const findings = report.findings.filter((f) => f.kind === 'control');
    expect(record.controls).toHaveLength(findings.length);
    const failing = record.controls.filter((c: { status: string }) => c.status === 'fail');
    expect(failing.length).toBe(report.counts.failed);
    expect(failing.every((c: { message?: string }) => typeof c.message === 'string')).toBe(true);
    expect(record.measurements).toMatchObject({ passed: report.counts.passed, failed: report.counts.failed });

    lines.length = 0;
    expect(await checkEvidence(report, { root, status }, io('pull_request'))).toBe(status);
    expect(lines).toEqual([
      'warning: evidence not written: check never writes evidence on pull_request events (the change under review is untrusted); run it on push or schedule',
    ]);
    expect(await checkEvidence(report, { root, status }, io('pull_request_target'))).toBe(status);
    expect(remoteRecords(remote)).toHaveLength(1);
  });
});

/** Every file under `dir` (work tree and .git alike), as text. */
function allFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (path: string) => {
    for (const name of readdirSync(path)) {
      const full = join(path, name);
      const stat = lstatSync(full);
      if (stat.isDirectory()) walk(full);
      else if (stat.isFile()) out.push({ path: full, text: readFileSync(full, 'latin1') });
    }
  };
  walk(dir);
  return out;
}

describe('the Action (dist/index.js run as the runner runs it)', () => {
  it('backup with the evidence-key input: the key reaches no log and no file; evidence-verify passes', () => {
    const { root, remote } = teamRepository({ fingerprint: lockedKey.fingerprint });
    const runnerTemp = tempDir('restorable-runner-');
    const action = (event: string, inputs: Record<string, string>) => {
      const summary = join(runnerTemp, `summary-${Object.values(inputs)[0]}-${event}.md`);
      const output = join(runnerTemp, `output-${Object.values(inputs)[0]}-${event}.txt`);
      writeFileSync(summary, '');
      writeFileSync(output, '');
      const env: Record<string, string> = {
        ...GIT_ENV,
        GITHUB_ACTIONS: 'true',
        GITHUB_WORKSPACE: root,
        GITHUB_EVENT_NAME: event,
        GITHUB_REPOSITORY: 'acme/payments',
        GITHUB_RUN_ID: '4242',
        GITHUB_SHA: git(root, ['rev-parse', 'HEAD']),
        GITHUB_STEP_SUMMARY: summary,
        GITHUB_OUTPUT: output,
        RUNNER_TEMP: runnerTemp,
        RUNNER_OS: 'Linux',
      };
      for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
      const run = runNode([ACTION], { cwd: root, env });
      return {
        ...run,
        summary: readFileSync(summary, 'utf8'),
        outputs: parseOutputs(readFileSync(output, 'utf8')),
      };
    };
    const secrets = {
      'evidence-key': lockedKey.armored,
      'evidence-key-passphrase': KEY_PASSPHRASE,
    };
    // What must never show: the passphrase and every line of the armored key's body.
    const fragments = [
      KEY_PASSPHRASE,
      ...lockedKey.armored
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.length >= 16 && !line.startsWith('-----')),
    ];
    expect(fragments.length).toBeGreaterThan(3);
    const leaks = (text: string) => fragments.filter((fragment) => text.includes(fragment));
    const logged = (run: { stdout: string; stderr: string }) =>
      `${run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .join('\n')}\n${run.stderr}`;

    const backup = action('schedule', {
      command: 'backup',
      passphrase: PASSPHRASE,
      systems: 'docs',
      ...secrets,
    });
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    // Masked: the passphrase and each line of the key are registered with the runner.
    expect(backup.stdout).toContain(`::add-mask::${KEY_PASSPHRASE}`);
    expect(backup.stdout).toContain(`::add-mask::${fragments[1]}`);
    expect(leaks(logged(backup))).toEqual([]);
    const written = JSON.parse(backup.outputs['evidence-records']!);
    expect(written).toMatchObject([
      {
        kind: 'backup',
        systems: ['docs'],
        file: 'records/000000/00000000-backup-docs.json',
        remote: 'origin',
      },
    ]);
    expect(backup.summary).toContain('## Restorable: Evidence');
    const record = readRecord(remote, written[0].file);
    expect(record.run).toMatchObject({
      ci: 'github-actions',
      event: 'schedule',
      repository: 'acme/payments',
      runId: '4242',
      sha: git(root, ['rev-parse', 'HEAD']),
    });
    expect(record.measurements.snapshots[0].id).toBe(backup.outputs['snapshot-id']);

    // check with `evidence: true` on a schedule appends its record; on a pull request, the key is not even read.
    const check = action('schedule', { command: 'check', evidence: 'true', 'sarif-file': '', ...secrets });
    expect(check.stderr).toBe('');
    expect(JSON.parse(check.outputs['evidence-records']!)).toMatchObject([
      { kind: 'check', file: 'records/000000/00000001-check.json' },
    ]);
    expect(leaks(logged(check))).toEqual([]);
    const pr = action('pull_request', { command: 'check', evidence: 'true', 'sarif-file': '', ...secrets });
    expect(pr.stdout).not.toContain('::add-mask::');
    expect(pr.stdout).toContain(
      '::warning::evidence not written: check never writes evidence on pull_request events',
    );
    expect(remoteRecords(remote)).toHaveLength(2);

    // prune: a dry run shows the decisions and records nothing; a real run appends its record.
    const pruneInputs = { command: 'prune', passphrase: PASSPHRASE, systems: 'docs', ...secrets };
    const dry = action('schedule', { ...pruneInputs, 'dry-run': 'true' });
    expect(dry.stderr).toBe('');
    expect(dry.outputs).toMatchObject({ 'snapshots-kept': '1', 'snapshots-removed': '0', result: 'passed' });
    expect(dry.summary).toContain('Prune (dry run)');
    expect(remoteRecords(remote)).toHaveLength(2);
    const prune = action('schedule', pruneInputs);
    expect(prune.stderr).toBe('');
    expect(prune.status).toBe(0);
    expect(JSON.parse(prune.outputs['evidence-records']!)).toMatchObject([
      { kind: 'prune', systems: ['docs'] },
    ]);
    expect(leaks(logged(prune))).toEqual([]);

    const verify = action('schedule', { command: 'evidence-verify' });
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(verify.outputs).toMatchObject({ records: '3', ok: 'true', result: 'passed' });
    expect(verify.outputs['evidence-head']).toMatch(/^[0-9a-f]{64}$/);
    expect(verify.summary).toContain('## Restorable: Evidence verification');
    expect(verify.summary).toContain(`**Verified**: 3 records on origin/${BRANCH}`);

    // status: the run-time controls from that evidence. No drill has run, so the step fails and says why.
    const status = action('schedule', { command: 'status' });
    expect(status.status).toBe(1);
    expect(status.outputs.result).toBe('failed');
    expect(status.summary).toContain('## Restorable: Run-time controls');
    expect(status.summary).toMatch(/\| docs +\| RB-RT-\d{3} /);
    expect(status.stdout).toMatch(/::error.*docs: RB-RT-\d{3}/);

    // No file anywhere (work tree, .git, the remote, the runner's files) holds the key or its passphrase.
    for (const dir of [root, remote, runnerTemp]) {
      for (const file of allFiles(dir)) expect(leaks(file.text), file.path).toEqual([]);
    }
  });
});

describe('the README demo', () => {
  it('runs green: check, backups and drills with evidence in a local bare repository, verify, status', () => {
    const dir = join(tempDir('restorable-demo-'), 'demo');
    const run = runNode([join(REPO_ROOT, 'scripts/demo.mjs')], {
      cwd: REPO_ROOT,
      env: { RESTORABLE_DEMO_DIR: dir },
    });
    expect(run.stderr).not.toMatch(/demo: .*exited with/);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('generated a throwaway evidence signing key');
    // A backup of both systems, a second of the files, and a drill of each: five records.
    expect(run.stdout).toMatch(/5 signed evidence records on branch restorable-evidence/);
    expect(run.stdout.match(/^ {2}PASSED$/gm)).toHaveLength(2);
    expect(run.stdout).toContain('2 systems × 4 run-time controls: 8 pass, 0 fail');
    expect(run.stdout).toContain('restored files are byte-identical to the originals');
    // The key stays beside the team's repository: in no file of its work tree, its history or its origin.
    const keyLines = readFileSync(join(dir, 'evidence-signing-key.asc'), 'utf8')
      .split('\n')
      .filter((line) => line.length >= 16 && !line.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(3);
    for (const file of [...allFiles(join(dir, 'team')), ...allFiles(join(dir, 'origin.git'))]) {
      expect(
        keyLines.filter((line) => file.text.includes(line)),
        file.path,
      ).toEqual([]);
    }
    expect(git(join(dir, 'team'), ['status', '--porcelain'])).toBe('');
  });
});
