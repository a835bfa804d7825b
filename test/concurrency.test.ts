import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRecord } from '../src/evidence/branch.ts';
import type { RecordDraft } from '../src/evidence/record.ts';
import { loadSigner, type Signer } from '../src/evidence/signing.ts';
import { verifyEvidence } from '../src/evidence/verify.ts';
import { GIT_ENV, git, gitHttpServer, removeTempDirs, tempDir, workTree } from './helpers/git.ts';
import { Random, seedFromEnv } from './helpers/random.ts';
import {
  type CliRun,
  type ManifestEntry,
  manifestDifferences,
  restorable,
  treeManifest,
} from './helpers/restorable-cli.ts';
import { S3RVER_CREDENTIALS, type S3Server, startS3Server } from './helpers/s3-server.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// Runs that overlap, through the built CLI (real processes) and real servers: two backups of one system
// into one repository (a directory, and s3rver), a backup while a prune runs, and several writers appending
// evidence at once to one HTTP git remote whose transport fails on a seeded share of requests.
//
// Replay: CONCURRENCY_SEED=<seed> (printed) reruns the same source data and the same faults.

const SEED = seedFromEnv('CONCURRENCY_SEED', 0xc0c0_2026);
const PASSPHRASE = 'concurrency test passphrase';
const BRANCH = 'restorable-evidence';

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server(['concurrency']);
  console.log(`concurrency seed ${SEED} (replay with CONCURRENCY_SEED=${SEED})`);
});
afterAll(async () => {
  await s3?.close();
  removeTempDirs();
});

function described(run: CliRun): string {
  return `exit ${run.status}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

const S3_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};

function repositoryYaml(kind: 'local' | 's3', name: string): string {
  return kind === 'local'
    ? `  repo: { local: { path: backups/${name} } }`
    : `  repo:
    s3: { bucket: concurrency, region: us-east-1, prefix: "${name}/", endpoint: "${s3.endpoint}", forcePathStyle: true, checksums: when-required }`;
}

/** A policy of one paths system, `docs`, backing up `data/`; retention keeps the newest `keep`. */
function project(kind: 'local' | 's3', keep = 100): string {
  const root = tempDir('restorable-concurrency-');
  const name = `${kind}-${Math.random().toString(16).slice(2, 10)}`;
  writeFileSync(
    join(root, 'policy.yaml'),
    `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: concurrency, owner: ops@example.com }
repositories:
${repositoryYaml(kind, name)}
systems:
  - name: docs
    source: { paths: [data] }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [repo]
    retention: { keep: { last: ${keep} } }
`,
  );
  mkdirSync(join(root, 'data'));
  return root;
}

/** Rewrites the source: seeded files of various sizes, some kept from the last round, one new each round. */
function changeSource(root: string, random: Random, round: number): void {
  const data = join(root, 'data');
  writeFileSync(join(data, `round-${round}.bin`), random.bytes(random.between(20_000, 300_000)));
  rmSync(join(data, `round-${round - 3}.bin`), { force: true });
  mkdirSync(join(data, 'notes'), { recursive: true });
  for (let i = 0; i < 5; i++)
    writeFileSync(
      join(data, 'notes', `n${random.int(8)}.txt`),
      `${random.string(random.between(1, 2_000))}\n`,
    );
}

function cli(root: string, args: string[], kind: 'local' | 's3'): Promise<CliRun> {
  return restorable([...args, '--root', root], {
    cwd: root,
    env: { RESTORABLE_PASSPHRASE: PASSPHRASE, ...(kind === 's3' ? S3_ENV : {}) },
  });
}

interface BackupJson {
  systems: { system: string; repositories: { snapshot: string }[] }[];
}

function snapshotOf(run: CliRun): string {
  return (JSON.parse(run.stdout) as BackupJson).systems[0]!.repositories[0]!.snapshot;
}

/** Restores one snapshot into a fresh directory and returns what came back under data/. */
async function restored(
  root: string,
  snapshot: string,
  kind: 'local' | 's3',
): Promise<Map<string, ManifestEntry>> {
  const target = tempDir('restorable-concurrency-restore-');
  const run = await cli(
    root,
    ['restore', 'policy.yaml', '--system', 'docs', '--snapshot', snapshot, '--target', target],
    kind,
  );
  expect(run.status, described(run)).toBe(0);
  return treeManifest(join(target, 'data'));
}

async function snapshotIds(root: string, kind: 'local' | 's3'): Promise<string[]> {
  const run = await cli(root, ['snapshots', 'policy.yaml', '--json'], kind);
  expect(run.status, described(run)).toBe(0);
  return (JSON.parse(run.stdout) as { snapshots: { id: string }[] }).snapshots.map((s) => s.id).sort();
}

async function verifiesWithData(root: string, kind: 'local' | 's3'): Promise<void> {
  const run = await cli(root, ['repo', 'verify', 'policy.yaml', '--read-data'], kind);
  expect(run.status, described(run)).toBe(0);
}

const LOCKED = /is locked: a (shared|exclusive) lock cannot be taken beside/;

describe('two backups of the same system at once, into one repository', () => {
  for (const kind of ['local', 's3'] as const) {
    it(`${kind}: both commit, both snapshots restore byte for byte, verify --read-data passes`, async () => {
      const random = new Random(SEED ^ (kind === 'local' ? 1 : 2));
      const root = project(kind);
      const rounds = 2;
      const expected = new Map<string, Map<string, ManifestEntry>>();
      let locked = 0;
      for (let round = 1; round <= rounds; round++) {
        changeSource(root, random, round);
        const source = await treeManifest(join(root, 'data'));
        // Round 1 also races to create the repository.
        const runs = await Promise.all(
          [1, 2].map(() => cli(root, ['backup', 'policy.yaml', '--json'], kind)),
        );
        for (const run of runs) {
          if (run.status === 0) expected.set(snapshotOf(run), source);
          else {
            // Shared locks coexist, so this is not expected; if it happens, it must say why.
            expect(`${run.stdout}${run.stderr}`, described(run)).toMatch(LOCKED);
            locked++;
          }
        }
        expect(runs.some((run) => run.status === 0)).toBe(true);
      }
      const ids = await snapshotIds(root, kind);
      expect(ids).toEqual([...expected.keys()].sort());
      for (const [id, source] of expected)
        expect(manifestDifferences(source, await restored(root, id, kind))).toEqual([]);
      await verifiesWithData(root, kind);
      console.log(
        `${kind}: ${rounds} rounds of 2 concurrent backups of one system: ${expected.size} snapshots committed, ` +
          `${locked} refused by a lock, every snapshot restored identically, verify --read-data passed`,
      );
      expect(locked).toBe(0);
    }, 180_000);
  }
});

describe('a backup while a prune runs', () => {
  it('loses and damages no snapshot: every one retention keeps restores, verify --read-data passes', async () => {
    const random = new Random(SEED ^ 3);
    const kind = 'local';
    const keep = 2;
    const root = project(kind, keep);
    const expected = new Map<string, Map<string, ManifestEntry>>();
    const order: string[] = []; // committed snapshot ids, oldest first
    let round = 0;
    const backup = async (): Promise<CliRun> => {
      round++;
      changeSource(root, random, round);
      const source = await treeManifest(join(root, 'data'));
      const run = await cli(root, ['backup', 'policy.yaml', '--json'], kind);
      if (run.status === 0) {
        expected.set(snapshotOf(run), source);
        order.push(snapshotOf(run));
      }
      return run;
    };
    for (let i = 0; i < 3; i++) expect((await backup()).status).toBe(0);

    const outcomes = { backupCommitted: 0, backupLocked: 0, pruneDone: 0, pruneLocked: 0 };
    const trials = 3;
    for (let trial = 0; trial < trials; trial++) {
      const pruneFirst = random.chance(0.5);
      const prune = () => cli(root, ['prune', 'policy.yaml', '--json'], kind);
      const [p, b] = pruneFirst
        ? await Promise.all([prune(), backup()])
        : await Promise.all([backup(), prune()]).then(([x, y]) => [y, x] as const);
      if (b.status === 0) outcomes.backupCommitted++;
      else {
        expect(`${b.stdout}${b.stderr}`, described(b)).toMatch(LOCKED);
        outcomes.backupLocked++;
      }
      if (p.status === 0) outcomes.pruneDone++;
      else {
        expect(`${p.stdout}${p.stderr}`, described(p)).toMatch(LOCKED);
        outcomes.pruneLocked++;
      }
      // Whatever happened, what is left is what the rules keep of what was committed, and it restores.
      const ids = await snapshotIds(root, kind);
      for (const id of ids) expect(expected.has(id), `unknown snapshot ${id}`).toBe(true);
      const newest = order.slice(-keep);
      expect(ids).toEqual(expect.arrayContaining(newest));
    }
    // A last prune alone, then every remaining snapshot restores and the data verifies.
    const last = await cli(root, ['prune', 'policy.yaml', '--json'], kind);
    expect(last.status, described(last)).toBe(0);
    const ids = await snapshotIds(root, kind);
    expect(ids).toEqual(order.slice(-keep).sort());
    for (const id of ids)
      expect(manifestDifferences(expected.get(id)!, await restored(root, id, kind))).toEqual([]);
    await verifiesWithData(root, kind);
    console.log(
      `backup beside prune: ${trials} trials: backups committed ${outcomes.backupCommitted}, refused by prune's lock ` +
        `${outcomes.backupLocked}; prunes done ${outcomes.pruneDone}, refused ${outcomes.pruneLocked}; ` +
        `${order.length} snapshots committed in all, ${ids.length} kept, all restored identically`,
    );
    expect(outcomes.pruneDone).toBeGreaterThan(0);
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------
// Evidence writers against a flaky git transport

interface FaultCounts {
  requests: number;
  /** 503 before the request reaches git. */
  refused: number;
  /** The connection dropped before the request reaches git. */
  reset: number;
  /** Forwarded to git (so a push may have landed), then the connection dropped before the answer. */
  lostAnswer: number;
  /** Of those, answers to a push (git-receive-pack): the push may have landed. */
  lostPushAnswer: number;
}

/**
 * A loopback HTTP proxy in front of the git server that fails a seeded share of requests: a 503, a reset
 * before forwarding, or (for a fetch's pack exchange) a reset after git has answered. With
 * `loseFirstPushAnswer`, the first push reaches git and its answer is dropped: the client cannot tell
 * whether it landed. Which request meets which fault depends on how the writers interleave, so a seed
 * fixes the sequence of decisions, not which writer gets them.
 */
async function flakyGitProxy(
  upstream: string,
  random: Random,
  share: number,
  options: { loseFirstPushAnswer?: boolean } = {},
): Promise<{ origin: string; counts: FaultCounts; close: () => Promise<void> }> {
  const target = new URL(upstream);
  const counts: FaultCounts = { requests: 0, refused: 0, reset: 0, lostAnswer: 0, lostPushAnswer: 0 };
  let firstPush = options.loseFirstPushAnswer === true;
  const server = createServer((req, res) => {
    counts.requests++;
    const isPush = req.method === 'POST' && req.url?.includes('git-receive-pack') === true;
    // Answers to pushes are lost only where a test asks (see the known bug below); fetches' answers at random.
    let fault = random.chance(share)
      ? random.pick(
          req.method === 'POST' && !isPush
            ? (['refuse', 'reset', 'lose'] as const)
            : (['refuse', 'reset'] as const),
        )
      : undefined;
    if (firstPush && isPush) {
      firstPush = false;
      fault = 'lose';
    }
    if (fault === 'refuse') {
      counts.refused++;
      req.resume();
      res.writeHead(503).end('injected\n');
      return;
    }
    if (fault === 'reset') {
      counts.reset++;
      req.socket.destroy();
      return;
    }
    const forward = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (fault === 'lose') {
          counts.lostAnswer++;
          if (isPush) counts.lostPushAnswer++;
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('evidence writers racing over a flaky git transport', () => {
  let signer: Signer;
  beforeAll(async () => {
    signer = await loadSigner((await newSigningKey()).armored, undefined, 'test key');
  });

  it('every append reported written is on the branch once, no other is, and the chain verifies', async () => {
    const random = new Random(SEED ^ 4);
    const token = 'ghs_concurrencyToken0123456789abcdef';
    const projects = tempDir('restorable-concurrency-http-');
    git(projects, ['init', '--quiet', '--bare', '--initial-branch=main', 'evidence.git']);
    const server = await gitHttpServer(projects, token);
    const share = Number(process.env.CONCURRENCY_FAULT_SHARE ?? 0.15);
    const proxy = await flakyGitProxy(server.origin, random, share);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...GIT_ENV,
      GITHUB_TOKEN: token,
      GITHUB_SERVER_URL: proxy.origin,
    };
    delete env.RESTORABLE_EVIDENCE_TOKEN;
    const writers = 4;
    const perWriter = 3;
    try {
      const roots = Array.from({ length: writers }, () => workTree(`${proxy.origin}/evidence.git`));
      const outcomes = await Promise.all(
        roots.map(async (root, w) => {
          const out: { n: number; ok: boolean; error?: string }[] = [];
          for (let n = 0; n < perWriter; n++) {
            const draft: RecordDraft = {
              kind: 'backup',
              outcome: 'success',
              systems: [{ name: `writer-${w}`, policy: 'p' }],
              policies: [],
              measurements: { writer: w, n },
            };
            try {
              await appendRecord(draft, { root, signer, env });
              out.push({ n, ok: true });
            } catch (error) {
              out.push({ n, ok: false, error: (error as Error).message.split('\n')[0] });
            }
          }
          return out.map((o) => ({ ...o, w }));
        }),
      );
      const all = outcomes.flat();
      const written = all.filter((o) => o.ok).map((o) => `${o.w}/${o.n}`);
      const failed = all.filter((o) => !o.ok);

      const bare = join(projects, 'evidence.git');
      const report = await verifyEvidence({ root: bare, fingerprint: signer.fingerprint, env });
      const landed = report.records.map((r) => {
        const m = JSON.parse(git(bare, ['show', `${BRANCH}:${r.file}`])).measurements as {
          writer: number;
          n: number;
        };
        return `${m.writer}/${m.n}`;
      });
      const duplicated = landed.filter((id, i) => landed.indexOf(id) !== i);
      const lost = written.filter((id) => !landed.includes(id));
      const unreported = landed.filter((id) => !written.includes(id));
      console.log(
        `evidence race: ${writers} writers x ${perWriter} appends over a transport failing ${(share * 100).toFixed(0)}% of requests ` +
          `(${proxy.counts.requests} requests: ${proxy.counts.refused} refused with 503, ${proxy.counts.reset} reset, ` +
          `${proxy.counts.lostAnswer} answers lost after git took them, ${proxy.counts.lostPushAnswer} of them to a push); appends reported written ${written.length}, ` +
          `failed ${failed.length}; records on the branch ${landed.length}: lost ${lost.length}, duplicated ${duplicated.length}, ` +
          `landed though reported failed ${unreported.length} (${unreported.join(' ')}); verify ok=${report.ok}` +
          (failed.length
            ? `\n  failures, e.g.: ${[...new Set(failed.map((f) => f.error))].slice(0, 3).join(' | ')}`
            : ''),
      );
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(proxy.counts.refused + proxy.counts.reset + proxy.counts.lostAnswer).toBeGreaterThan(0);
      expect(lost).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(landed.length).toBe(written.length + unreported.length);
      // Each writer's records are in the order it wrote them.
      for (let w = 0; w < writers; w++) {
        const mine = landed.filter((id) => id.startsWith(`${w}/`)).map((id) => Number(id.split('/')[1]));
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
      expect(unreported).toEqual([]);
    } finally {
      await proxy.close();
      await server.close();
    }
  }, 180_000);

  // When the remote takes a push but the connection drops before its answer, the append must find its own
  // record on the branch and stop: neither a second copy nor a "not written" for a record that landed.
  it('a push whose answer is lost lands the record once, reported written', async () => {
    const token = 'ghs_concurrencyToken0123456789abcdef';
    const projects = tempDir('restorable-concurrency-http-');
    git(projects, ['init', '--quiet', '--bare', '--initial-branch=main', 'evidence.git']);
    const server = await gitHttpServer(projects, token);
    const proxy = await flakyGitProxy(server.origin, new Random(SEED), 0, { loseFirstPushAnswer: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...GIT_ENV,
      GITHUB_TOKEN: token,
      GITHUB_SERVER_URL: proxy.origin,
    };
    delete env.RESTORABLE_EVIDENCE_TOKEN;
    try {
      const root = workTree(`${proxy.origin}/evidence.git`);
      const draft: RecordDraft = {
        kind: 'backup',
        outcome: 'success',
        systems: [{ name: 'db', policy: 'p' }],
        policies: [],
        measurements: {},
      };
      const outcome = await appendRecord(draft, { root, signer, env }).then(
        () => 'written',
        (error: Error) => `failed: ${error.message.split('\n')[0]}`,
      );
      const bare = join(projects, 'evidence.git');
      const landed = (await verifyEvidence({ root: bare, fingerprint: signer.fingerprint, env })).records
        .length;
      console.log(`lost push answer: the append says "${outcome}"; records on the branch: ${landed}`);
      expect(proxy.counts.lostPushAnswer).toBe(1);
      expect(landed).toBe(1);
      expect(outcome).toBe('written');
    } finally {
      await proxy.close();
      await server.close();
    }
  }, 60_000);
});
