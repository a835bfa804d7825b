import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnnotations, parseOutputs } from './helpers/action-runner.ts';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';
import { workspace } from './helpers/workspace.ts';

const ACTION = join(REPO_ROOT, 'dist/index.js');

const POLICY = readFileSync(join(REPO_ROOT, 'examples/pass/payments-postgres-s3.yaml'), 'utf8');
const RUNBOOK = readFileSync(join(REPO_ROOT, 'examples/runbooks/payments.md'), 'utf8');
const KEY = readFileSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), 'utf8');
const WEAK = POLICY.replace('name: payments\n', 'name: weak\n')
  .replace('      minimum: 35d\n', '      minimum: 7d\n')
  .replace(/ {4}encryption:\n(?: {6}.*\n)+/, '');

function runAction(files: Record<string, string>, inputs: Record<string, string>) {
  const root = workspace({
    ...files,
    'examples/runbooks/payments.md': RUNBOOK,
    'examples/keys/backup-ops.asc': KEY,
    'event.json': JSON.stringify({
      action: 'synchronize',
      number: 7,
      pull_request: { number: 7, head: { sha: 'abc' } },
    }),
  });
  const summary = join(root, 'summary.md');
  const output = join(root, 'output.txt');
  writeFileSync(summary, '');
  writeFileSync(output, '');
  const env: Record<string, string> = {
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: root,
    GITHUB_EVENT_NAME: 'pull_request',
    GITHUB_EVENT_PATH: join(root, 'event.json'),
    GITHUB_REPOSITORY: 'acme/payments',
    GITHUB_STEP_SUMMARY: summary,
    GITHUB_OUTPUT: output,
    RUNNER_TEMP: root,
  };
  for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
  const run = runNode([ACTION], { cwd: root, env });
  return {
    ...run,
    root,
    summary: readFileSync(summary, 'utf8'),
    outputs: parseOutputs(readFileSync(output, 'utf8')),
  };
}

describe('dist/index.js run as the runner runs it', () => {
  it('passes on a compliant policy: outputs, summary, SARIF, no error annotations', () => {
    const run = runAction(
      { '.restorable/payments.yaml': POLICY },
      { command: 'check', 'sarif-file': 'out/r.sarif' },
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).not.toMatch(/^::error/m);
    expect(run.outputs.result).toBe('passed');
    expect(run.outputs.failed).toBe('0');
    expect(Number(run.outputs.passed)).toBeGreaterThan(15);
    expect(run.outputs['sarif-file']).toBe(join(run.root, 'out/r.sarif'));
    const sarif = JSON.parse(readFileSync(join(run.root, 'out/r.sarif'), 'utf8'));
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0].results).toEqual([]);
    expect(run.summary).toContain('payments/payments-db');
  });

  it('fails on a weak policy with annotations at the exact YAML lines', () => {
    const run = runAction(
      { '.restorable/payments.yaml': POLICY, '.restorable/weak.yaml': WEAK },
      { command: 'check', 'junit-file': 'junit.xml', 'json-file': 'report.json', 'sarif-file': '' },
    );
    expect(run.status).toBe(1);
    const minimumLine = WEAK.split('\n').findIndex((l) => l.includes('minimum: 7d')) + 1;
    const annotations = parseAnnotations(run.stdout);
    const retention = annotations.find((a) => a.props.title?.startsWith('RB-RET-001'));
    expect(retention).toMatchObject({
      level: 'error',
      props: {
        file: '.restorable/weak.yaml',
        line: String(minimumLine),
        endLine: String(minimumLine),
        col: '16',
      },
    });
    expect(retention!.message).toContain('minimum retention is 7d; the profile requires at least 35d');
    const systemLine = WEAK.split('\n').findIndex((l) => l.includes('- name: payments-db')) + 1;
    const encryption = annotations.find((a) => a.props.title?.startsWith('RB-ENC-001'));
    expect(encryption).toMatchObject({
      level: 'error',
      props: { file: '.restorable/weak.yaml', line: String(systemLine) },
    });
    expect(run.stdout).toMatch(/^::error::.*finding\(s\) at or above fail-on "low"/m);
    expect(run.outputs.result).toBe('failed');
    expect(Number(run.outputs.failed)).toBeGreaterThanOrEqual(2);
    expect(run.outputs['sarif-file']).toBe('');
    expect(existsSync(join(run.root, 'restorable.sarif'))).toBe(false);
    expect(readFileSync(join(run.root, 'junit.xml'), 'utf8')).toContain('name="RB-RET-001/weak/payments-db"');
    const json = JSON.parse(readFileSync(join(run.root, 'report.json'), 'utf8'));
    expect(json.counts.failed).toBe(Number(run.outputs.failed));
    expect(run.summary).toMatch(/RB-RET-001/);
    expect(run.summary).toContain('weak/payments-db');
  });

  it('fail-on high lets a medium failure through but still reports it', () => {
    const medium = POLICY.replace('name: payments\n', 'name: medium\n')
      .replace('    rto: 2h\n', '    rto: 2h\n')
      .replace('      repository: offsite\n', '      repository: offsite\n      timeout: 3h\n');
    const run = runAction({ '.restorable/medium.yaml': medium }, { command: 'check', 'fail-on': 'high' });
    expect(run.status).toBe(0);
    const warnings = parseAnnotations(run.stdout).filter((a) => a.level === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.props).toMatchObject({ file: '.restorable/medium.yaml' });
    expect(warnings[0]!.props.title).toMatch(/^RB-DRILL-003/);
    expect(run.outputs.failed).toBe('1');
    expect(run.outputs.result).toBe('passed');
  });

  it('caps annotations at 10 errors and keeps the full list in the summary', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++)
      files[`.restorable/weak-${i}.yaml`] = WEAK.replace('name: weak\n', `name: weak-${i}\n`);
    const run = runAction(files, { command: 'check' });
    const errors = parseAnnotations(run.stdout).filter((a) => a.level === 'error' && a.props.file);
    expect(errors).toHaveLength(10);
    for (let i = 0; i < 12; i++) expect(run.summary).toContain(`weak-${i}.yaml`);
  });

  it('in a working-directory, names files from the repository root for GitHub', () => {
    const run = runAction(
      {
        'services/pay/.restorable/weak.yaml': WEAK,
        'services/pay/examples/runbooks/payments.md': RUNBOOK,
        'services/pay/examples/keys/backup-ops.asc': KEY,
      },
      { 'working-directory': 'services/pay', 'sarif-file': 'out.sarif' },
    );
    expect(run.status).toBe(1);
    const files = new Set(
      parseAnnotations(run.stdout)
        .map((a) => a.props.file)
        .filter(Boolean),
    );
    expect([...files]).toEqual(['services/pay/.restorable/weak.yaml']);
    expect(run.outputs['sarif-file']).toBe(join(run.root, 'services/pay/out.sarif'));
    const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
    const uris = new Set(
      sarif.runs[0].results.map(
        (r: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) =>
          r.locations[0]!.physicalLocation.artifactLocation.uri,
      ),
    );
    expect([...uris]).toEqual(['services/pay/.restorable/weak.yaml']);
    expect(run.summary).toContain('services/pay/.restorable/weak.yaml:');
  });

  it('rejects an unknown command and a bad fail-on with a clear message', () => {
    const bad = runAction({ '.restorable/payments.yaml': POLICY }, { command: 'explode' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('::error::input "command": unknown command "explode"');
    const failOn = runAction({ '.restorable/payments.yaml': POLICY }, { 'fail-on': 'severe' });
    expect(failOn.stdout).toContain(
      'input "fail-on": must be critical, high, medium, low or never, not "severe"',
    );
  });
});

describe('dist/index.js runs the engine: backup, snapshots, restore, verify', () => {
  const BACKUP_POLICY = `apiVersion: restorable/v1
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
`;
  const PASSPHRASE = 'a passphrase that must never be printed';

  it('backs up with the passphrase input masked, sets outputs and a summary, then restores and verifies', () => {
    const files = {
      '.restorable/files.yaml': BACKUP_POLICY,
      'data/a.txt': 'alpha\n'.repeat(1000),
      'data/sub/b.bin': 'b'.repeat(70_000),
    };
    const backup = runAction(files, { command: 'backup', passphrase: PASSPHRASE });
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    expect(backup.stdout).toContain(`::add-mask::${PASSPHRASE}`);
    expect(backup.stdout.replace(`::add-mask::${PASSPHRASE}`, '')).not.toContain(PASSPHRASE);
    expect(backup.outputs.result).toBe('passed');
    expect(backup.outputs['snapshot-id']).toMatch(/^[0-9a-f]{64}$/);
    expect(Number(backup.outputs.files)).toBe(2);
    expect(Number(backup.outputs['bytes-read'])).toBe(6000 + 70_000);
    expect(Number(backup.outputs['bytes-stored'])).toBeGreaterThan(0);
    const summary = JSON.parse(backup.outputs['summary-json']!);
    expect(summary.systems[0].repositories[0].snapshot).toBe(backup.outputs['snapshot-id']);
    expect(backup.summary).toContain('## Restorable: Backup');
    expect(backup.summary).toContain(backup.outputs['snapshot-id']!.slice(0, 8));

    // The same workspace, run again: snapshots, restore, verify.
    const again = (inputs: Record<string, string>) =>
      runNode([ACTION], {
        cwd: backup.root,
        env: {
          GITHUB_WORKSPACE: backup.root,
          GITHUB_OUTPUT: join(backup.root, 'output.txt'),
          GITHUB_STEP_SUMMARY: join(backup.root, 'summary.md'),
          RESTORABLE_PASSPHRASE: PASSPHRASE,
          ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
        },
      });
    writeFileSync(join(backup.root, 'output.txt'), '');
    const due = again({ command: 'backup', due: 'true' });
    expect(due.status).toBe(0);
    expect(
      JSON.parse(parseOutputs(readFileSync(join(backup.root, 'output.txt'), 'utf8'))['summary-json']!)
        .systems[0].status,
    ).toBe('not-due');

    writeFileSync(join(backup.root, 'output.txt'), '');
    const restore = again({ command: 'restore', systems: 'docs', target: 'restored' });
    expect(restore.stderr).toBe('');
    expect(restore.status).toBe(0);
    expect(readFileSync(join(backup.root, 'restored/data/sub/b.bin'), 'utf8')).toBe('b'.repeat(70_000));
    expect(parseOutputs(readFileSync(join(backup.root, 'output.txt'), 'utf8'))['snapshot-id']).toBe(
      backup.outputs['snapshot-id'],
    );

    writeFileSync(join(backup.root, 'output.txt'), '');
    const verify = again({ command: 'verify', 'read-data': 'all' });
    expect(verify.status).toBe(0);
    expect(parseOutputs(readFileSync(join(backup.root, 'output.txt'), 'utf8')).result).toBe('passed');
  });

  it('drills: a passing and a failing drill, with outputs, a summary table and an error annotation on the failing one', () => {
    const policy = `${BACKUP_POLICY}    rto: 1h
    drill:
      verify:
        - name: the file is there
          command: [test, -s, "{restore.path}/data/a.txt"]
  - name: notes
    source: { paths: [notes] }
    schedule: "0 2 * * *"
    rto: 1h
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
    drill:
      verify:
        - name: expects a file that was never backed up
          command: [sh, -c, 'echo "looked for missing.txt" >&2; test -e "{restore.path}/notes/missing.txt"']
`;
    const files = { '.restorable/files.yaml': policy, 'data/a.txt': 'alpha\n', 'notes/n.txt': 'n' };
    const backup = runAction(files, { command: 'backup', passphrase: PASSPHRASE });
    expect(backup.status).toBe(0);
    writeFileSync(join(backup.root, 'output.txt'), '');
    writeFileSync(join(backup.root, 'summary.md'), '');
    const drill = runNode([ACTION], {
      cwd: backup.root,
      env: {
        GITHUB_WORKSPACE: backup.root,
        GITHUB_OUTPUT: join(backup.root, 'output.txt'),
        GITHUB_STEP_SUMMARY: join(backup.root, 'summary.md'),
        INPUT_COMMAND: 'drill',
        INPUT_PASSPHRASE: PASSPHRASE,
      },
    });
    expect(drill.status).toBe(1);
    const outputs = parseOutputs(readFileSync(join(backup.root, 'output.txt'), 'utf8'));
    expect(outputs.result).toBe('failed');
    const drills = JSON.parse(outputs.drills!);
    expect(drills.map((d: { system: string; status: string }) => [d.system, d.status])).toEqual([
      ['docs', 'passed'],
      ['notes', 'failed'],
    ]);
    expect(drills[0].verified).toBe(true);
    expect(drills[0].rtoSeconds).toBe(3600);
    expect(outputs['snapshot-id']).toBe(backup.outputs['snapshot-id']);
    const errors = parseAnnotations(drill.stdout).filter((a) => a.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]!.props.file).toBe('.restorable/files.yaml');
    expect(errors[0]!.message).toContain(
      'notes: verify step "expects a file that was never backed up" failed',
    );
    expect(errors[0]!.message).toContain('looked for missing.txt');
    expect(errors[1]!.message).toBe('drill failed for notes');
    const summary = readFileSync(join(backup.root, 'summary.md'), 'utf8');
    expect(summary).toContain('## Restorable: Restore drills');
    expect(summary).toMatch(
      /\| docs \| ✅ passed \| local: `[0-9a-f]{8}` \| 1 file, 6 B \| complete \| 1 of 1 passed \|/,
    );
    expect(summary).toContain('| notes | ❌ failed |');
  });

  it('fails the step with one clear error when the passphrase is wrong', () => {
    const files = { '.restorable/files.yaml': BACKUP_POLICY, 'data/a.txt': 'a' };
    const first = runAction(files, { command: 'backup', passphrase: PASSPHRASE });
    expect(first.status).toBe(0);
    const wrong = runNode([ACTION], {
      cwd: first.root,
      env: { GITHUB_WORKSPACE: first.root, INPUT_COMMAND: 'snapshots', INPUT_PASSPHRASE: 'wrong' },
    });
    expect(wrong.status).toBe(1);
    const errors = wrong.stdout.split('\n').filter((line) => line.startsWith('::error'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/no key wrapper .* opens with the given passphrase/);
  });
});
