import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { archiveEntry } from '../src/commands/backup.ts';
import type { ArchiveEntry } from '../src/engine/archiver.ts';
import { type BackupInput, backupSystem } from '../src/engine/backup.ts';
import { loadIndex } from '../src/engine/blob-index.ts';
import { BlobReader } from '../src/engine/blob-reader.ts';
import { checkRepository } from '../src/engine/checker.ts';
import { newMasterKey } from '../src/engine/crypto.ts';
import { LOCK_LIFETIME_MS, LockedError } from '../src/engine/lock.ts';
import { PackWriter } from '../src/engine/pack.ts';
import { newConfig, Repository, sha256Hex, writeConfig } from '../src/engine/repository.ts';
import { restoreTree } from '../src/engine/restorer.ts';
import { listSnapshots } from '../src/engine/snapshot.ts';
import { type PruneResult, pruneRepository, pruneSystem } from '../src/prune/prune.ts';
import type { RetentionPolicy } from '../src/prune/select.ts';
import { walkPaths } from '../src/sources/paths.ts';
import type { Backend } from '../src/storage/backend.ts';
import { LocalBackend } from '../src/storage/local.ts';
import { S3Backend, type S3BackendOptions } from '../src/storage/s3.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { mulberry32 } from './helpers/random.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './helpers/s3-server.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-11-01T02:00:00.000Z');
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'restorable-prune-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let s3: S3Server;
let proxy: FaultProxy;
let restoreCredentials: () => void;
beforeAll(async () => {
  restoreCredentials = useS3rverCredentials();
  s3 = await startS3Server(['prune']);
  proxy = await startFaultProxy(s3.endpoint);
});
afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  restoreCredentials?.();
});
afterEach(() => proxy.reset());

let prefixes = 0;
function s3Backend(options: Partial<S3BackendOptions> = {}, endpoint = s3.endpoint): S3Backend {
  prefixes += 1;
  return new S3Backend({
    bucket: 'prune',
    region: 'us-east-1',
    prefix: `run-${process.pid}-${prefixes}/`,
    endpoint,
    forcePathStyle: true,
    retryDelayMs: 5,
    ...options,
  });
}

async function newRepository(backend: Backend, key = newMasterKey()): Promise<Repository> {
  const config = newConfig();
  await writeConfig(backend, config);
  return new Repository(backend, config, key);
}

function pathsInput(root: string): BackupInput {
  async function* entries(): AsyncGenerator<ArchiveEntry> {
    for await (const entry of walkPaths(root, ['data'], { onProblem: () => {} })) yield archiveEntry(entry);
  }
  return { kind: 'paths', paths: ['data'], entries: entries() };
}

/** path → type, size and content hash: what a restore must reproduce. */
function manifest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (relative: string) => {
    const absolute = join(dir, relative);
    const info = lstatSync(absolute);
    if (info.isDirectory()) {
      if (relative !== '') out.set(relative, 'dir');
      for (const name of readdirSync(absolute)) walk(relative === '' ? name : `${relative}/${name}`);
    } else {
      const hash = createHash('sha256').update(readFileSync(absolute)).digest('hex');
      out.set(relative, `file ${info.size} ${hash}`);
    }
  };
  walk('');
  return out;
}

/** A source that changes between backups: some files stay, some are replaced, one grows. */
class Source {
  readonly root = tempDir();
  private n = 0;
  constructor(private readonly random: () => number) {
    mkdirSync(join(this.root, 'data'));
    writeFileSync(join(this.root, 'data', 'stable.bin'), this.bytes(40_000));
  }
  private bytes(size: number): Buffer {
    const out = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) out.writeUInt32LE(Math.floor(this.random() * 0x1_0000_0000), i);
    return out;
  }
  change(): void {
    this.n++;
    writeFileSync(join(this.root, 'data', `f${this.n}.bin`), this.bytes(20_000 + this.n * 1000));
    rmSync(join(this.root, 'data', `f${this.n - 2}.bin`), { force: true });
    writeFileSync(join(this.root, 'data', 'log.txt'), `line ${this.n}\n`.repeat(this.n * 100));
  }
}

interface History {
  /** snapshot id → manifest of what it must restore to. */
  expected: Map<string, Map<string, string>>;
  ids: string[];
}

/** `count` daily backups of `system`, the source changing before each. */
async function backups(
  repo: Repository,
  source: Source,
  system: string,
  count: number,
  start = T0,
): Promise<History> {
  const history: History = { expected: new Map(), ids: [] };
  for (let i = 0; i < count; i++) {
    source.change();
    const [result] = await backupSystem([repo], pathsInput(source.root), {
      system,
      policy: 'p',
      now: () => new Date(start + i * DAY),
    });
    history.expected.set(result!.snapshot, manifest(join(source.root, 'data')));
    history.ids.push(result!.snapshot);
  }
  return history;
}

/** Restores every snapshot in the repository and compares it with what it was taken from. */
async function restoresAll(repo: Repository, expected: Map<string, Map<string, string>>): Promise<number> {
  const reader = new BlobReader(repo, await loadIndex(repo));
  const refs = await listSnapshots(repo, (id, message) => {
    throw new Error(`${id}: ${message}`);
  });
  for (const { id, snapshot } of refs) {
    const target = tempDir();
    const { problems } = await restoreTree(reader, snapshot.tree, target);
    expect(problems).toEqual([]);
    const want = expected.get(id);
    expect(want, `snapshot ${id} was not expected to exist`).toBeDefined();
    expect(manifest(join(target, 'data'))).toEqual(want);
  }
  return refs.length;
}

async function verifies(repo: Repository): Promise<void> {
  const check = await checkRepository(repo, { readData: 1 });
  expect(check.findings).toEqual([]);
}

const NOW = new Date(T0 + 8 * DAY + 10 * 3600_000);

describe('prune', () => {
  it('removes what the retention says, keeps every system restorable, and frees the unused data', async () => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const source = new Source(mulberry32(1));
    const other = await backups(repo, source, 'other', 1, T0 - DAY);
    const mine = await backups(repo, source, 'db', 8);
    const before = manifestOfStore(repo);
    const retention: RetentionPolicy = { keep: { last: 2, weekly: 2 } };

    const dry = await pruneSystem(repo, { system: 'db', retention }, { dryRun: true, now: () => NOW });
    expect(dry.removed).toBe(5);
    expect(manifestOfStore(repo)).toEqual(before);

    const result = await pruneSystem(repo, { system: 'db', retention }, { now: () => NOW });
    expect(result.decisions.map((d) => d.decision)).toEqual(dry.decisions.map((d) => d.decision));
    expect(result.kept).toBe(3);
    expect(result.removed).toBe(5);
    expect(result.locked).toBe(0);
    expect(result.disposals).toBe(0);
    const kept = result.decisions.filter((d) => d.decision === 'keep').map((d) => d.id);
    // Newest first: the two newest, and the newest of the week before (2026-11-01 is a Sunday).
    expect(kept).toEqual([mine.ids[7], mine.ids[6], mine.ids[0]]);
    expect(result.decisions[0]!.reasons).toContain('last 1/2');
    expect(result.packsDeleted + result.packsRepacked).toBeGreaterThan(0);
    expect(result.bytesFreed).toBeGreaterThan(0);
    expect(await restoresAll(repo, new Map([...mine.expected, ...other.expected]))).toBe(4);
    await verifies(repo);
    expect((await repo.backend.list('index/')).length).toBe(1);

    // A second prune at the same time finds nothing to do.
    const again = await pruneSystem(repo, { system: 'db', retention }, { now: () => NOW });
    expect([again.removed, again.packsDeleted, again.packsRepacked, again.bytesFreed]).toEqual([0, 0, 0, 0]);
  });

  it('disposes of snapshots past the maximum, and keeps what it cannot authenticate', async () => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const source = new Source(mulberry32(2));
    const mine = await backups(repo, source, 'db', 4);
    const forged = randomBytes(200);
    await repo.backend.write(`snapshots/${sha256Hex(forged)}`, forged);
    const result = await pruneSystem(
      repo,
      { system: 'db', retention: { keep: { last: 10 }, maximum: '7d' } },
      { now: () => NOW },
    );
    const forgedRow = result.decisions.find((d) => d.id === sha256Hex(forged))!;
    expect(forgedRow.decision).toBe('keep');
    expect(forgedRow.authentic).toBe(false);
    // 2026-11-01 and 02 are more than 7 days before NOW (2026-11-09 12:00).
    expect(result.disposals).toBe(2);
    expect(result.removed).toBe(2);
    expect(await repo.backend.stat(`snapshots/${sha256Hex(forged)}`)).toBeDefined();
    await repo.backend.remove(`snapshots/${sha256Hex(forged)}`);
    expect(await restoresAll(repo, mine.expected)).toBe(2);
    await verifies(repo);
  });

  it('deletes packs that no index names (left by a crashed backup)', async () => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const source = new Source(mulberry32(3));
    const mine = await backups(repo, source, 'db', 2);
    const writer = new PackWriter(repo, () => {});
    const orphan = randomBytes(5000);
    await writer.add('data', sha256Hex(orphan), orphan, orphan.length);
    await writer.close();
    const packs = (await repo.backend.list('data/')).length;
    const result = await pruneSystem(repo, { system: 'db', retention: undefined }, { now: () => NOW });
    expect(result.removed).toBe(0);
    expect(result.packsDeleted).toBe(1);
    expect((await repo.backend.list('data/')).length).toBe(packs - 1);
    expect(await restoresAll(repo, mine.expected)).toBe(2);
    await verifies(repo);
  });

  it('removes temporary files that killed writes left an hour ago or more, and only those', async () => {
    const root = join(tempDir(), 'repo');
    const repo = await newRepository(new LocalBackend(root));
    const source = new Source(mulberry32(4));
    const mine = await backups(repo, source, 'db', 1);
    const packDir = (await repo.backend.list('data/'))[0]!.name.split('/').slice(0, 2).join('/');
    const leftover = (dir: string, ageMs: number, size: number): string => {
      const path = join(root, dir, `.tmp-${randomBytes(8).toString('hex')}`);
      writeFileSync(path, randomBytes(size));
      const seconds = (NOW.getTime() - ageMs) / 1000;
      utimesSync(path, seconds, seconds);
      return path;
    };
    const stale = [leftover(packDir, 2 * 3600_000, 7000), leftover('snapshots', 90 * 60_000, 300)];
    const fresh = leftover(packDir, 10 * 60_000, 5000);
    const result = await pruneRepository(repo, [{ system: 'db', retention: undefined }], { now: () => NOW });
    expect(result.temporariesRemoved).toBe(2);
    expect(result.bytesFreed).toBe(7300);
    for (const path of stale) expect(existsSync(path)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(await restoresAll(repo, mine.expected)).toBe(1);
    await verifies(repo);
  });

  it('refuses a retention it cannot honour before touching anything', async () => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    await expect(
      pruneRepository(repo, [{ system: 'db', retention: { minimum: '30d', maximum: '7d' } }]),
    ).rejects.toThrow(/RB-RET-003/);
    expect(await repo.backend.list('locks/')).toEqual([]);
  });
});

/** Object names and sizes: a dry run must leave this unchanged. */
function manifestOfStore(repo: Repository): Promise<string[]> {
  return Promise.all(['data/', 'index/', 'snapshots/'].map((p) => repo.backend.list(p))).then((lists) =>
    lists
      .flat()
      .map((o) => `${o.name} ${o.size}`)
      .sort(),
  );
}

describe('prune beside a backup', () => {
  const cases: [string, () => Backend][] = [
    ['local', () => new LocalBackend(join(tempDir(), 'repo'))],
    ['s3', () => s3Backend()],
  ];
  for (const [label, open] of cases) {
    it(`${label}: whichever takes the lock first proceeds; prune waits, a locked-out backup fails clearly; all restores`, async () => {
      const repo = await newRepository(open());
      const source = new Source(mulberry32(10));
      const history = await backups(repo, source, 'db', 3);
      for (const pruneFirst of [false, true]) {
        source.change();
        const contents = manifest(join(source.root, 'data'));
        const backup = () =>
          backupSystem([repo], pathsInput(source.root), { system: 'db', policy: 'p', now: () => NOW });
        const prune = () =>
          pruneSystem(
            repo,
            { system: 'db', retention: { keep: { last: 2 } } },
            { now: () => NOW, lockPollMs: 20, lockWaitMs: 30_000 },
          );
        const [b, p] = pruneFirst
          ? await Promise.allSettled([Promise.resolve().then(backup), prune()]).then(
              ([x, y]) => [x, y] as const,
            )
          : await Promise.allSettled([backup(), prune()]);
        expect(p.status).toBe('fulfilled');
        if (b.status === 'fulfilled') history.expected.set(b.value[0]!.snapshot, contents);
        else expect(b.reason).toBeInstanceOf(LockedError);
        expect(await repo.backend.list('locks/')).toEqual([]);
        expect(await restoresAll(repo, history.expected)).toBeGreaterThanOrEqual(2);
        await verifies(repo);
      }
    });
  }
});

describe('prune killed at random points', () => {
  const CHILD = join(import.meta.dirname, 'helpers/prune-child.ts');
  const retention: RetentionPolicy = { keep: { last: 2, weekly: 2 } };
  const TRIALS = Number(process.env.PRUNE_CRASH_TRIALS ?? 20);
  const SEED = Number(process.env.PRUNE_CRASH_SEED ?? 4);

  function runChild(dir: string, key: Uint8Array, killAfterMs?: number) {
    return new Promise<{ signal: NodeJS.Signals | null; code: number | null; ms: number; out: string }>(
      (resolve, reject) => {
        const child: ChildProcess = spawn(
          process.execPath,
          [CHILD, dir, Buffer.from(key).toString('hex'), 'db', JSON.stringify(retention), NOW.toISOString()],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        let started = 0;
        child.stderr!.on('data', (text: Buffer) => {
          err += text.toString();
        });
        child.stdout!.on('data', (text: Buffer) => {
          out += text.toString();
          if (!started && out.includes('started\n')) {
            started = performance.now();
            if (killAfterMs !== undefined) setTimeout(() => child.kill('SIGKILL'), killAfterMs);
          }
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          if (code !== 0 && signal === null) reject(new Error(`prune child failed (${code}): ${err}`));
          else resolve({ signal, code, ms: performance.now() - started, out });
        });
      },
    );
  }

  it(`leaves a repository that verifies, restores, and a later prune finishes (${TRIALS} seeded trials)`, async () => {
    const template = join(tempDir(), 'repo');
    const key = newMasterKey();
    const repo = await newRepository(new LocalBackend(template), key);
    const source = new Source(mulberry32(20));
    const history = await backups(repo, source, 'db', 7);
    // A crashed backup's pack, for the prune to delete.
    const writer = new PackWriter(repo, () => {});
    const orphan = randomBytes(3000);
    await writer.add('data', sha256Hex(orphan), orphan, orphan.length);
    await writer.close();

    // Calibration: complete runs give the prune's duration and the snapshots it keeps. The fastest of three
    // bounds the kill delays, so that on a loaded machine most trials are still cut short.
    const calibrations = [];
    for (let i = 0; i < 3; i++) {
      const full = join(tempDir(), 'repo');
      cpSync(template, full, { recursive: true });
      calibrations.push(await runChild(full, key));
    }
    const complete = calibrations.reduce((fastest, run) => (run.ms < fastest.ms ? run : fastest));
    const wanted = (JSON.parse(complete.out.split('\n')[1]!) as PruneResult).decisions
      .filter((d) => d.decision === 'keep')
      .map((d) => d.id)
      .sort();
    expect(wanted.length).toBe(3);

    const random = mulberry32(SEED);
    let killed = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const dir = join(tempDir(), 'repo');
      cpSync(template, dir, { recursive: true });
      const delay = random() * complete.ms * 0.9;
      const run = await runChild(dir, key, delay);
      if (run.signal === 'SIGKILL') killed++;
      const crashed = new Repository(new LocalBackend(dir), repo.config, key);
      const context = `trial ${trial} (seed ${SEED}, killed after ${delay.toFixed(1)} ms)`;
      const check = await checkRepository(crashed, { readData: 1 });
      expect(check.findings, context).toEqual([]);
      await restoresAll(crashed, history.expected);
      // The killed prune's lock is stale once it expires: a later prune (after that) finishes the work.
      const later = new Date(NOW.getTime() + LOCK_LIFETIME_MS + 60_000);
      await pruneSystem(crashed, { system: 'db', retention }, { now: () => later, lockWaitMs: 0 });
      await verifies(crashed);
      expect(await restoresAll(crashed, history.expected), context).toBe(3);
      const left = (await listSnapshots(crashed, () => {})).map((ref) => ref.id).sort();
      expect(left, context).toEqual(wanted);
      expect((await crashed.backend.list('index/')).length, context).toBe(1);
      rmSync(dir, { recursive: true, force: true });
    }
    // Most trials must have been interrupted, or they would test nothing.
    expect(killed).toBeGreaterThanOrEqual(Math.floor(TRIALS / 2));
  }, 120_000);
});

describe('object lock on the wire', () => {
  it('sends no DELETE for objects locked into the future, reports them, and extends what kept snapshots need', async () => {
    const backend = s3Backend({ objectLock: { mode: 'governance', days: 1 } }, proxy.endpoint);
    const repo = await newRepository(backend);
    const source = new Source(mulberry32(30));
    const history = await backups(repo, source, 'db', 4);
    const [lockedSnapshot] = history.ids; // the oldest: selected for removal, but locked
    const lockedUntil = new Date(NOW.getTime() + 30 * DAY).toISOString();
    // s3rver has no Object Lock: the proxy plays HeadObject's lock header and the retention API for it.
    const retention = new Map<string, { mode: string; until: string }>();
    proxy.reset();
    proxy.answer((request) => {
      if (request.method === 'HEAD' && request.path.endsWith(`/snapshots/${lockedSnapshot}`)) {
        return {
          status: 200,
          headers: {
            'x-amz-object-lock-mode': 'GOVERNANCE',
            'x-amz-object-lock-retain-until-date': lockedUntil,
            'content-length': '0',
          },
        };
      }
      if (!request.query.has('retention')) return undefined;
      if (request.method === 'GET') {
        const held = retention.get(request.path);
        if (!held) return { status: 404, body: '<Error><Code>NoSuchObjectLockConfiguration</Code></Error>' };
        return {
          status: 200,
          body: `<Retention><Mode>${held.mode}</Mode><RetainUntilDate>${held.until}</RetainUntilDate></Retention>`,
        };
      }
      const body = request.body.toString();
      retention.set(request.path, {
        mode: /<Mode>(\w+)<\/Mode>/.exec(body)?.[1] ?? '',
        until: /<RetainUntilDate>([^<]+)<\/RetainUntilDate>/.exec(body)?.[1] ?? '',
      });
      return { status: 200 };
    });

    const result = await pruneSystem(
      repo,
      { system: 'db', retention: { keep: { last: 2 } } },
      { now: () => NOW },
    );
    const row = result.decisions.find((d) => d.id === lockedSnapshot)!;
    expect(row.decision).toBe('remove');
    expect(row.lockedUntil).toBe(lockedUntil);
    expect(row.reasons).toContain(`locked until ${lockedUntil}`);
    expect(result.locked).toBe(1);
    expect(result.removed).toBe(1);

    const deletes = proxy.requests.filter((r) => r.method === 'DELETE').map((r) => r.path);
    expect(deletes.some((path) => path.endsWith(`/snapshots/${lockedSnapshot}`))).toBe(false);
    expect(deletes.some((path) => path.endsWith(`/snapshots/${history.ids[1]}`))).toBe(true);
    // Every deletion was preceded by a HEAD of the same object (its retain-until date).
    for (const path of deletes.filter((p) => !p.includes('/locks/'))) {
      expect(proxy.requests.some((r) => r.method === 'HEAD' && r.path === path)).toBe(true);
    }
    // Retention extended to now + 1 day on what the kept snapshots need: their snapshots, packs, config, keys.
    const extended = [...retention.entries()];
    const until = NOW.getTime() + DAY;
    for (const name of [`snapshots/${history.ids[2]}`, `snapshots/${history.ids[3]}`, 'config']) {
      const held = extended.find(([path]) => path.endsWith(`/${name}`))?.[1];
      expect(held?.mode, name).toBe('GOVERNANCE');
      expect(Date.parse(held?.until ?? ''), name).toBe(until);
    }
    expect(extended.some(([path]) => path.includes('/data/'))).toBe(true);
    expect(extended.some(([path]) => path.includes('/keys/'))).toBe(false); // this test repository has no keys
    // New objects (the index) are written with the lock.
    const indexPut = proxy.requests.find((r) => r.method === 'PUT' && r.path.includes('/index/'));
    if (indexPut) expect(indexPut.headers['x-amz-object-lock-mode']).toBe('GOVERNANCE');
    proxy.answer(undefined);
    await verifies(repo);
    expect(await restoresAll(repo, history.expected)).toBe(3);
  });
});
