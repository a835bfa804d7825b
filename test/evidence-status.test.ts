import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordDraft } from '../src/evidence/record.ts';
import { evidenceStatus, renderStatus, type StatusReport } from '../src/evidence/status.ts';
import { writeEvidence } from '../src/evidence/write.ts';
import { bareRemote, GIT_ENV, removeTempDirs, workTree } from './helpers/git.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// `restorable status` against evidence written by the real writer into a work tree whose `origin` is a bare
// repository: fresh and stale backups, passed and failed drills, and no evidence at all.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
for (const name of ['GITHUB_TOKEN', 'RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_ACTIONS', 'GITHUB_REPOSITORY'])
  delete env[name];
let keyEnv: NodeJS.ProcessEnv;
/** Records are dated relative to this, and status measures ages at it. */
const NOW = new Date();

const DB = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: shop, owner: "@acme/sre", classification: internal }
repositories:
  local: { local: { path: .backups } }
systems:
  - name: db
    source: { command: [sh, -c, "echo x"], filename: db.sql }
    schedule: "0 */6 * * *"
    rpo: 6h
    rto: 1h
    repositories: [local]
    drill: { schedule: "0 5 * * 1" }
`;

const FILES = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: docs, owner: "@acme/sre", classification: internal }
repositories:
  local: { local: { path: .backups } }
systems:
  - name: files
    source: { paths: [data] }
    schedule: "0 2 * * *"
    rpo: 1d
    repositories: [local]
    drill: { schedule: "0 5 1 * *" }
`;

beforeAll(async () => {
  keyEnv = { ...env, RESTORABLE_EVIDENCE_KEY: (await newSigningKey('Status')).armored };
});

afterAll(() => removeTempDirs());

/** A repository with the two policies, and a bare repository as its origin. */
function workspace(): string {
  const repo = workTree(bareRemote());
  mkdirSync(join(repo, '.restorable'));
  writeFileSync(join(repo, '.restorable/db.yaml'), DB);
  writeFileSync(join(repo, '.restorable/files.yaml'), FILES);
  return repo;
}

function backup(system: string, age: number, outcome: RecordDraft['outcome'] = 'success'): RecordDraft {
  const time = new Date(NOW.getTime() - age);
  return {
    kind: 'backup',
    outcome,
    time,
    startedAt: new Date(time.getTime() - 60_000),
    systems: [{ name: system, policy: system === 'db' ? 'shop' : 'docs' }],
    policies: [],
    measurements:
      outcome === 'success'
        ? {
            snapshots: [
              {
                repository: 'local',
                id: 'ab'.repeat(16),
                time: new Date(time.getTime() - 60_000).toISOString(),
              },
            ],
          }
        : {},
  };
}

function drill(
  system: string,
  age: number,
  outcome: RecordDraft['outcome'],
  restoreMs: number,
  verified: boolean,
): RecordDraft {
  return {
    kind: 'drill',
    outcome,
    time: new Date(NOW.getTime() - age),
    systems: [{ name: system, policy: system === 'db' ? 'shop' : 'docs' }],
    policies: [],
    measurements: { restoreDurationMs: restoreMs, verified },
  };
}

async function write(repo: string, ...drafts: RecordDraft[]): Promise<void> {
  for (const draft of drafts) {
    const result = await writeEvidence(draft, { root: repo, env: keyEnv, pages: null });
    expect(result).toMatchObject({ written: true, remote: 'origin' });
  }
}

function result(report: StatusReport, system: string, control: string) {
  const found = report.results.find((r) => r.system === system && r.control === control);
  if (!found) throw new Error(`no result for ${system} ${control}`);
  return found;
}

describe('restorable status', () => {
  it('passes on a fresh backup and a recent drill that passed within the RTO', async () => {
    const repo = workspace();
    await write(repo, drill('db', 2 * DAY, 'success', 20 * 60_000, true), backup('db', HOUR));
    const report = await evidenceStatus({ now: NOW, root: repo, paths: ['.restorable/db.yaml'], env });
    expect(report).toMatchObject({
      evidence: true,
      remote: 'origin',
      records: 2,
      failed: false,
      problems: [],
    });
    expect(report.revision).toBe('refs/remotes/origin/restorable-evidence');
    expect(report.results.map((r) => [r.control, r.status, r.value, r.expected])).toEqual([
      ['RB-RT-001', 'pass', '1h1m', 'at most 6h'],
      ['RB-RT-002', 'pass', '2d', 'at most 90d'],
      ['RB-RT-003', 'pass', '20m', 'at most 1h'],
      ['RB-RT-004', 'pass', 'true', 'equal to true'],
    ]);
    expect(result(report, 'db', 'RB-RT-001').record).toMatchObject({
      sequence: 1,
      file: 'records/000000/00000001-backup-db.json',
    });
    // The local branch (which the writer kept up to date) gives the same answer without a fetch.
    const local = await evidenceStatus({
      now: NOW,
      root: repo,
      paths: ['.restorable/db.yaml'],
      env,
      remote: null,
    });
    expect(local.revision).toBe('refs/heads/restorable-evidence');
    expect(local.results.map((r) => r.status)).toEqual(['pass', 'pass', 'pass', 'pass']);
  });

  it('fails on a backup older than the RPO, naming the system, the measure, its value and the limit', async () => {
    const repo = workspace();
    await write(repo, backup('files', 2 * DAY), backup('files', HOUR, 'failure'));
    const report = await evidenceStatus({ now: NOW, root: repo, paths: ['.restorable/files.yaml'], env });
    const stale = result(report, 'files', 'RB-RT-001');
    // The newest backup failed: the age is the newest successful snapshot's, taken a minute before it ended.
    expect(stale).toMatchObject({
      status: 'fail',
      measure: 'snapshotAge',
      value: '2d1m',
      limit: '1d',
      expected: 'at most 1d',
      message: 'the newest snapshot is 2d1m old, older than the RPO (1d)',
      failing: true,
      record: { sequence: 0 },
    });
    expect(report.failed).toBe(true);
    const text = renderStatus(report);
    expect(text).toMatch(/^files +RB-RT-001 +snapshotAge +2d1m +at most 1d +FAIL +#0 /m);
    expect(text).toContain(
      'FAIL files RB-RT-001 (high, Newest snapshot within the RPO; snapshotAge 2d1m, limit 1d): the newest snapshot is 2d1m old, older than the RPO (1d) [records/000000/00000000-backup-files.json]',
    );
    // Only failed backups: no successful snapshot at all.
    const never = workspace();
    await write(never, backup('files', HOUR, 'failure'));
    const none = result(
      await evidenceStatus({ now: NOW, root: never, paths: ['.restorable/files.yaml'], env }),
      'files',
      'RB-RT-001',
    );
    expect(none.status).toBe('fail');
    expect(none.message).toMatch(/^no backup of this system has succeeded: the newest \(#0 of .+, failure\)/);
  });

  it('fails on a failed drill: restore over the RTO and data not verified, while the last passing drill is recent', async () => {
    const repo = workspace();
    await write(
      repo,
      backup('db', HOUR),
      drill('db', 3 * DAY, 'success', 10 * 60_000, true),
      drill('db', DAY, 'failure', 2 * HOUR, false),
    );
    const report = await evidenceStatus({ now: NOW, root: repo, paths: ['.restorable/db.yaml'], env });
    expect(report.results.map((r) => [r.control, r.status, r.value])).toEqual([
      ['RB-RT-001', 'pass', '1h1m'],
      ['RB-RT-002', 'pass', '3d'],
      ['RB-RT-003', 'fail', '2h'],
      ['RB-RT-004', 'fail', 'false'],
    ]);
    expect(result(report, 'db', 'RB-RT-003').message).toBe(
      'the last restore took 2h, longer than the RTO (1h)',
    );
    expect(result(report, 'db', 'RB-RT-004')).toMatchObject({
      severity: 'critical',
      message: 'the last drill did not verify the restored data as complete',
      record: { sequence: 2, outcome: 'failure' },
    });
    expect(report.failed).toBe(true);
    // --fail-on critical: only RB-RT-004 (critical) counts.
    const critical = await evidenceStatus({
      now: NOW,
      root: repo,
      paths: ['.restorable/db.yaml'],
      env,
      failOn: 'critical',
    });
    expect(critical.results.filter((r) => r.failing).map((r) => r.control)).toEqual(['RB-RT-004']);
    // A drill that passed too long ago fails RB-RT-002, with the profile's interval as the limit.
    const old = workspace();
    await write(old, drill('db', 100 * DAY, 'success', 60_000, true));
    expect(
      result(
        await evidenceStatus({ now: NOW, root: old, paths: ['.restorable/db.yaml'], env }),
        'db',
        'RB-RT-002',
      ),
    ).toMatchObject({
      status: 'fail',
      value: '100d',
      limit: '90d',
      message: 'the last passing drill was 100d ago; the profile allows at most 90d',
    });
  });

  it('says clearly when there is no evidence branch yet, and fails unless missing evidence is allowed', async () => {
    const repo = workspace();
    const report = await evidenceStatus({ now: NOW, root: repo, env });
    expect(report.evidence).toBe(false);
    expect(report.notice).toMatch(/^origin has no evidence branch restorable-evidence yet/);
    expect(new Set(report.results.map((r) => r.status))).toEqual(new Set(['no-evidence', 'not-applicable']));
    expect(result(report, 'files', 'RB-RT-003').status).toBe('not-applicable'); // no RTO
    expect(report.failed).toBe(true);
    expect(renderStatus(report)).toMatch(/^evidence: origin has no evidence branch restorable-evidence yet/);
    expect((await evidenceStatus({ now: NOW, root: repo, env, allowMissing: true })).failed).toBe(false);
    // One system with evidence, the other without.
    await write(repo, backup('db', HOUR));
    const partial = await evidenceStatus({ now: NOW, root: repo, env });
    expect(result(partial, 'db', 'RB-RT-001').status).toBe('pass');
    expect(result(partial, 'files', 'RB-RT-001')).toMatchObject({
      status: 'no-evidence',
      message: 'the evidence branch holds no backup record of this system',
      limit: '1d',
    });
  });

  it('runs from the CLI: a table or JSON, exit 1 when a control is violated, 0 when all hold', async () => {
    const repo = workspace();
    await write(repo, backup('db', 10 * HOUR), drill('db', DAY, 'success', 60_000, true));
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [join(REPO_ROOT, 'src/cli.ts'), 'status', '--root', repo, ...args], {
        env,
        encoding: 'utf8',
      });
    const failing = cli('.restorable/db.yaml');
    expect(failing.status, failing.stderr).toBe(1);
    expect(failing.stdout).toMatch(/^SYSTEM +CONTROL +MEASURE +VALUE +REQUIRED +STATUS +RECORD$/m);
    // Measured now, a little after NOW: 10h and a minute, rounded up to the minute.
    expect(failing.stdout).toMatch(
      /FAIL db RB-RT-001 \(high, Newest snapshot within the RPO; snapshotAge 10h[12]m, limit 6h\)/,
    );
    expect(failing.stdout).toMatch(
      /1 system × 4 run-time controls: 3 pass, 1 fail, 0 without evidence, 0 not applicable/,
    );
    const json = cli('.restorable/db.yaml', '--json', '--local');
    expect(json.status).toBe(1);
    const parsed = JSON.parse(json.stdout);
    expect(parsed).toMatchObject({
      command: 'status',
      failed: true,
      remote: null,
      counts: { fail: 1, pass: 3 },
    });
    await write(repo, backup('db', 0));
    const passing = cli('.restorable/db.yaml');
    expect(passing.status, passing.stdout).toBe(0);
    expect(cli('--fail-on', 'bad').status).toBe(2);
    expect(cli('--remote', 'nowhere').stderr).toMatch(/has no remote "nowhere"/);
  });
});
