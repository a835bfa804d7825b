import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../src/commands/check.ts';
import { changesSinceBase, withChanges } from '../src/commands/check-base.ts';
import { CommitUnavailableError, writeCommitTree } from '../src/policy/git-tree.ts';
import { renderChangesMarkdown } from '../src/report/changes-render.ts';
import { git, removeTempDirs, tempDir } from './helpers/git.ts';
import { REPO_ROOT } from './helpers/run-node.ts';

// Fixture histories in real git repositories: a base commit, then the change under review in the work tree
// or in a second commit. The base is read through git; the work tree must stay as it is.

const POLICY = readFileSync(join(REPO_ROOT, 'examples/pass/payments-postgres-s3.yaml'), 'utf8');
const SUPPORT = {
  'examples/runbooks/payments.md': readFileSync(join(REPO_ROOT, 'examples/runbooks/payments.md'), 'utf8'),
  'examples/keys/backup-ops.asc': readFileSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), 'utf8'),
};
/** The example with its offsite repository removed: RB-OFF-001 fails. */
const NO_OFFSITE = POLICY.replace('    repositories: [primary, offsite]\n', '    repositories: [primary]\n')
  .replace(/ {2}offsite:\n(?: {4}.*\n)+/, '')
  .replace('      repository: offsite\n', '');

afterAll(removeTempDirs);

function write(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** A repository whose first commit holds `base`; returns its root (optionally a subdirectory). */
function history(base: Record<string, string>): string {
  const root = tempDir('restorable-changes-');
  git(root, ['init', '-q', '-b', 'main']);
  write(root, { ...SUPPORT, ...base });
  git(root, ['add', '-A']);
  git(root, ['commit', '-qm', 'base']);
  return root;
}

async function compare(root: string, revision = 'HEAD', scope: 'all' | 'new' = 'all') {
  const options = { root, paths: ['.restorable'] };
  const head = runCheck(options);
  const changes = await changesSinceBase(options, head, { revision });
  return { head, changes, report: withChanges(head, changes, scope) };
}

describe('what a change to the policies does', () => {
  it('lowering retention below the minimum is a new failure and a loosened term', async () => {
    const root = history({ '.restorable/payments.yaml': POLICY });
    write(root, {
      '.restorable/payments.yaml': POLICY.replace('      minimum: 35d\n', '      minimum: 7d\n'),
    });
    const { changes, report } = await compare(root);
    expect(changes.newFailures.map((c) => [c.finding.ruleId, c.finding.system, c.onBase])).toEqual([
      ['RB-RET-001', 'payments-db', true],
    ]);
    expect(changes.fixed).toEqual([]);
    expect(changes.loosened.map((t) => [t.term, t.before, t.after, t.location.line])).toEqual([
      ['retention.minimum', '35d', '7d', POLICY.split('\n').indexOf('      minimum: 35d') + 1],
    ]);
    expect(report.failed).toBe(true);
    const markdown = renderChangesMarkdown(changes).join('\n');
    expect(markdown).toContain('1 new failure');
    expect(markdown).toMatch(/\| high \| \*\*RB-RET-001\*\* \| payments\/payments-db \|/);
  });

  it('adding an offsite copy fixes RB-OFF-001 and tightens the copies', async () => {
    const root = history({ '.restorable/payments.yaml': NO_OFFSITE });
    const before = runCheck({ root, paths: ['.restorable'] });
    expect(before.findings.some((f) => f.ruleId === 'RB-OFF-001' && f.status === 'fail')).toBe(true);
    write(root, { '.restorable/payments.yaml': POLICY });
    const { changes } = await compare(root);
    expect(changes.fixed.map((c) => c.finding.ruleId)).toContain('RB-OFF-001');
    expect(changes.newFailures).toEqual([]);
    expect(changes.tightened.map((t) => [t.term, t.before, t.after])).toEqual([
      ['repositories', 'primary', 'primary, offsite'],
    ]);
    expect(changes.loosened).toEqual([]);
  });

  it('RPO and RTO raised, keep counts lowered, the drill removed: each is loosened', async () => {
    const root = history({ '.restorable/payments.yaml': POLICY });
    const looser = POLICY.replace('    rpo: 6h\n', '    rpo: 1d\n')
      .replace('    rto: 2h\n', '')
      .replace('daily: 14', 'daily: 7')
      .replace(/ {4}drill:\n(?: {6}.*\n)+/, '');
    write(root, { '.restorable/payments.yaml': looser });
    const { changes } = await compare(root);
    expect(changes.loosened.map((t) => `${t.term}: ${t.before} → ${t.after}`).sort()).toEqual([
      'drill: declared → none',
      'retention.keep.daily: 14 → 7',
      'rpo: 6h → 1d',
      'rto: 2h → none',
    ]);
    expect(changes.tightened).toEqual([]);
  });

  it('a renamed system is one added and one removed; its failures are new', async () => {
    const root = history({ '.restorable/payments.yaml': NO_OFFSITE });
    write(root, { '.restorable/payments.yaml': NO_OFFSITE.replace('name: payments-db', 'name: ledger-db') });
    const { changes } = await compare(root);
    expect(changes.systemsAdded.map((s) => s.system)).toEqual(['ledger-db']);
    expect(changes.systemsRemoved.map((s) => s.system)).toEqual(['payments-db']);
    const offsite = changes.newFailures.find((c) => c.finding.ruleId === 'RB-OFF-001');
    expect(offsite?.onBase).toBe(false);
    // What failed on the old name is not "fixed": that system is gone, not mended.
    expect(changes.fixed).toEqual([]);
  });

  it('moving a policy to another file and reordering it is no change', async () => {
    const root = history({ '.restorable/payments.yaml': POLICY });
    git(root, ['mv', '.restorable/payments.yaml', '.restorable/moved.yaml']);
    write(root, { '.restorable/moved.yaml': `# moved\n\n${POLICY}` });
    const { changes } = await compare(root);
    expect(changes.newFailures).toEqual([]);
    expect(changes.fixed).toEqual([]);
    expect(changes.systemsAdded).toEqual([]);
    expect(changes.loosened).toEqual([]);
  });

  it('scope `new` tolerates failures the base already had, and still fails on a new one', async () => {
    const root = history({ '.restorable/payments.yaml': NO_OFFSITE });
    write(root, { '.restorable/payments.yaml': NO_OFFSITE.replace('    rto: 2h\n', '    rto: 3h\n') });
    const old = await compare(root, 'HEAD', 'new');
    expect(old.head.failed).toBe(true);
    expect(old.changes.stillFailing).toBeGreaterThan(0);
    expect(old.report.failed).toBe(false);
    expect((await compare(root, 'HEAD', 'all')).report.failed).toBe(true);

    write(root, {
      '.restorable/payments.yaml': NO_OFFSITE.replace('      minimum: 35d\n', '      minimum: 7d\n'),
    });
    expect((await compare(root, 'HEAD', 'new')).report.failed).toBe(true);
  });

  it('a problem with the files fails under scope `new` even when the base had it', async () => {
    const broken = `${POLICY}  - name: [unclosed\n`;
    const root = history({ '.restorable/payments.yaml': broken });
    write(root, { '.restorable/payments.yaml': `${broken}# touched\n` });
    const { changes, report } = await compare(root, 'HEAD', 'new');
    expect(changes.newFailures).toEqual([]);
    expect(report.failed).toBe(true);

    write(root, { '.restorable/payments.yaml': POLICY });
    const mended = await compare(root, 'HEAD', 'new');
    expect(mended.changes.fixed.some((c) => c.finding.kind === 'problem')).toBe(true);
    expect(mended.report.failed).toBe(false);
  });

  it('runs in a subdirectory of a monorepo, and a base without it has every system added', async () => {
    const root = history({ 'README.md': 'monorepo\n' });
    const service = join(root, 'services/payments');
    write(service, { ...SUPPORT, '.restorable/payments.yaml': POLICY });
    const { changes } = await compare(service);
    expect(changes.systemsAdded.map((s) => `${s.policy}/${s.system}`)).toEqual(['payments/payments-db']);
    expect(changes.newFailures).toEqual([]);

    git(root, ['add', '-A']);
    git(root, ['commit', '-qm', 'service']);
    write(service, { '.restorable/payments.yaml': POLICY.replace('    rpo: 6h\n', '    rpo: 12h\n') });
    const next = await compare(service);
    expect(next.changes.systemsAdded).toEqual([]);
    expect(next.changes.loosened.map((t) => t.location.file)).toEqual(['.restorable/payments.yaml']);
  });

  it('leaves the work tree, the index and HEAD as they were', async () => {
    const root = history({ '.restorable/payments.yaml': POLICY });
    write(root, { '.restorable/payments.yaml': POLICY.replace('rpo: 6h', 'rpo: 8h'), 'staged.txt': 'x\n' });
    git(root, ['add', 'staged.txt']);
    const status = git(root, ['status', '--porcelain=v2', '--branch']);
    await compare(root);
    expect(git(root, ['status', '--porcelain=v2', '--branch'])).toBe(status);
  });
});

describe('reading the base commit', () => {
  it('fetches a base that a depth-1 clone lacks, and says what to do when it cannot', async () => {
    const origin = history({ '.restorable/payments.yaml': POLICY });
    const base = git(origin, ['rev-parse', 'HEAD']).trim();
    write(origin, { '.restorable/payments.yaml': POLICY.replace('rpo: 6h', 'rpo: 9h') });
    git(origin, ['commit', '-qam', 'change']);
    const clone = tempDir('restorable-shallow-');
    git(clone, ['clone', '-q', '--depth=1', '--no-local', `file://${origin}`, '.']);
    expect(() => git(clone, ['cat-file', '-e', `${base}^{commit}`])).toThrow();

    await expect(writeCommitTree({ root: clone, revision: base })).rejects.toThrow(CommitUnavailableError);
    await expect(writeCommitTree({ root: clone, revision: base })).rejects.toThrow(/fetch-depth: 0/);

    const tree = await writeCommitTree({ root: clone, revision: base, fetchRemote: 'origin' });
    try {
      expect(tree.commit).toBe(base);
      expect(readFileSync(join(tree.root, '.restorable/payments.yaml'), 'utf8')).toBe(POLICY);
    } finally {
      tree.remove();
    }
    await expect(
      writeCommitTree({ root: clone, revision: 'f'.repeat(40), fetchRemote: 'origin' }),
    ).rejects.toThrow(/fetching it from origin failed/);
  });

  it('writes symlinks as links and keeps executables executable, under a directory it removes', async () => {
    const root = history({ '.restorable/payments.yaml': POLICY, 'bin/run.sh': '#!/bin/sh\n' });
    symlinkSync('../examples/runbooks/payments.md', join(root, 'bin/runbook.md'));
    git(root, ['add', 'bin/runbook.md']);
    git(root, ['update-index', '--chmod=+x', 'bin/run.sh']);
    git(root, ['commit', '-qm', 'exec']);
    const tree = await writeCommitTree({ root, revision: 'HEAD' });
    expect(lstatSync(join(tree.root, 'bin/run.sh')).mode & 0o111).not.toBe(0);
    expect(lstatSync(join(tree.root, 'bin/runbook.md')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(tree.root, 'bin/runbook.md'), 'utf8')).toBe(
      SUPPORT['examples/runbooks/payments.md'],
    );
    tree.remove();
    expect(existsSync(tree.root)).toBe(false);
  });
});
