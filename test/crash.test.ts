import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GIT_ENV, type GitHttpServer, git, gitHttpServer, removeTempDirs, workTree } from './helpers/git.ts';
import { crashOf, runInProcess } from './helpers/in-process-cli.ts';
import { type KillableRun, runCli, startCli, watchWrites } from './helpers/killable-cli.ts';
import { deriveSeed, Random, seedFromEnv } from './helpers/random.ts';
import { type ManifestEntry, manifestDifferences, treeManifest } from './helpers/restorable-cli.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// Crash trials (issue 7): the built CLI is SIGKILLed, with everything it started, at seeded points of a backup,
// a prune and a backup's evidence append. Afterwards the repository must verify, list only whole snapshots,
// restore every one of them byte for byte (content, modes, mtimes, owners) and take the next run.
//
// Local repositories only. s3rver is no stand-in for S3 here: it streams a PUT's body straight into the
// object's final file and writes the metadata after, so a client killed mid-PUT leaves a truncated object
// behind (S3 keeps nothing of a PUT that did not complete). Trials on it would test s3rver's atomicity, not
// Restorable's.
//
// Kill points: "event N" = SIGKILL when the Nth file system event (a temporary file, a rename, a removal)
// is seen under the repository directory, plus a few ms; "at T ms" = T ms after the spawn, drawn over the
// operation's measured duration and past its end; "snapshot + T ms" = T ms after the snapshot object
// appears (the evidence append). Timing on a shared machine moves kill points a little: replay a run with
// CRASH_SEED (every trial's seed is derived from it), not a single trial.

const SEED = seedFromEnv('CRASH_SEED', 0x7c0de);
const TRIALS = Number(process.env.TRIALS ?? 50);
const PRUNE_TRIALS = Number(process.env.PRUNE_TRIALS ?? Math.max(6, Math.round(TRIALS / 8)));
const EVIDENCE_TRIALS = Number(process.env.EVIDENCE_TRIALS ?? Math.max(6, Math.round(TRIALS / 8)));
/** Backup trials share a repository in rounds of this many; each round starts with none. */
const ROUND = 5;
const SMALL_FILES = 150;
const PASSPHRASE = 'crash trials passphrase';
const ENV = { RESTORABLE_PASSPHRASE: PASSPHRASE };
/** Past a killed holder's lock expiry (30 minutes, src/engine/lock.ts). */
const AFTER_EXPIRY_MS = 31 * 60 * 1000;
const COMMAND_TIMEOUT_MS = 60_000;

type Manifest = Map<string, ManifestEntry>;
type KillPoint = { kind: 'event'; n: number; extraMs: number } | { kind: 'time'; ms: number };

interface Row {
  trial: number;
  operation: 'backup' | 'prune' | 'evidence';
  seed: number;
  killPoint: string;
  /** What the SIGKILL met: "killed", or "finished" (the run was over before the kill point). */
  killed: string;
  verify: string;
  snapshots: string;
  restored: string;
  next: string;
  problems: string[];
}

const rows: Row[] = [];
const totals = {
  dataLost: 0,
  undetectedCorruptions: 0,
  crashes: 0,
  hangs: 0,
  /** Runs refused because a killed process's lock was still live (reported, see the prune trials). */
  blockedByStaleLock: 0,
};

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  removeTempDirs();
  printTable();
});

function printTable(): void {
  if (rows.length === 0) return;
  const header = [
    'trial',
    'operation',
    'seed',
    'kill point',
    'run',
    'verify',
    'snapshots',
    'restored',
    'next run',
  ];
  const cells = rows.map((r) => [
    String(r.trial),
    r.operation,
    `0x${r.seed.toString(16)}`,
    r.killPoint,
    r.killed,
    r.verify,
    r.snapshots,
    r.restored,
    r.next,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ');
  const count = (op: Row['operation']) => {
    const mine = rows.filter((r) => r.operation === op);
    return `${op} ${mine.length} (killed ${mine.filter((r) => r.killed === 'killed').length})`;
  };
  const lines = [
    `crash trials, CRASH_SEED=0x${SEED.toString(16)}`,
    line(header),
    ...cells.map(line),
    ...rows.flatMap((r) => r.problems.map((p) => `trial ${r.trial} (${r.operation}): ${p}`)),
    `crash totals: ${count('backup')}, ${count('prune')}, ${count('evidence')}; data lost ${totals.dataLost}, undetected corruptions ${totals.undetectedCorruptions}, crashes ${totals.crashes}, hangs ${totals.hangs}; runs blocked by a killed process's lock ${totals.blockedByStaleLock}`,
  ];
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------------------
// The source tree: a few hundred small files and one file of several chunks, changed a little before each run.

class SourceTree {
  readonly data: string;
  private serial = 0;

  constructor(
    readonly root: string,
    private readonly random: Random,
    files: number,
  ) {
    this.data = join(root, 'data');
    for (let i = 0; i < files; i++) this.writeSmall(`d${i % 12}/f${i}.txt`);
    // 2.5 MiB of random bytes: at least two chunks (minimum 512 KiB, average 1 MiB).
    writeFileSync(join(this.data, 'big.bin'), random.bytes(2_500_000 + random.int(500_000)));
  }

  private writeSmall(path: string): void {
    const file = join(this.data, path);
    mkdirSync(join(file, '..'), { recursive: true });
    const line = `${this.random.string(40)} ${this.serial++}\n`;
    writeFileSync(file, line.repeat(1 + this.random.int(60)));
  }

  /** A few files rewritten, one added, one removed, and a stretch of the large file overwritten. */
  change(): void {
    for (let i = 0, n = 1 + this.random.int(5); i < n; i++) this.writeSmall(this.randomFile());
    this.writeSmall(`d${this.random.int(12)}/new-${this.serial}.txt`);
    const victim = this.randomFile();
    if (victim !== undefined) unlinkSync(join(this.data, victim));
    const big = join(this.data, 'big.bin');
    const patch = this.random.bytes(4096);
    const fd = openSync(big, 'r+');
    writeSync(fd, patch, 0, patch.length, this.random.int(statSync(big).size - patch.length));
    closeSync(fd);
  }

  private randomFile(): string {
    const dir = `d${this.random.int(12)}`;
    const names = readdirSync(join(this.data, dir));
    return `${dir}/${this.random.pick(names)}`;
  }

  manifest(): Promise<Manifest> {
    return treeManifest(this.data);
  }
}

function policy(root: string, retention = ''): void {
  writeFileSync(
    join(root, 'policy.yaml'),
    `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: crash, owner: ops@example.com }
repositories:
  local: { local: { path: repo } }
systems:
  - name: files
    source: { paths: [data] }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
${retention}`,
  );
}

// ---------------------------------------------------------------------------------------------------------
// Running, killing and judging commands.

type Run = Awaited<ReturnType<typeof runCli>>;

function cli(root: string, args: string[], clockShiftMs = 0): Promise<Run> {
  return runCli(args, { cwd: root, env: ENV, clockShiftMs, timeoutMs: COMMAND_TIMEOUT_MS });
}

/**
 * A read-only follow-up (snapshots, verify, restore) through the CLI's own handlers in this process: the
 * same code and error handling without a Node start per command, which is most of a trial's time. A
 * JavaScript error reaching the top (a crash) is shown as one; a run past the limit counts as a hang.
 */
async function inspect(root: string, args: string[]): Promise<Run> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), COMMAND_TIMEOUT_MS);
  });
  const run = await Promise.race([runInProcess([...args, '--root', root], ENV), limit]);
  clearTimeout(timer);
  const ms = performance.now() - started;
  if (run === undefined) {
    return { status: null, signal: null, stdout: '', bytes: Buffer.alloc(0), stderr: '', ms, timedOut: true };
  }
  const crash = crashOf(run);
  const stderr = crash ? `${run.stderr}internal error: ${crash}\n` : run.stderr;
  return {
    status: run.status,
    signal: null,
    stdout: run.stdout,
    bytes: Buffer.from(run.stdout),
    stderr,
    ms,
    timedOut: false,
  };
}

function shown(run: Run): string {
  return `exit ${run.status ?? run.signal}${run.timedOut ? ' (timed out)' : ''}: ${run.stderr.trim().split('\n').slice(-6).join(' | ')}`;
}

const STACK_TRACE = /^\s+at .+(\(.+:\d+:\d+\)|:\d+:\d+)$/m;
const LOCKED = /is locked: a \w+ lock cannot be taken/;

/**
 * Judges a run that must succeed, counting crashes and hangs. A refusal because of a killed process's lock
 * is counted apart (`blocked`), not as a crash, and is a problem too: a lock whose holder was killed on this
 * machine must not block the next run (src/engine/lock.ts, holderIsGone).
 */
function judge(what: string, run: Run, problems: string[]): 'ok' | 'blocked' | 'failed' {
  if (run.status === 0) return 'ok';
  if (run.timedOut) totals.hangs++;
  // With --json a failed system's message is in the report on stdout.
  else if (LOCKED.test(run.stderr + run.stdout) && !STACK_TRACE.test(run.stderr)) {
    totals.blockedByStaleLock++;
    problems.push(`${what}: blocked by a killed process's lock: ${shown(run)}`);
    return 'blocked';
  } else totals.crashes++;
  problems.push(`${what}: ${shown(run)}`);
  return 'failed';
}

function drawKillPoint(
  random: Random,
  calibration: { ms: number; events: number },
  eventShare = 0.5,
): KillPoint {
  if (random.chance(eventShare)) {
    return { kind: 'event', n: 1 + random.int(calibration.events + 2), extraMs: random.int(8) };
  }
  return { kind: 'time', ms: Math.round(random.float() * calibration.ms * 1.25) };
}

function describeKillPoint(point: KillPoint): string {
  return point.kind === 'event' ? `event ${point.n} +${point.extraMs}ms` : `at ${point.ms} ms`;
}

/** Starts `args` and SIGKILLs it at `point` (events counted under `watched`); resolves when it is gone. */
async function runAndKill(root: string, args: string[], watched: string, point: KillPoint): Promise<Run> {
  const run: KillableRun = startCli(args, { cwd: root, env: ENV, timeoutMs: COMMAND_TIMEOUT_MS });
  let timer: NodeJS.Timeout | undefined;
  const watcher =
    point.kind === 'event'
      ? watchWrites(watched, (count) => {
          if (count === point.n) timer = setTimeout(run.kill, point.extraMs);
        })
      : undefined;
  if (point.kind === 'time') timer = setTimeout(run.kill, point.ms);
  try {
    return await run.result;
  } finally {
    clearTimeout(timer);
    watcher?.close();
  }
}

/** Duration and file system events of complete runs of `args` (the slowest of `times`), to spread kills over. */
async function calibrate(
  times: number,
  prepare: () => { root: string; watched: string },
  args: string[],
): Promise<{ ms: number; events: number }> {
  let ms = 0;
  let events = 0;
  for (let i = 0; i < times; i++) {
    const { root, watched } = prepare();
    let seen = 0;
    const watcher = watchWrites(watched, (count) => {
      seen = count;
    });
    const run = await cli(root, args);
    watcher.close();
    expect(run.status, shown(run)).toBe(0);
    ms = Math.max(ms, run.ms);
    events = Math.max(events, seen);
  }
  return { ms, events };
}

async function listSnapshots(root: string, problems: string[]): Promise<string[] | undefined> {
  const run = await inspect(root, ['snapshots', 'policy.yaml', '--json']);
  if (judge('snapshots', run, problems) !== 'ok') return undefined;
  return (JSON.parse(run.stdout).snapshots as { id: string }[]).map((s) => s.id);
}

/** `repo verify` (with --read-data when asked): "ok", or what it found (a problem). */
async function verify(
  root: string,
  readData: boolean,
  problems: string[],
  clockShiftMs = 0,
): Promise<string> {
  const args = ['repo', 'verify', 'policy.yaml', '--json', ...(readData ? ['--read-data'] : [])];
  const run = clockShiftMs === 0 ? await inspect(root, args) : await cli(root, args, clockShiftMs);
  const label = readData ? 'ok (read-data)' : 'ok';
  if (run.status === 0) return label;
  if (judge('repo verify', run, problems) !== 'failed' || run.stdout === '') return 'FAILED';
  return 'FINDINGS';
}

/**
 * Restores each snapshot and compares it with the tree it was taken from. A restore that fails is data lost;
 * one that succeeds with other content is an undetected corruption. Two at a time (two cores).
 */
async function restoreAll(
  root: string,
  ids: readonly string[],
  expected: ReadonlyMap<string, Manifest>,
  problems: string[],
): Promise<number> {
  let good = 0;
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const target = tempDir('restorable-crash-restore-');
      const run = await inspect(root, [
        'restore',
        'policy.yaml',
        '--system',
        'files',
        '--snapshot',
        id,
        '--target',
        target,
      ]);
      if (run.status !== 0) {
        if (run.timedOut) totals.hangs++;
        else if (STACK_TRACE.test(run.stderr) || run.stderr.includes('internal error')) totals.crashes++;
        totals.dataLost++;
        problems.push(`restore ${id.slice(0, 8)}: ${shown(run)}`);
      } else {
        const differences = manifestDifferences(
          expected.get(id)!,
          await treeManifest(join(target, 'data')),
          5,
        );
        if (differences.length > 0) {
          totals.undetectedCorruptions++;
          problems.push(`restore ${id.slice(0, 8)} differs: ${differences.join('; ')}`);
        } else good++;
      }
      rmSync(target, { recursive: true, force: true });
    }
  };
  await Promise.all([worker(), worker()]);
  return good;
}

function snapshotOf(run: Run): string {
  return JSON.parse(run.stdout).systems[0].repositories[0].snapshot as string;
}

// ---------------------------------------------------------------------------------------------------------

describe('crash trials', () => {
  it(
    `a backup killed at ${TRIALS} seeded points leaves whole snapshots that restore, and the next backup runs`,
    async () => {
      const backupArgs = ['backup', 'policy.yaml', '--json', '--no-evidence'];
      const calibrationRandom = new Random(deriveSeed(SEED, 1_000_000));
      const scratch = tempDir('restorable-crash-calibrate-');
      policy(scratch);
      new SourceTree(scratch, calibrationRandom, SMALL_FILES);
      mkdirSync(join(scratch, 'repo'));
      // First backup (creates the repository), then an incremental one: kills are spread over the slower.
      const calibration = await calibrate(
        2,
        () => ({ root: scratch, watched: join(scratch, 'repo') }),
        backupArgs,
      );
      console.log(
        `backup: ${calibration.ms.toFixed(0)} ms, ${calibration.events} file system events (slowest of 2)`,
      );

      let round: { root: string; tree: SourceTree; expected: Map<string, Manifest> } | undefined;
      for (let trial = 0; trial < TRIALS; trial++) {
        const seed = deriveSeed(SEED, trial);
        const random = new Random(seed);
        if (trial % ROUND === 0) {
          const root = tempDir('restorable-crash-backup-');
          policy(root);
          mkdirSync(join(root, 'repo'));
          if (round) rmSync(round.root, { recursive: true, force: true });
          round = { root, tree: new SourceTree(root, random, SMALL_FILES), expected: new Map() };
        } else round!.tree.change();
        const { root, tree, expected } = round!;
        const manifest = await tree.manifest();
        const point = drawKillPoint(random, calibration);
        const row: Row = {
          trial,
          operation: 'backup',
          seed,
          killPoint: describeKillPoint(point),
          killed: '',
          verify: '',
          snapshots: '',
          restored: '',
          next: '',
          problems: [],
        };
        rows.push(row);

        const killed = await runAndKill(root, backupArgs, join(root, 'repo'), point);
        const fresh: string[] = [];
        if (killed.signal === 'SIGKILL') row.killed = killed.timedOut ? 'HANG' : 'killed';
        else if (judge('backup (before its kill point)', killed, row.problems) === 'ok') {
          row.killed = 'finished';
          expected.set(snapshotOf(killed), manifest);
          fresh.push(snapshotOf(killed));
        } else row.killed = 'FAILED';
        if (killed.timedOut) totals.hangs++;

        // The next backup: nothing the killed one left (its lock, packs, a temporary file) may stop it.
        const next = await cli(root, backupArgs);
        row.next = judge('next backup', next, row.problems);
        if (row.next === 'ok') {
          expected.set(snapshotOf(next), manifest);
          // After an interrupted run, the next one reuses what it left: its snapshot is restored too.
          if (row.killed !== 'finished') fresh.push(snapshotOf(next));
        }

        const [listed, verified] = await Promise.all([
          listSnapshots(root, row.problems),
          verify(root, trial % 3 === 2 || trial % ROUND === ROUND - 1, row.problems),
        ]);
        row.verify = verified;
        if (listed) {
          const lost = [...expected.keys()].filter((id) => !listed.includes(id));
          const unknown = listed.filter((id) => !expected.has(id));
          totals.dataLost += lost.length;
          for (const id of lost) row.problems.push(`snapshot ${id.slice(0, 8)} is no longer listed`);
          // The killed backup's snapshot, when it was written before the kill: the one unknown id, of this tree.
          if (unknown.length === 1 && row.killed === 'killed') {
            expected.set(unknown[0]!, manifest);
            fresh.push(unknown[0]!);
          } else if (unknown.length > 0) {
            totals.crashes++;
            row.problems.push(
              `unexpected snapshots listed: ${unknown.map((id) => id.slice(0, 8)).join(', ')}`,
            );
          }
          row.snapshots = `${listed.length} (+${unknown.length} from the kill)`;
        } else row.snapshots = 'FAILED';
        // The new snapshots and, at the end of a round, one older one drawn at random (later crashes must not
        // have spoiled it; verify --read-data checks every blob of all of them).
        const older = [...expected.keys()].filter((id) => !fresh.includes(id));
        const endOfRound = trial % ROUND === ROUND - 1 || trial === TRIALS - 1;
        const toRestore = endOfRound && older.length > 0 ? [...fresh, random.pick(older)] : fresh;
        const good = await restoreAll(root, toRestore, expected, row.problems);
        row.restored = `${good}/${toRestore.length}`;
      }
      const failures = rows.filter((r) => r.operation === 'backup' && r.problems.length > 0);
      expect(failures.map((r) => `trial ${r.trial}: ${r.problems.join('; ')}`)).toEqual([]);
      // Kills that all land after the end would test nothing.
      expect(rows.filter((r) => r.operation === 'backup' && r.killed === 'killed').length).toBeGreaterThan(
        TRIALS / 2,
      );
    },
    60 * 60 * 1000,
  );

  it(
    `a prune killed at ${PRUNE_TRIALS} seeded points leaves every snapshot restorable, and a prune after the lock expiry finishes`,
    async () => {
      const backupArgs = ['backup', 'policy.yaml', '--json', '--no-evidence'];
      const pruneArgs = ['prune', 'policy.yaml', '--json', '--no-evidence'];
      const template = tempDir('restorable-crash-prune-');
      policy(template, '    retention: { keep: { last: 2 } }\n');
      const tree = new SourceTree(template, new Random(deriveSeed(SEED, 2_000_000)), 60);
      const expected = new Map<string, Manifest>();
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        if (i > 0) tree.change();
        const run = await cli(template, backupArgs);
        expect(run.status, shown(run)).toBe(0);
        expected.set(snapshotOf(run), await tree.manifest());
        order.push(snapshotOf(run));
      }
      const copy = () => {
        const root = tempDir('restorable-crash-prune-');
        cpSync(template, root, { recursive: true });
        return root;
      };
      const calibration = await calibrate(
        2,
        () => {
          const root = copy();
          return { root, watched: join(root, 'repo') };
        },
        pruneArgs,
      );
      console.log(
        `prune: ${calibration.ms.toFixed(0)} ms, ${calibration.events} file system events (slowest of 2)`,
      );

      for (let trial = 0; trial < PRUNE_TRIALS; trial++) {
        const seed = deriveSeed(SEED, 100_000 + trial);
        const random = new Random(seed);
        const root = copy();
        const current = await treeManifest(join(root, 'data')); // the copy's times: what its backups read
        // Mostly at storage events: the first 40% of a prune's time is the process starting.
        const point = drawKillPoint(random, calibration, 0.75);
        const row: Row = {
          trial,
          operation: 'prune',
          seed,
          killPoint: describeKillPoint(point),
          killed: '',
          verify: '',
          snapshots: '',
          restored: '',
          next: '',
          problems: [],
        };
        rows.push(row);
        const killed = await runAndKill(root, pruneArgs, join(root, 'repo'), point);
        if (killed.signal === 'SIGKILL') row.killed = killed.timedOut ? 'HANG' : 'killed';
        else
          row.killed =
            judge('prune (before its kill point)', killed, row.problems) === 'ok' ? 'finished' : 'FAILED';
        if (killed.timedOut) totals.hangs++;

        // A backup at once: the killed prune's exclusive lock is live for 30 minutes (see the report below).
        const here = new Map(expected);
        let kept = order.slice(-2);
        const backup = await cli(root, backupArgs);
        const atOnce = judge('backup right after the kill', backup, row.problems);
        if (atOnce === 'ok') {
          here.set(snapshotOf(backup), current);
          kept = [order.at(-1)!, snapshotOf(backup)];
        }

        // What the kill left: the kept snapshots listed, nothing unknown, every blob sound; the snapshots
        // the retention removes restored now (the kept ones after the next prune).
        const [listed, verified] = await Promise.all([
          listSnapshots(root, row.problems),
          verify(root, true, row.problems),
        ]);
        let restored = 0;
        let restorable = 0;
        if (listed) {
          for (const id of kept.filter((id) => !listed.includes(id))) {
            totals.dataLost++;
            row.problems.push(`kept snapshot ${id.slice(0, 8)} is no longer listed`);
          }
          const unknown = listed.filter((id) => !here.has(id));
          if (unknown.length > 0) {
            totals.crashes++;
            row.problems.push(
              `unexpected snapshots listed: ${unknown.map((id) => id.slice(0, 8)).join(', ')}`,
            );
          }
          row.snapshots = `${listed.length} → `;
          const doomed = listed.filter((id) => here.has(id) && !kept.includes(id));
          restored += await restoreAll(root, doomed, here, row.problems);
          restorable += doomed.length;
        } else row.snapshots = 'FAILED → ';

        // After the lock's expiry (the clock moved 31 minutes on): a prune finishes the work, the kept snapshots
        // restore from what it repacked, and a backup runs.
        const again = await cli(root, pruneArgs, AFTER_EXPIRY_MS);
        const pruned = judge('prune after the lock expiry', again, row.problems);
        const [after, verifiedAfter] = await Promise.all([
          listSnapshots(root, row.problems),
          verify(root, true, row.problems),
        ]);
        row.verify = `${verified}, ${verifiedAfter}`;
        if (after) {
          row.snapshots += String(after.length);
          if ([...after].sort().join() !== [...kept].sort().join()) {
            const lost = kept.filter((id) => !after.includes(id));
            totals.dataLost += lost.length;
            if (lost.length === 0) totals.crashes++;
            row.problems.push(
              `after the second prune: listed ${after.map((id) => id.slice(0, 8)).join(', ')}, expected ${kept.map((id) => id.slice(0, 8)).join(', ')}`,
            );
          }
        }
        const present = kept.filter((id) => after?.includes(id));
        restored += await restoreAll(root, present, here, row.problems);
        restorable += present.length;
        row.restored = `${restored}/${restorable}`;
        const later = await cli(root, backupArgs, AFTER_EXPIRY_MS);
        const afterExpiry = judge('backup after the lock expiry', later, row.problems);
        row.next = `backup at once ${atOnce}; prune ${pruned}, backup ${afterExpiry} after expiry`;
        rmSync(root, { recursive: true, force: true });
      }
      const failures = rows.filter((r) => r.operation === 'prune' && r.problems.length > 0);
      expect(failures.map((r) => `trial ${r.trial}: ${r.problems.join('; ')}`)).toEqual([]);
      expect(rows.filter((r) => r.operation === 'prune' && r.killed === 'killed').length).toBeGreaterThan(
        PRUNE_TRIALS / 3,
      );
    },
    60 * 60 * 1000,
  );

  describe('evidence append', () => {
    const BRANCH = 'restorable-evidence';
    const TOKEN = 'ghs_crash_trials_token';
    let server: GitHttpServer | undefined;
    afterAll(() => server?.close());

    it(
      `a backup killed at ${EVIDENCE_TRIALS} seeded points of its evidence append leaves a whole chain, and the next backup appends`,
      async () => {
        // The team's repository; origin is served over HTTP by `git http-backend` in this process, as GitHub
        // is: killing the CLI's process group (git push included) cannot reach the remote's side.
        const served = tempDir('restorable-crash-remote-');
        git(served, ['init', '--quiet', '--bare', '--initial-branch=main', 'team.git']);
        server = await gitHttpServer(served, TOKEN);
        const bare = join(served, 'team.git');
        const root = workTree(`${server.origin}/team.git`);
        const { armored: privateKey, fingerprint } = await newSigningKey();
        mkdirSync(join(root, '.restorable'));
        writeFileSync(
          join(root, '.restorable/config.yaml'),
          `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: ${BRANCH}\n  signingKey:\n    fingerprint: ${fingerprint}\n`,
        );
        policy(root);
        cpSync(join(root, 'policy.yaml'), join(root, '.restorable/crash.yaml'));
        rmSync(join(root, 'policy.yaml'));
        writeFileSync(join(root, '.gitignore'), '/repo/\n/data/\n');
        git(root, ['add', '.']);
        git(root, ['commit', '--quiet', '-m', 'policy']);
        // Straight to the bare repository: a synchronous git call would block the server in this process.
        git(root, ['push', '--quiet', bare, 'main']);
        const tree = new SourceTree(root, new Random(deriveSeed(SEED, 3_000_000)), 40);
        mkdirSync(join(root, 'repo'));
        const env = {
          ...GIT_ENV,
          ...ENV,
          RESTORABLE_EVIDENCE_KEY: privateKey,
          GITHUB_TOKEN: TOKEN,
          GITHUB_SERVER_URL: server.origin,
        };
        const backupArgs = ['backup', '--json'];
        const records = () =>
          git(bare, ['branch', '--list', BRANCH]) === ''
            ? 0
            : git(bare, ['ls-tree', '-r', '--name-only', BRANCH, '--', 'records/'])
                .split('\n')
                .filter((path) => path.endsWith('.json')).length;
        const snapshots = () =>
          readdirSync(join(root, 'repo/snapshots')).filter((n) => !n.startsWith('.')).length;
        const verifyChain = async (problems: string[]) => {
          const run = await runCli(['evidence', 'verify', '--remote', 'origin'], {
            cwd: root,
            env,
            timeoutMs: COMMAND_TIMEOUT_MS,
          });
          return judge('evidence verify', run, problems) === 'ok' ? 'ok' : 'FAILED';
        };

        // Calibration: from the snapshot object's appearance to the end of the run (the append, mostly).
        let appendMs = 0;
        for (let i = 0; i < 2; i++) {
          tree.change();
          let snapshotAt = 0;
          const watcher = watchWrites(join(root, 'repo'), (_count, name) => {
            if (!snapshotAt && /^snapshots\/[0-9a-f]{64}$/.test(name)) snapshotAt = performance.now();
          });
          const started = performance.now();
          const run = await runCli(backupArgs, { cwd: root, env, timeoutMs: COMMAND_TIMEOUT_MS });
          watcher.close();
          expect(run.status, shown(run)).toBe(0);
          expect(snapshotAt).toBeGreaterThan(0);
          appendMs = Math.max(appendMs, started + run.ms - snapshotAt);
        }
        expect(records()).toBe(2);
        console.log(
          `evidence: ${appendMs.toFixed(0)} ms from the snapshot's appearance to the end of the run (slowest of 2)`,
        );

        for (let trial = 0; trial < EVIDENCE_TRIALS; trial++) {
          const seed = deriveSeed(SEED, 200_000 + trial);
          const random = new Random(seed);
          // Over 70% of the calibrated append (it varies from run to run): the odd run that finishes first is the control.
          const delay = Math.round(random.float() * appendMs * 0.7);
          const row: Row = {
            trial,
            operation: 'evidence',
            seed,
            killPoint: `snapshot +${delay} ms`,
            killed: '',
            verify: '',
            snapshots: '',
            restored: 'n/a',
            next: '',
            problems: [],
          };
          rows.push(row);
          tree.change();
          const before = { records: records(), snapshots: snapshots() };
          const run = startCli(backupArgs, { cwd: root, env, timeoutMs: COMMAND_TIMEOUT_MS });
          let timer: NodeJS.Timeout | undefined;
          const watcher = watchWrites(join(root, 'repo'), (_count, name) => {
            if (timer === undefined && /^snapshots\/[0-9a-f]{64}$/.test(name))
              timer = setTimeout(run.kill, delay);
          });
          const killed = await run.result;
          watcher.close();
          clearTimeout(timer);
          if (killed.signal === 'SIGKILL') row.killed = killed.timedOut ? 'HANG' : 'killed';
          else
            row.killed =
              judge('backup (before its kill point)', killed, row.problems) === 'ok' ? 'finished' : 'FAILED';
          if (killed.timedOut) totals.hangs++;

          // The chain is whole: the record made it or it did not; the snapshot was committed before the kill.
          const after = { records: records(), snapshots: snapshots() };
          row.verify = await verifyChain(row.problems);
          const appended = after.records - before.records;
          if (appended !== 0 && appended !== 1) {
            totals.crashes++;
            row.problems.push(`${appended} records appended by one killed backup`);
          }
          if (after.snapshots !== before.snapshots + 1) {
            totals.dataLost++;
            row.problems.push(`${after.snapshots - before.snapshots} snapshots committed, expected 1`);
          }
          row.snapshots = `records +${appended}`;

          // The next backup appends its record after whatever the killed one left (a git lock, a local ref).
          const next = await runCli(backupArgs, { cwd: root, env, timeoutMs: COMMAND_TIMEOUT_MS });
          row.next = judge('next backup', next, row.problems);
          if (row.next === 'ok') {
            const written = JSON.parse(next.stdout).evidence.written?.length ?? 0;
            if (written !== 1 || records() !== after.records + 1) {
              totals.crashes++;
              row.problems.push(
                `the next backup wrote ${written} records, the branch has ${records() - after.records} more`,
              );
            }
          }
          row.verify += `, ${await verifyChain(row.problems)}`;
        }
        const failures = rows.filter((r) => r.operation === 'evidence' && r.problems.length > 0);
        expect(failures.map((r) => `trial ${r.trial}: ${r.problems.join('; ')}`)).toEqual([]);
        expect(
          rows.filter((r) => r.operation === 'evidence' && r.killed === 'killed').length,
        ).toBeGreaterThan(EVIDENCE_TRIALS / 3);
      },
      60 * 60 * 1000,
    );
  });
});
