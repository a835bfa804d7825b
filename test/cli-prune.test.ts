import { existsSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliRun, restorable } from './helpers/restorable-cli.ts';

// `restorable prune` as a user runs it: dist/cli.js, a local repository, a command source.

const ENV = { RESTORABLE_PASSPHRASE: 'correct horse battery staple' };
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function policy(root: string, repository: string): void {
  writeFileSync(
    join(root, 'policy.yaml'),
    `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: prune-cli, owner: ops@example.com }
repositories:
  local: { local: { path: "${repository}" } }
systems:
  - name: notes
    source: { command: [sh, -c, "date +%s%N"], filename: notes.txt }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
    retention: { keep: { last: 2 } }
`,
  );
}

function run(root: string, args: string[]): Promise<CliRun> {
  return restorable([...args, '--root', root], { cwd: root, env: ENV });
}

function described(result: CliRun): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

describe('restorable prune (CLI)', () => {
  it('shows the decisions in a dry run, then keeps the newest two and every kept snapshot restores', async () => {
    const root = mkdtempSync(join(tmpdir(), 'restorable-prune-cli-'));
    dirs.push(root);
    policy(root, join(root, 'repo'));
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const backup = await run(root, ['backup', 'policy.yaml', '--json']);
      expect(backup.status, described(backup)).toBe(0);
      ids.push(JSON.parse(backup.stdout).systems[0].repositories[0].snapshot);
    }
    const dry = await run(root, ['prune', 'policy.yaml', '--dry-run']);
    expect(dry.status, described(dry)).toBe(0);
    expect(dry.stdout).toContain('would remove 2');
    expect((await run(root, ['snapshots', 'policy.yaml'])).stdout).toContain('4 snapshots');

    const pruned = await run(root, ['prune', 'policy.yaml', '--json']);
    expect(pruned.status, described(pruned)).toBe(0);
    const decisions = JSON.parse(pruned.stdout).repositories[0].result.systems[0].decisions as {
      id: string;
      decision: string;
    }[];
    expect(decisions.filter((d) => d.decision === 'keep').map((d) => d.id)).toEqual([ids[3], ids[2]]);
    const listed = await run(root, ['snapshots', 'policy.yaml', '--json']);
    const remaining = (JSON.parse(listed.stdout).snapshots as { id: string }[]).map((s) => s.id).sort();
    expect(remaining).toEqual([ids[2], ids[3]].sort());
    for (const id of remaining) {
      const restored = await run(root, [
        'restore',
        'policy.yaml',
        '--system',
        'notes',
        '--snapshot',
        id,
        '--stdout',
      ]);
      expect(restored.status, described(restored)).toBe(0);
      expect(restored.stdout).toMatch(/^\d+\n$/);
    }
    const verified = await run(root, ['repo', 'verify', 'policy.yaml', '--read-data']);
    expect(verified.status, described(verified)).toBe(0);

    // A write killed before its rename left its temporary file: the next prune removes it once it is old.
    const leftover = join(root, 'repo', 'snapshots', '.tmp-0123456789abcdef');
    writeFileSync(leftover, 'half a snapshot');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(leftover, twoHoursAgo, twoHoursAgo);
    const again = await run(root, ['prune', 'policy.yaml']);
    expect(again.status, described(again)).toBe(0);
    expect(again.stdout).toContain('1 abandoned temporary file removed');
    expect(existsSync(leftover)).toBe(false);
  });

  it('exits 1 naming the repository when it cannot be pruned, and 2 on a usage error', async () => {
    const root = mkdtempSync(join(tmpdir(), 'restorable-prune-cli-'));
    dirs.push(root);
    policy(root, join(root, 'no-such-repository'));
    const failed = await run(root, ['prune', 'policy.yaml']);
    expect(failed.status, described(failed)).toBe(1);
    expect(failed.stderr + failed.stdout).toContain('no-such-repository');
    const usage = await run(root, ['prune', 'policy.yaml', '--repack-threshold', 'lots']);
    expect(usage.status, described(usage)).toBe(2);
  });
});
