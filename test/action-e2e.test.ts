import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionEvent, type ActionRun, runAction } from './helpers/action-runner.ts';
import { bareRemote, git, removeTempDirs, tempDir, workTree } from './helpers/git.ts';
import { type FakeGitHubApi, startGitHubApi } from './helpers/github-api.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { newSigningKey, type SigningKey } from './helpers/signing-key.ts';

// dist/index.js run as the runner runs it, through a team's whole life on GitHub: a pull request pushed
// three times (the difference, the sticky comment, no evidence), then a scheduled run of every command
// (plan, backup, snapshots, drill, verify, restore, prune, status, evidence-verify, check) with its log
// lines, summary, outputs and evidence commits. Real git remotes, a real signing key, a loopback GitHub API.

const BRANCH = 'restorable-evidence';
const TOKEN = 'ghs_e2eJobToken1234567890abcdefghijklmn';
const PASSPHRASE = 'end-to-end repository passphrase';
const PAYMENTS = readFileSync(join(REPO_ROOT, 'examples/pass/payments-postgres-s3.yaml'), 'utf8');
const DEMO = readFileSync(join(REPO_ROOT, 'examples/demo/demo.yaml'), 'utf8');

let key: SigningKey;
let api: FakeGitHubApi;

beforeAll(async () => {
  key = await newSigningKey();
  api = await startGitHubApi({ token: TOKEN, owner: 'acme', repo: 'payments' });
});
afterAll(async () => {
  await api?.close();
  removeTempDirs();
});

const CONFIG = () =>
  `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: ${BRANCH}\n  signingKey:\n    fingerprint: ${key.fingerprint}\n`;

/** A team repository pushed to a bare origin: examples/ (runbooks, keys), the profile, and `policies`. */
function team(policies: Record<string, string>): { remote: string; root: string } {
  const remote = bareRemote();
  const root = workTree(remote);
  cpSync(join(REPO_ROOT, 'examples/runbooks'), join(root, 'examples/runbooks'), { recursive: true });
  cpSync(join(REPO_ROOT, 'examples/keys'), join(root, 'examples/keys'), { recursive: true });
  const files = { '.restorable/config.yaml': CONFIG(), '.gitignore': '/.restorable-demo/\n', ...policies };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  git(root, ['add', '-A']);
  git(root, ['commit', '-qm', 'policies']);
  git(root, ['push', '-q', 'origin', 'main']);
  return { remote, root };
}

/** What actions/checkout gives a job: a depth-1 clone of one commit, with origin's credentials. */
function checkout(remote: string, branch: string): string {
  const dir = tempDir('restorable-checkout-');
  git(dir, ['clone', '-q', '--depth=1', '--no-local', '--branch', branch, `file://${remote}`, '.']);
  return dir;
}

function evidenceFiles(remote: string): string[] {
  if (git(remote, ['branch', '--list', BRANCH]) === '') return [];
  return git(remote, ['ls-tree', '-r', '--name-only', BRANCH, '--', 'records/'])
    .split('\n')
    .filter((p) => p.endsWith('.json'));
}

function logLines(run: ActionRun): string[] {
  return run.stdout.split('\n').filter((line) => !line.startsWith('::'));
}

function expectNoSecret(run: ActionRun, ...secrets: string[]): void {
  // `::add-mask::` is how a value is registered with the runner's masker; the runner never shows that line.
  const shown = run.stdout
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  for (const secret of secrets) {
    expect(shown).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
    expect(run.summary).not.toContain(secret);
    expect(JSON.stringify(run.outputs)).not.toContain(secret);
  }
}

describe('a pull request, pushed three times', () => {
  it('reports what it changes, keeps one comment up to date, and writes no evidence', async () => {
    const { remote, root } = team({ '.restorable/payments.yaml': PAYMENTS });
    const base = git(root, ['rev-parse', 'HEAD']).trim();
    git(root, ['checkout', '-qb', 'lower-retention']);
    const pushes = [
      // 1: retention below the minimum: a new high failure.
      PAYMENTS.replace('      minimum: 35d\n', '      minimum: 7d\n'),
      // 2: the minimum restored, the RPO loosened: passes, but says so.
      PAYMENTS.replace('    rpo: 6h\n', '    rpo: 12h\n'),
      // 3: back as on main: nothing changes.
      PAYMENTS,
    ];
    const runs: ActionRun[] = [];
    for (const [i, policy] of pushes.entries()) {
      writeFileSync(join(root, '.restorable/payments.yaml'), policy);
      git(root, ['commit', '-qam', `push ${i + 1}`, '--allow-empty']);
      git(root, ['push', '-qf', 'origin', 'lower-retention']);
      const head = git(root, ['rev-parse', 'HEAD']).trim();
      const event: ActionEvent = {
        name: 'pull_request',
        payload: {
          action: i === 0 ? 'opened' : 'synchronize',
          number: 12,
          pull_request: {
            number: 12,
            base: { ref: 'main', sha: base },
            head: { ref: 'lower-retention', sha: head },
          },
          repository: { full_name: 'acme/payments' },
        },
      };
      const workspace = checkout(remote, 'lower-retention');
      runs.push(
        await runAction({
          workspace,
          event,
          token: TOKEN,
          apiUrl: api.url,
          inputs: { command: 'check', comment: 'true', evidence: 'true', 'evidence-key': key.armored },
        }),
      );
      // The base was fetched into the depth-1 checkout; nothing else in it changed but the reports.
      expect(git(workspace, ['status', '--porcelain'])).toBe('?? restorable.sarif');
    }
    const [first, second, third] = runs as [ActionRun, ActionRun, ActionRun];

    expect(first.status).toBe(1);
    expect(first.outputs['new-failures']).toBe('1');
    expect(first.outputs.fixed).toBe('0');
    expect(logLines(first)).toContain(
      'against the base commit: 1 new failure, 0 fixed, 0 still failing, 1 term loosened',
    );
    const errors = first.annotations.filter((a) => a.level === 'error');
    expect(
      errors.filter((a) => a.props.file).map((a) => [a.props.title, a.props.file, a.props.line]),
    ).toEqual([
      [
        expect.stringContaining('RB-RET-001'),
        '.restorable/payments.yaml',
        String(PAYMENTS.split('\n').indexOf('      minimum: 35d') + 1),
      ],
    ]);
    expect(errors.at(-1)?.message).toMatch(/^1 finding\(s\) at or above fail-on "low"/);
    // The summary leads with the difference, before the matrix.
    const changesAt = first.summary.indexOf('### What this pull request changes');
    expect(changesAt).toBeGreaterThan(0);
    expect(changesAt).toBeLessThan(first.summary.indexOf('### Controls × systems'));
    expect(first.summary).toMatch(/\| `retention\.minimum` \| 35d \| 7d \|/);

    expect(second.status).toBe(0);
    expect(second.outputs['new-failures']).toBe('0');
    expect(second.outputs.fixed).toBe('0');
    expect(second.summary).toMatch(/\| `rpo` \| 6h \| 12h \|/);
    expect(third.status).toBe(0);
    expect(third.summary).toContain('no control changes status');

    // One comment, created once and then edited in place.
    const writes = api.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
    expect(writes).toEqual([
      'POST /repos/acme/payments/issues/12/comments',
      expect.stringMatching(/^PATCH \/repos\/acme\/payments\/issues\/comments\/\d+$/),
      expect.stringMatching(/^PATCH \/repos\/acme\/payments\/issues\/comments\/\d+$/),
    ]);
    expect(api.requests.every((r) => r.auth.valid)).toBe(true);
    const comments = api.comments(12);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body.split('\n')[0]).toBe('<!-- restorable:check -->');
    expect(comments[0]!.body).toContain('no control changes status');
    expect(comments[0]!.body).toContain('https://github.example/acme/payments/actions/runs/4242');
    expect(logLines(first)).toContain(`comment created: ${comments[0]!.html_url}`);
    expect(logLines(third)).toContain(`comment updated: ${comments[0]!.html_url}`);
    expect(third.outputs['comment-url']).toBe(comments[0]!.html_url);

    // A pull request never writes evidence, and no secret is printed.
    expect(evidenceFiles(remote)).toEqual([]);
    expect(
      first.annotations.some((a) => a.level === 'warning' && /evidence not written/.test(a.message)),
    ).toBe(true);
    for (const run of runs) expectNoSecret(run, TOKEN, key.armored.split('\n')[3]!);
  }, 120_000);

  it('fail-on-scope `new` lets a pull request through that keeps an old failure, and a fork token only warns', async () => {
    const weak = PAYMENTS.replace('name: payments\n', 'name: weak\n').replace(
      '      minimum: 35d\n',
      '      minimum: 7d\n',
    );
    const { remote, root } = team({ '.restorable/payments.yaml': PAYMENTS, '.restorable/weak.yaml': weak });
    const base = git(root, ['rev-parse', 'HEAD']).trim();
    git(root, ['checkout', '-qb', 'docs']);
    writeFileSync(join(root, 'README.md'), 'a change that touches no policy\n');
    git(root, ['add', '-A']);
    git(root, ['commit', '-qm', 'docs']);
    git(root, ['push', '-q', 'origin', 'docs']);
    const event: ActionEvent = {
      name: 'pull_request',
      payload: { number: 13, pull_request: { number: 13, base: { sha: base }, head: { sha: 'x' } } },
    };
    const inputs = { command: 'check', 'fail-on-scope': 'new', comment: 'true' };
    const all = await runAction({
      workspace: checkout(remote, 'docs'),
      event,
      apiUrl: api.url,
      inputs: { ...inputs, 'fail-on-scope': 'all' },
      token: 'ghs_readonly',
    });
    expect(all.status).toBe(1);
    const scoped = await runAction({
      workspace: checkout(remote, 'docs'),
      event,
      apiUrl: api.url,
      inputs,
      token: 'ghs_readonly',
    });
    expect(scoped.status).toBe(0);
    expect(scoped.outputs.result).toBe('passed');
    expect(scoped.outputs.failed).toBe('1');
    expect(scoped.summary).toContain('fails on new failures at low and above');
    // The fake refuses this token: the comment is a warning, never the check's failure.
    expect(
      scoped.annotations.find((a) => a.level === 'warning' && a.message.startsWith('comment:'))?.message,
    ).toMatch(/token/i);
    expect(api.comments(13)).toEqual([]);
  }, 60_000);
});

describe('a scheduled run of every command', () => {
  it('plans, backs up, drills, verifies, restores, prunes and proves it on the evidence branch', async () => {
    const { remote } = team({ '.restorable/demo.yaml': DEMO });
    const event: ActionEvent = { name: 'schedule', payload: { schedule: '7 * * * *' } };
    const workspace = checkout(remote, 'main');
    const env = { RESTORABLE_PASSPHRASE: PASSPHRASE };
    const signing = { 'evidence-key': key.armored };
    const step = (inputs: Record<string, string>) => runAction({ workspace, event, env, inputs });

    const plan = await step({ command: 'plan', due: 'true' });
    expect(plan.status).toBe(0);
    const planned = JSON.parse(plan.outputs['backup-matrix']!).include.map(
      (j: { system: string }) => j.system,
    );
    expect(planned).toEqual(['example-files', 'example-dump']);
    expect(plan.outputs['drill-count']).toBe('2');

    const backup = await step({ command: 'backup', systems: planned.join(' '), ...signing });
    expect(backup.stderr).toBe('');
    expect(backup.status).toBe(0);
    expect(backup.outputs.result).toBe('passed');
    const snapshots = JSON.parse(backup.outputs.snapshots!);
    expect(snapshots.map((s: { system: string }) => s.system)).toEqual(['example-files', 'example-dump']);
    expect(backup.summary).toContain('example-dump');

    const listed = await step({ command: 'snapshots' });
    expect(
      JSON.parse(listed.outputs.snapshots!)
        .map((s: { id: string }) => s.id)
        .sort(),
    ).toEqual(snapshots.map((s: { snapshot: string }) => s.snapshot).sort());

    const drill = await step({ command: 'drill', due: 'true', ...signing });
    expect(drill.status).toBe(0);
    expect(JSON.parse(drill.outputs.drills!).map((d: { status: string }) => d.status)).toEqual([
      'passed',
      'passed',
    ]);

    const verify = await step({ command: 'verify', 'read-data': 'all' });
    expect(verify.status).toBe(0);
    expect(verify.outputs.result).toBe('passed');

    const target = tempDir('restorable-restored-');
    const restore = await step({ command: 'restore', systems: 'example-files', target });
    expect(restore.status).toBe(0);
    expect(readFileSync(join(target, 'examples/runbooks/legal-documents.md'), 'utf8')).toBe(
      readFileSync(join(workspace, 'examples/runbooks/legal-documents.md'), 'utf8'),
    );

    const prune = await step({ command: 'prune', 'dry-run': 'true' });
    expect(prune.status).toBe(0);
    expect(prune.outputs['snapshots-removed']).toBe('0');

    const check = await step({ command: 'check', evidence: 'true', ...signing, 'fail-on': 'never' });
    expect(check.status).toBe(0);

    const status = await step({ command: 'status' });
    expect(status.status).toBe(0);
    expect(status.outputs.result).toBe('passed');

    const verified = await step({ command: 'evidence-verify' });
    expect(verified.status).toBe(0);
    expect(verified.outputs.ok).toBe('true');

    // Every run that acts left its signed record, in order, on origin's evidence branch.
    const kinds = evidenceFiles(remote).map((file) => /-(backup|drill|check|prune)[-.]/.exec(file)?.[1]);
    expect(kinds).toEqual(['backup', 'backup', 'drill', 'drill', 'check']);
    expect(verified.outputs.records).toBe('5');
    // With everything just done, nothing is due.
    const again = await step({ command: 'plan', due: 'true' });
    expect(again.outputs.count).toBe('0');
    for (const run of [plan, backup, drill, check, status, verified])
      expectNoSecret(run, PASSPHRASE, key.armored.split('\n')[3]!);
  }, 180_000);
});
