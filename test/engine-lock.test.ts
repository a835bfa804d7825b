import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { backupSystem } from '../src/engine/backup.ts';
import { newMasterKey } from '../src/engine/crypto.ts';
import {
  acquireLock,
  holdLocks,
  LOCK_LIFETIME_MS,
  LockedError,
  type LockInfo,
  liveLocks,
} from '../src/engine/lock.ts';
import { newConfig, Repository, writeConfig } from '../src/engine/repository.ts';
import { listSnapshots } from '../src/engine/snapshot.ts';
import { LocalBackend } from '../src/storage/local.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rk-lock-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newRepository(): Promise<Repository> {
  const backend = new LocalBackend(join(tempDir(), 'repo'));
  const config = newConfig();
  await writeConfig(backend, config);
  return new Repository(backend, config, newMasterKey());
}

async function lockNames(repo: Repository): Promise<string[]> {
  return (await repo.backend.list('locks/')).map((info) => info.name);
}

describe('repository locks', () => {
  it('lets shared locks coexist, and refuses an exclusive one beside them naming the holder', async () => {
    const repo = await newRepository();
    const a = await acquireLock(repo, 'shared', { purpose: 'backup a' });
    const b = await acquireLock(repo, 'shared', { purpose: 'backup b' });
    expect(await lockNames(repo)).toHaveLength(2);
    const refused = acquireLock(repo, 'exclusive', { purpose: 'prune' });
    await expect(refused).rejects.toBeInstanceOf(LockedError);
    await expect(refused).rejects.toThrow(
      /cannot be taken beside shared lock by backup (a|b) \(.+@.+, pid \d+\)/,
    );
    // The refused attempt left nothing behind.
    expect(await lockNames(repo)).toHaveLength(2);
    await a.release();
    await b.release();
    const prune = await acquireLock(repo, 'exclusive', { purpose: 'prune' });
    await expect(acquireLock(repo, 'shared', { purpose: 'backup c' })).rejects.toThrow(
      /exclusive lock by prune/,
    );
    await prune.release();
    expect(await lockNames(repo)).toEqual([]);
  });

  it('ignores a lock whose holder stopped refreshing it, and a refresh moves the expiry forward', async () => {
    const repo = await newRepository();
    const longAgo = new Date(Date.now() - LOCK_LIFETIME_MS - 1000);
    await acquireLock(repo, 'exclusive', { purpose: 'crashed prune', now: () => longAgo });
    const backup = await acquireLock(repo, 'shared', { purpose: 'backup' });
    const before = (await liveLocks(repo, new Date())).map(({ lock }) => lock?.expires);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await backup.refresh();
    const after = (await liveLocks(repo, new Date())).map(({ lock }) => lock?.expires);
    expect(after).toHaveLength(1);
    expect(after[0]! > before[0]!).toBe(true);
    // The stale lock is still there (only its holder or an unlock removes it), the refreshed one replaced.
    expect(await lockNames(repo)).toHaveLength(2);
  });

  it("ignores at once the lock of a process of this machine that is gone, but not another machine's", async () => {
    const repo = await newRepository();
    // A real process that held a lock and is gone: its pid names no process any more.
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const deadPid = Number(child.stdout);
    const writeLock = async (changes: Partial<LockInfo>) => {
      const held = await acquireLock(repo, 'exclusive', { purpose: 'prune' });
      const [live] = await liveLocks(repo, new Date());
      await held.release();
      const forged = { ...live!.lock!, ...changes };
      return repo.writeSealed('locks', 'lock', new TextEncoder().encode(JSON.stringify(forged)));
    };
    const gone = await writeLock({ pid: deadPid, purpose: 'killed prune' });
    const backup = await acquireLock(repo, 'shared', { purpose: 'backup' });
    await backup.release();

    // The same dead pid on another machine, or from a holder that did not record its boot: it counts.
    await repo.backend.remove(`locks/${gone}`);
    const elsewhere = await writeLock({ pid: deadPid, hostname: 'another-runner', purpose: 'remote prune' });
    await expect(acquireLock(repo, 'shared', { purpose: 'backup' })).rejects.toThrow(
      /exclusive lock by remote prune/,
    );
    await repo.backend.remove(`locks/${elsewhere}`);
    await writeLock({ pid: deadPid, bootId: undefined, purpose: 'old prune' });
    await expect(acquireLock(repo, 'shared', { purpose: 'backup' })).rejects.toThrow(
      /exclusive lock by old prune/,
    );
  });

  it('takes an unreadable lock object as held, and says which', async () => {
    const repo = await newRepository();
    const root = (repo.backend as LocalBackend).location;
    mkdirSync(join(root, 'locks'), { recursive: true });
    writeFileSync(join(root, 'locks', 'ab'.repeat(32)), 'not a sealed lock');
    const problems: string[] = [];
    await expect(
      acquireLock(repo, 'exclusive', { purpose: 'prune', onProblem: (message) => problems.push(message) }),
    ).rejects.toThrow(/locks\/(ab){32} \(unreadable\)/);
    expect(problems.join('\n')).toMatch(/locks\/(ab){32} cannot be read/);
  });

  it('never grants two exclusive locks that race', async () => {
    const repo = await newRepository();
    for (let trial = 0; trial < 10; trial++) {
      const attempts = await Promise.allSettled([
        acquireLock(repo, 'exclusive', { purpose: 'prune 1' }),
        acquireLock(repo, 'exclusive', { purpose: 'prune 2' }),
        acquireLock(repo, 'shared', { purpose: 'backup' }),
      ]);
      const granted = attempts.flatMap((attempt, i) => (attempt.status === 'fulfilled' ? [i] : []));
      // An exclusive lock is never held beside any other.
      if (granted.some((i) => i < 2)) expect(granted).toHaveLength(1);
      for (const attempt of attempts) if (attempt.status === 'fulfilled') await attempt.value.release();
      expect(await lockNames(repo)).toEqual([]);
    }
  });

  it('a backup holds a shared lock while it runs, releases it, and is refused beside an exclusive one', async () => {
    const repo = await newRepository();
    const input = () => ({
      kind: 'command' as const,
      command: ['cat'],
      filename: 'a.txt',
      stdout: (async function* () {
        expect((await liveLocks(repo, new Date())).map(({ lock }) => lock?.kind)).toEqual(['shared']);
        yield new TextEncoder().encode('hello');
      })(),
      done: Promise.resolve(),
    });
    await backupSystem([repo], input(), { system: 's', policy: 'p' });
    expect(await lockNames(repo)).toEqual([]);
    const prune = await holdLocks([repo], 'exclusive', { purpose: 'prune' });
    await expect(backupSystem([repo], input(), { system: 's', policy: 'p' })).rejects.toThrow(
      /is locked: a shared lock cannot be taken beside exclusive lock by prune/,
    );
    await prune.release();
    expect(await listSnapshots(repo, () => {})).toHaveLength(1);
  });
});
