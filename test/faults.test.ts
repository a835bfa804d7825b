import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cleanTempDirs, PASSPHRASE, tempDir } from './helpers/drill-fixture.ts';
import { type FaultProxy, RANDOM_FAULT_KINDS, startFaultProxy } from './helpers/fault-proxy.ts';
import { deriveSeed, Random, seedFromEnv } from './helpers/random.ts';
import {
  type CliRun,
  type ManifestEntry,
  manifestDifferences,
  restorable,
  treeManifest,
} from './helpers/restorable-cli.ts';
import {
  S3RVER_CREDENTIALS,
  type S3Server,
  startS3Server,
  useS3rverCredentials,
} from './helpers/s3-server.ts';

// Storage faults end to end (issue 7): the CLI (dist/cli.js) backs up, restores, drills and prunes through a
// loopback proxy that answers a seeded share of S3 requests with 500s, 503s, SlowDown, connection resets
// (before the response and mid-body), truncated bodies and delays. Each operation must succeed, or fail with
// one clear line naming what failed; afterwards, with the proxy clean, `repo verify --read-data` passes and
// every snapshot a backup reported restores byte-identically.
//
//   FAULT_SEED=<n> FAULT_ROUNDS=<n> FAULT_RATE=<0..1> npx vitest run test/faults.test.ts
//
// (FAULT_SUMMARY_FILE=<path> also writes the table of totals there.)
//
// bench/faults runs more rounds and prints the totals.

const SEED = seedFromEnv('FAULT_SEED', 0x7a17_0007);
const ROUNDS = wholeFromEnv('FAULT_ROUNDS', 1);
/** The share of requests faulted, spread evenly over the seven kinds. */
const RATE = shareFromEnv('FAULT_RATE', 0.15);
const BUCKET = 'faults';
/** Longer than any honest operation here: a run killed at this point counts as a hang. */
const OPERATION_TIMEOUT_MS = 150_000;
/** The S3 backend's default number of tries per request (src/storage/s3.ts). */
const MAX_ATTEMPTS = 5;
const ENV = {
  RESTORABLE_PASSPHRASE: PASSPHRASE,
  RESTORABLE_PROGRESS_INTERVAL: '3600',
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
};
const SYSTEMS = ['files', 'stream'] as const;
type SystemName = (typeof SYSTEMS)[number];
const KEEP_LAST = 2;

let s3: S3Server;
let proxy: FaultProxy;
let restoreCredentials: () => void;
beforeAll(async () => {
  restoreCredentials = useS3rverCredentials();
  s3 = await startS3Server([BUCKET]);
  proxy = await startFaultProxy(s3.endpoint, { keepBodies: false });
});
afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  restoreCredentials?.();
});
afterEach(() => {
  proxy.reset();
  cleanTempDirs();
});

function wholeFromEnv(name: string, fallback: number): number {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new Error(`${name} must be a whole number >= 1, not "${text}"`);
  return value;
}

function shareFromEnv(name: string, fallback: number): number {
  const text = process.env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!(value >= 0 && value <= 1)) throw new Error(`${name} must be a share from 0 to 1, not "${text}"`);
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// The workspace: a policy with two systems in one S3 repository, a tree of files and a command's stream.

interface Workspace {
  root: string;
  prefix: string;
  random: Random;
}

/** Writes a policy whose repository is reached through `endpoint` (the proxy, or s3rver itself). */
function writePolicy(ws: Workspace, file: string, endpoint: string): void {
  const policy = {
    apiVersion: 'restorable/v1',
    kind: 'BackupPolicy',
    metadata: { name: 'faults', owner: 'ops@example.com' },
    repositories: {
      main: {
        s3: {
          bucket: BUCKET,
          region: 'us-east-1',
          prefix: ws.prefix,
          endpoint,
          forcePathStyle: true,
          checksums: 'when-required',
        },
      },
    },
    systems: [
      {
        name: 'files',
        source: { paths: ['tree'] },
        repositories: ['main'],
        retention: { keep: { last: KEEP_LAST } },
        drill: { select: { algorithm: 'latest' }, timeout: '10m' },
      },
      {
        name: 'stream',
        source: { command: ['cat', 'stream.bin'], filename: 'stream.bin' },
        repositories: ['main'],
        retention: { keep: { last: KEEP_LAST } },
      },
    ],
  };
  writeFileSync(join(ws.root, file), `${JSON.stringify(policy, null, 2)}\n`);
}

/** A fresh workspace: a tree of a few hundred small files and one multi-chunk file, and a 3 MiB stream. */
function newWorkspace(seed: number, round: number): Workspace {
  const root = tempDir('restorable-faults-');
  const ws = { root, prefix: `round-${round}-${seed.toString(16)}/`, random: new Random(seed) };
  writePolicy(ws, 'policy.yaml', proxy.endpoint);
  writePolicy(ws, 'direct.yaml', s3.endpoint);
  for (let i = 0; i < 300; i++) writeSmallFile(ws, i);
  writeFileSync(join(root, 'tree/big.bin'), ws.random.bytes(3 * 1024 * 1024));
  writeFileSync(join(root, 'stream.bin'), ws.random.bytes(3 * 1024 * 1024));
  return ws;
}

function writeSmallFile(ws: Workspace, i: number): void {
  const dir = join(ws.root, 'tree', `d${i % 12}`, `e${i % 5}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `f${i}.txt`), ws.random.bytes(ws.random.int(4096)));
}

/**
 * An edit between backups: some small files rewritten, added and removed, a few bytes in the middle of the
 * big file and of the stream changed (so most of their chunks stay the same).
 */
function editWorkspace(ws: Workspace, generation: number): void {
  for (let n = 0; n < 20; n++) writeSmallFile(ws, ws.random.int(300));
  for (let n = 0; n < 5; n++) writeSmallFile(ws, 300 + generation * 10 + n);
  for (let n = 0; n < 3; n++) {
    const i = ws.random.int(300);
    rmSync(join(ws.root, 'tree', `d${i % 12}`, `e${i % 5}`, `f${i}.txt`), { force: true });
  }
  for (const path of ['tree/big.bin', 'stream.bin']) {
    const bytes = readFileSync(join(ws.root, path));
    bytes.set(ws.random.bytes(64), ws.random.int(bytes.length - 64));
    writeFileSync(join(ws.root, path), bytes);
  }
  // A new second, so change detection cannot take an edited file for the unchanged one.
  const later = new Date(Date.now() + generation * 1000);
  utimesSync(join(ws.root, 'tree/big.bin'), later, later);
}

/** What a snapshot of each system must restore to. */
interface State {
  files: Map<string, ManifestEntry>;
  stream: string;
}

async function currentState(ws: Workspace): Promise<State> {
  return {
    files: await treeManifest(join(ws.root, 'tree')),
    stream: sha256(readFileSync(join(ws.root, 'stream.bin'))),
  };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

// ---------------------------------------------------------------------------------------------------------
// Operations and their outcomes.

type Outcome = 'succeeded' | 'failed clearly';

interface Tally {
  operations: Map<string, Map<Outcome, number>>;
  failures: string[];
  dataLost: string[];
  corruptions: string[];
  crashes: string[];
  hangs: string[];
  unclear: string[];
  faults: Map<string, number>;
  requests: number;
  /** Snapshots checked after the faulty phase, by how. */
  verified: { snapshots: number; orphans: number; verifyRuns: number };
}

function newTally(): Tally {
  return {
    operations: new Map(),
    failures: [],
    dataLost: [],
    corruptions: [],
    crashes: [],
    hangs: [],
    unclear: [],
    faults: new Map(),
    requests: 0,
    verified: { snapshots: 0, orphans: 0, verifyRuns: 0 },
  };
}

function record(tally: Tally, operation: string, outcome: Outcome): void {
  const byOutcome = tally.operations.get(operation) ?? new Map<Outcome, number>();
  byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
  tally.operations.set(operation, byOutcome);
}

function cli(
  ws: Workspace,
  args: string[],
  options: { stdout?: NodeJS.WritableStream; timeoutMs?: number } = {},
): Promise<CliRun> {
  return restorable([...args, '--root', ws.root], {
    cwd: ws.root,
    env: ENV,
    timeoutMs: options.timeoutMs ?? OPERATION_TIMEOUT_MS,
    ...(options.stdout ? { stdout: options.stdout as never } : {}),
  });
}

function described(run: CliRun): string {
  return `exit ${run.status}${run.signal ? ` (${run.signal})` : ''}\n--- stdout\n${run.stdout.slice(0, 4000)}\n--- stderr\n${run.stderr.slice(-4000)}`;
}

/**
 * A run that was killed by the timeout is a hang; one that died on a signal, reported an internal error,
 * printed a stack trace or exited outside 0/1 is a crash. Either is recorded and makes the test fail.
 */
function brokeDown(tally: Tally, what: string, run: CliRun, timeoutMs = OPERATION_TIMEOUT_MS): boolean {
  if (run.signal === 'SIGKILL' && run.ms >= timeoutMs - 1000) {
    tally.hangs.push(`${what}: not done after ${timeoutMs} ms\n${described(run)}`);
    return true;
  }
  if (
    run.signal !== null ||
    (run.status !== 0 && run.status !== 1) ||
    /internal error|unhandled|\n\s+at /i.test(run.stderr)
  ) {
    tally.crashes.push(`${what}: ${described(run)}`);
    return true;
  }
  return false;
}

/** The repository's object names and operations, one of which a clear storage error must mention. */
const NAMES_WHAT =
  /(s3:\/\/\S+|\b(config|keys\/[0-9a-f]{64}|index\/[0-9a-f]{64}|snapshots\/[0-9a-f]{64}|data\/[0-9a-f]{2}\/[0-9a-f]{64}|locks\/[0-9a-f]{64}|locks\/\*|snapshots\/\*|index\/\*|data\/\*|keys\/\*)\b)/;

/** A failure's message must be one line that names the object or repository concerned. */
function checkClear(tally: Tally, what: string, message: string | undefined, run: CliRun): void {
  tally.failures.push(`${what}: ${message ?? '(no message)'}`);
  if (!message || message.includes('\n') || !NAMES_WHAT.test(message)) {
    tally.unclear.push(`${what}: ${JSON.stringify(message)}\n${described(run)}`);
  }
}

/** The last line a command printed on stderr for a fatal error (`restorable <command>: …`). */
function fatalLine(run: CliRun, command: string): string | undefined {
  return run.stderr
    .split('\n')
    .filter((line) => line.startsWith(`restorable ${command}: `))
    .at(-1);
}

interface SystemBackupJson {
  system: SystemName;
  status: 'ok' | 'partial' | 'failed';
  message?: string;
  repositories: { snapshot: string }[];
}

interface Attempt {
  system: SystemName;
  state: State;
  /** The snapshot the backup reported as committed. */
  snapshot?: string;
  /** Why it failed. */
  message?: string;
}

async function backupBoth(ws: Workspace, tally: Tally, attempts: Attempt[], label: string): Promise<void> {
  const state = await currentState(ws);
  const run = await cli(ws, ['backup', 'policy.yaml', '--json', '--no-evidence']);
  if (brokeDown(tally, label, run)) {
    for (const system of SYSTEMS) attempts.push({ system, state, message: 'crashed or hung' });
    return;
  }
  let results: SystemBackupJson[];
  try {
    results = (JSON.parse(run.stdout) as { systems: SystemBackupJson[] }).systems;
  } catch {
    tally.crashes.push(`${label}: no JSON report\n${described(run)}`);
    return;
  }
  for (const result of results) {
    if (result.status === 'ok') {
      record(tally, `backup (${result.system})`, 'succeeded');
      attempts.push({ system: result.system, state, snapshot: result.repositories[0]!.snapshot });
    } else {
      record(tally, `backup (${result.system})`, 'failed clearly');
      checkClear(tally, `${label} ${result.system}`, result.message, run);
      attempts.push({ system: result.system, state, message: result.message ?? '' });
    }
  }
  if (results.some((r) => r.status === 'failed') !== (run.status === 1)) {
    tally.unclear.push(`${label}: exit status does not match the results\n${described(run)}`);
  }
}

/**
 * Restores a snapshot of `files` into a fresh directory. A restore that reports success must give the tree
 * exactly; one that fails may leave files out, but every file it leaves must be whole and right.
 */
async function restoreFiles(
  ws: Workspace,
  tally: Tally,
  snapshot: string,
  expected: Map<string, ManifestEntry>,
  label: string,
  options: { faulty: boolean },
): Promise<boolean> {
  const target = tempDir('restorable-faults-restore-');
  const run = await cli(ws, [
    'restore',
    'policy.yaml',
    '--system',
    'files',
    '--snapshot',
    snapshot,
    '--target',
    target,
  ]);
  if (brokeDown(tally, label, run)) return false;
  const restored = await treeManifest(join(target, 'tree')).catch(() => new Map<string, ManifestEntry>());
  if (run.status === 0) {
    const differences = manifestDifferences(expected, restored);
    if (differences.length > 0)
      tally.corruptions.push(`${label}: restored, but differs:\n${differences.join('\n')}`);
    if (options.faulty) record(tally, 'restore (files)', 'succeeded');
    return differences.length === 0;
  }
  if (options.faulty) record(tally, 'restore (files)', 'failed clearly');
  const problems = run.stderr.split('\n').filter((line) => line.startsWith('not restored: '));
  const message = fatalLine(run, 'restore') ?? problems[0];
  checkClear(tally, label, message, run);
  for (const [path, entry] of restored) {
    const want = expected.get(path);
    if (entry.type === 'file' && (want?.type !== 'file' || want.sha256 !== entry.sha256)) {
      tally.corruptions.push(`${label}: failed, and left ${path} half-written or wrong`);
    }
  }
  return false;
}

/** Restores a snapshot of `stream` to standard output; on success its bytes must be the stream's. */
async function restoreStream(
  ws: Workspace,
  tally: Tally,
  snapshot: string,
  expected: string,
  label: string,
  options: { faulty: boolean },
): Promise<boolean> {
  const run = await cli(ws, [
    'restore',
    'policy.yaml',
    '--system',
    'stream',
    '--snapshot',
    snapshot,
    '--stdout',
  ]);
  if (brokeDown(tally, label, run)) return false;
  if (run.status === 0) {
    const right = sha256(run.bytes) === expected;
    if (!right)
      tally.corruptions.push(`${label}: restored ${run.bytes.length} bytes that differ from the stream`);
    if (options.faulty) record(tally, 'restore (stream)', 'succeeded');
    return right;
  }
  if (options.faulty) record(tally, 'restore (stream)', 'failed clearly');
  checkClear(
    tally,
    label,
    fatalLine(run, 'restore') ?? run.stderr.split('\n').find((line) => line.startsWith('not restored: ')),
    run,
  );
  return false;
}

async function drill(ws: Workspace, tally: Tally, label: string): Promise<void> {
  const scratch = tempDir('restorable-faults-scratch-');
  const run = await cli(ws, ['drill', 'policy.yaml', '--json', '--no-evidence', '--scratch', scratch]);
  if (brokeDown(tally, label, run)) return;
  const fatal = fatalLine(run, 'drill');
  if (fatal) {
    record(tally, 'drill (files)', 'failed clearly');
    checkClear(tally, label, fatal, run);
    return;
  }
  const [result] = (JSON.parse(run.stdout) as { systems: { status: string; failures: string[] }[] }).systems;
  if (result?.status === 'passed' && run.status === 0) record(tally, 'drill (files)', 'succeeded');
  else {
    record(tally, 'drill (files)', 'failed clearly');
    checkClear(tally, label, result?.failures[0], run);
  }
}

/** Snapshots as s3rver holds them, read around the proxy: the test's own bookkeeping, never faulted. */
async function storedSnapshots(ws: Workspace): Promise<{ id: string; system: SystemName; time: string }[]> {
  const run = await cli(ws, ['snapshots', 'direct.yaml', '--json']);
  expect(run.status, described(run)).toBe(0);
  return (JSON.parse(run.stdout) as { snapshots: { id: string; system: SystemName; time: string }[] })
    .snapshots;
}

/**
 * Prunes (keep the last 2 of each system). Returns the snapshots the rule may remove, from the listing just
 * before: whether or not the prune gets through, no other snapshot may go.
 */
async function prune(ws: Workspace, tally: Tally, label: string): Promise<Set<string>> {
  const before = await storedSnapshots(ws);
  const removable = new Set<string>();
  for (const system of SYSTEMS) {
    const newestFirst = before
      .filter((s) => s.system === system)
      .sort((a, b) => b.time.localeCompare(a.time));
    for (const old of newestFirst.slice(KEEP_LAST)) removable.add(old.id);
  }
  const run = await cli(ws, ['prune', 'policy.yaml', '--json', '--no-evidence']);
  if (brokeDown(tally, label, run)) return removable;
  const fatal = fatalLine(run, 'prune');
  const [result] = fatal
    ? []
    : (JSON.parse(run.stdout) as { repositories: { status: string; message?: string }[] }).repositories;
  if (!fatal && result?.status === 'ok' && run.status === 0) record(tally, 'prune', 'succeeded');
  else {
    record(tally, 'prune', 'failed clearly');
    checkClear(tally, label, fatal ?? result?.message, run);
  }
  return removable;
}

// ---------------------------------------------------------------------------------------------------------
// One round: a sequence of operations through the faults, then everything checked with the proxy clean.

async function faultyRound(seed: number, round: number, tally: Tally): Promise<void> {
  const ws = newWorkspace(seed, round);
  const attempts: Attempt[] = [];
  const step = (name: string) => `round ${round} (seed ${seed}) ${name}`;
  const share = RATE / RANDOM_FAULT_KINDS.length;
  proxy.reset();
  proxy.random({ seed, rates: Object.fromEntries(RANDOM_FAULT_KINDS.map((kind) => [kind, share])) });

  const latest = (system: SystemName) => attempts.filter((a) => a.system === system && a.snapshot).at(-1);
  const restoreLatest = async (name: string) => {
    const files = latest('files');
    const stream = latest('stream');
    if (files)
      await restoreFiles(ws, tally, files.snapshot!, files.state.files, step(name), { faulty: true });
    if (stream)
      await restoreStream(ws, tally, stream.snapshot!, stream.state.stream, step(name), { faulty: true });
  };

  await backupBoth(ws, tally, attempts, step('backup 1'));
  editWorkspace(ws, 1);
  await backupBoth(ws, tally, attempts, step('backup 2'));
  await restoreLatest('restore after backup 2');
  editWorkspace(ws, 2);
  await backupBoth(ws, tally, attempts, step('backup 3'));
  await drill(ws, tally, step('drill'));
  const removable = await prune(ws, tally, step('prune'));
  editWorkspace(ws, 3);
  await backupBoth(ws, tally, attempts, step('backup 4'));
  await restoreLatest('restore after backup 4');

  for (const [kind, n] of proxy.injected) tally.faults.set(kind, (tally.faults.get(kind) ?? 0) + n);
  tally.requests += proxy.requests.length;
  printDraws(seed, round);
  proxy.reset();

  await checkAfterwards(ws, tally, attempts, removable, step('after the faults'));
}

/** The random mode's draws that injected something, for replaying a failure. */
function printDraws(seed: number, round: number): void {
  const faulted = proxy.draws.filter((draw) => draw.kind !== 'none');
  const lines = faulted.map(
    (d) =>
      `  #${d.request} ${d.method} ${d.path.replace(/^\/[^/]+\/[^/]+\//, '')}: ${d.kind}${d.delayMs ? ` ${d.delayMs} ms` : ''}${d.cutAt ? ` at ${(d.cutAt * 100).toFixed(0)}%` : ''}`,
  );
  console.log(
    `faults round ${round}, seed ${seed}: ${faulted.length} of ${proxy.draws.length} requests faulted\n${lines.join('\n')}`,
  );
}

/**
 * With the proxy clean: `repo verify --read-data` passes; every snapshot a backup reported still exists
 * (unless the prune's rule could remove it) and restores byte-identically; a snapshot no backup reported
 * (a failed backup whose last write landed after all) must restore to that backup's tree.
 */
async function checkAfterwards(
  ws: Workspace,
  tally: Tally,
  attempts: Attempt[],
  removable: Set<string>,
  label: string,
): Promise<void> {
  const verify = await cli(ws, ['repo', 'verify', 'policy.yaml', '--read-data']);
  tally.verified.verifyRuns += 1;
  if (!brokeDown(tally, `${label}: repo verify`, verify) && verify.status !== 0) {
    tally.corruptions.push(`${label}: repo verify --read-data fails\n${described(verify)}`);
  }
  const stored = new Map((await storedSnapshots(ws)).map((s) => [s.id, s]));
  for (const attempt of attempts.filter((a) => a.snapshot)) {
    if (!stored.has(attempt.snapshot!) && !removable.has(attempt.snapshot!)) {
      tally.dataLost.push(
        `${label}: snapshot ${attempt.snapshot} of ${attempt.system} was committed and is gone`,
      );
    }
  }
  const reported = new Map(attempts.filter((a) => a.snapshot).map((a) => [a.snapshot!, a]));
  for (const snapshot of stored.values()) {
    const attempt = reported.get(snapshot.id);
    const candidates = attempt
      ? [attempt]
      : attempts.filter((a) => a.system === snapshot.system && !a.snapshot);
    if (!attempt) {
      tally.verified.orphans += 1;
      // Only a backup whose final write (its snapshot) failed to be acknowledged may leave one.
      if (!candidates.some((a) => /snapshots\/[0-9a-f]{64}/.test(a.message ?? ''))) {
        tally.corruptions.push(
          `${label}: snapshot ${snapshot.id} of ${snapshot.system} exists, but no backup committed it`,
        );
      }
    }
    const restoredRight = await Promise.all(
      candidates.map((candidate) =>
        snapshot.system === 'files'
          ? restoreFiles(
              ws,
              tally,
              snapshot.id,
              candidate.state.files,
              `${label}: restore ${snapshot.id.slice(0, 8)}`,
              { faulty: false },
            )
          : restoreStream(
              ws,
              tally,
              snapshot.id,
              candidate.state.stream,
              `${label}: restore ${snapshot.id.slice(0, 8)}`,
              { faulty: false },
            ),
      ),
    );
    tally.verified.snapshots += 1;
    if (!restoredRight.some(Boolean)) {
      tally.dataLost.push(
        `${label}: snapshot ${snapshot.id} of ${snapshot.system} does not restore as backed up`,
      );
    }
  }
}

function printTally(tally: Tally): void {
  const rows: string[] = [
    `storage faults: seed ${SEED}, ${ROUNDS} round${ROUNDS === 1 ? '' : 's'}, ${(RATE * 100).toFixed(0)}% of requests faulted`,
    `requests through the proxy: ${tally.requests}`,
    'faults injected, by kind:',
  ];
  let total = 0;
  for (const [kind, n] of [...tally.faults].sort((a, b) => b[1] - a[1])) {
    rows.push(`  ${kind.padEnd(22)} ${String(n).padStart(6)}`);
    total += n;
  }
  rows.push(`  ${'total'.padEnd(22)} ${String(total).padStart(6)}`, 'operations, by outcome:');
  for (const [operation, outcomes] of tally.operations) {
    rows.push(
      `  ${operation.padEnd(22)} succeeded ${String(outcomes.get('succeeded') ?? 0).padStart(4)}   failed clearly ${String(outcomes.get('failed clearly') ?? 0).padStart(4)}`,
    );
  }
  rows.push(
    `afterwards: repo verify --read-data ${tally.verified.verifyRuns} run(s), ${tally.verified.snapshots} snapshots restored and compared (${tally.verified.orphans} from backups that reported failure)`,
    `data lost ${tally.dataLost.length}, undetected corruptions ${tally.corruptions.length}, crashes ${tally.crashes.length}, hangs ${tally.hangs.length}, unclear errors ${tally.unclear.length}`,
  );
  if (tally.failures.length > 0) rows.push('failures reported:', ...tally.failures.map((f) => `  ${f}`));
  console.log(rows.join('\n'));
  // bench/faults prints the totals from here.
  const summaryFile = process.env.FAULT_SUMMARY_FILE;
  if (summaryFile) writeFileSync(summaryFile, `${rows.join('\n')}\n`);
}

describe('storage faults through a seeded fault proxy (issue 7)', () => {
  it(
    `backups, restores, a drill and a prune through ${(RATE * 100).toFixed(0)}% faulted requests lose nothing (seed ${SEED}, ${ROUNDS} round(s))`,
    async () => {
      console.log(`storage faults: FAULT_SEED=${SEED} FAULT_ROUNDS=${ROUNDS} FAULT_RATE=${RATE}`);
      const tally = newTally();
      for (let round = 0; round < ROUNDS; round++) await faultyRound(deriveSeed(SEED, round), round, tally);
      printTally(tally);

      expect(tally.hangs).toEqual([]);
      expect(tally.crashes).toEqual([]);
      expect(tally.dataLost).toEqual([]);
      expect(tally.corruptions).toEqual([]);
      expect(tally.unclear).toEqual([]);
      // The faults were real and varied, and the operations did not all fail.
      const injected = [...tally.faults.values()].reduce((a, b) => a + b, 0);
      if (RATE > 0) expect(injected).toBeGreaterThan(0);
      const succeeded = [...tally.operations.values()].reduce((sum, o) => sum + (o.get('succeeded') ?? 0), 0);
      expect(succeeded).toBeGreaterThan(0);
      expect(tally.verified.snapshots).toBeGreaterThan(0);
    },
    ROUNDS * 600_000,
  );

  it('gives up after maxAttempts requests per object when every request gets SlowDown, saying so in one line', async () => {
    const ws = newWorkspace(SEED, 999);
    const first = await cli(ws, ['backup', 'policy.yaml', '--json', '--no-evidence']);
    expect(first.status, described(first)).toBe(0);
    editWorkspace(ws, 1);
    const operations: [string, string[]][] = [
      ['backup', ['backup', 'policy.yaml', '--system', 'files', '--no-evidence']],
      ['backup', ['backup', 'policy.yaml', '--system', 'stream', '--no-evidence']],
      ['restore', ['restore', 'policy.yaml', '--system', 'stream', '--stdout']],
      [
        'drill',
        ['drill', 'policy.yaml', '--no-evidence', '--scratch', tempDir('restorable-faults-scratch-')],
      ],
      ['prune', ['prune', 'policy.yaml', '--no-evidence']],
      ['repo', ['repo', 'verify', 'policy.yaml']],
    ];
    const tally = newTally();
    for (const [command, args] of operations) {
      proxy.reset();
      proxy.fail({ status: 503, code: 'SlowDown' }, { times: Number.POSITIVE_INFINITY });
      const run = await cli(ws, args);
      expect(brokeDown(tally, args.join(' '), run), described(run)).toBe(false);
      expect(run.status, described(run)).toBe(1);
      // The failure line: `<system>: FAILED: …` or `restorable <command>: …` on stderr; the drill's report
      // (stdout) has it as `FAILED: …`.
      const errors = `${run.stderr}\n${run.stdout}`
        .split('\n')
        .filter((line) => /(^|: |^\s+)FAILED: |^restorable [\w ]+: /.test(line));
      const message = errors.find((line) => line.includes('SlowDown')) ?? '';
      expect(message, described(run)).toMatch(/SlowDown \(HTTP 503.*, 5 attempts\) while \w+/);
      expect(message, described(run)).toMatch(NAMES_WHAT);
      // Every request was refused, and none was tried more than maxAttempts times.
      expect(proxy.injected.get('SlowDown')).toBe(proxy.requests.length);
      const perObject = requestsPerObject(proxy);
      expect(Math.max(...perObject.values()), `${command}: ${JSON.stringify([...perObject])}`).toBe(
        MAX_ATTEMPTS,
      );
    }
    expect(tally.crashes).toEqual([]);
    expect(tally.hangs).toEqual([]);
  });

  it('stops the command of a backup that fails after starting it, instead of waiting on it forever', async () => {
    const ws = newWorkspace(SEED, 998);
    const first = await cli(ws, ['backup', 'policy.yaml', '--json', '--no-evidence']);
    expect(first.status, described(first)).toBe(0);
    // The index is read after the lock is taken and the command started; its 3 MiB fill the pipe.
    proxy.fail(
      { status: 503, code: 'SlowDown' },
      { times: Number.POSITIVE_INFINITY, when: (r) => r.method === 'GET' && r.path.includes('/index/') },
    );
    const tally = newTally();
    const run = await cli(ws, ['backup', 'policy.yaml', '--system', 'stream', '--no-evidence'], {
      timeoutMs: 60_000,
    });
    expect(brokeDown(tally, 'backup', run, 60_000), described(run)).toBe(false);
    expect(run.status, described(run)).toBe(1);
    expect(run.stderr).toMatch(
      /stream: FAILED: .*SlowDown \(HTTP 503.*, 5 attempts\) while reading index\/[0-9a-f]{64}\n/,
    );
  });
});

/** How many requests the proxy saw for each method and object (or listing prefix). */
function requestsPerObject(faultProxy: FaultProxy): Map<string, number> {
  const counts = new Map<string, number>();
  for (const request of faultProxy.requests) {
    const key = `${request.method} ${request.path}${request.query.has('prefix') ? `?prefix=${request.query.get('prefix')}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
