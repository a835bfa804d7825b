import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type SystemBackup } from '../src/commands/backup.ts';
import { type DrillRun, runDrill } from '../src/commands/drill.ts';
import { backendFor, openRepository } from '../src/commands/open-repository.ts';
import { planSystems } from '../src/commands/plan.ts';
import type { SystemDrill } from '../src/drill/drill.ts';
import { verifyRestoredTree } from '../src/drill/integrity.ts';
import { loadIndex } from '../src/engine/blob-index.ts';
import { BlobReader } from '../src/engine/blob-reader.ts';
import { type Node, readListing } from '../src/engine/listing.ts';
import { listSnapshots } from '../src/engine/snapshot.ts';
import {
  cleanTempDirs,
  type DrillBackend,
  localDrillBackend,
  makeTree,
  PASSPHRASE,
  type PolicySystem,
  s3DrillBackend,
  TREE,
  TREE_BYTES,
  TREE_FILES,
  tempDir,
  writePolicy,
} from './helpers/drill-fixture.ts';
import { type CliRun, restorable } from './helpers/restorable-cli.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './helpers/s3-server.ts';

// `restorable drill` end to end: real backups (runBackup), real drills (runDrill), real child processes for
// the verify steps, on a local directory repository and on S3 (s3rver on loopback).

const DAY = 86_400_000;
const BUCKET = 'drill';

let s3: S3Server;
let restoreCredentials: () => void;
beforeAll(async () => {
  restoreCredentials = useS3rverCredentials();
  s3 = await startS3Server([BUCKET]);
});
afterAll(async () => {
  await s3?.close();
  restoreCredentials?.();
});
afterEach(() => cleanTempDirs());

/** The environment of a run: the test's own (for PATH), the passphrase, and any extra. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, RESTORABLE_PASSPHRASE: PASSPHRASE, ...extra };
}

interface Workspace {
  root: string;
  /** Where the drills make their scratch directories. */
  scratch: string;
  /** Log lines of every run, for failure messages. */
  log: string[];
}

function newWorkspace(backend: DrillBackend, systems: PolicySystem[]): Workspace {
  const root = tempDir();
  writePolicy(root, backend.repository(root), systems);
  return { root, scratch: tempDir('restorable-drill-scratch-'), log: [] };
}

function rewritePolicy(ws: Workspace, backend: DrillBackend, systems: PolicySystem[]): void {
  writePolicy(ws.root, backend.repository(ws.root), systems);
}

async function backup(ws: Workspace, system: string, now?: Date): Promise<SystemBackup> {
  const [result] = await runBackup({
    root: ws.root,
    paths: ['policy.yaml'],
    systems: [system],
    env: env(),
    ...(now ? { now } : {}),
    log: (line) => ws.log.push(line),
  });
  expect(result, ws.log.join('\n')).toMatchObject({ system, status: 'ok' });
  return result!;
}

async function drill(
  ws: Workspace,
  system: string,
  options: { seed?: string; now?: Date; env?: Record<string, string>; keepScratch?: boolean } = {},
): Promise<SystemDrill> {
  const [result] = await runDrill({
    root: ws.root,
    paths: ['policy.yaml'],
    systems: [system],
    env: env(options.env),
    scratch: ws.scratch,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.keepScratch ? { keepScratch: true } : {}),
    log: (line) => ws.log.push(line),
  });
  expect(result?.status, ws.log.join('\n')).not.toBe('not-due');
  return result as Exclude<DrillRun, { status: 'not-due' }>;
}

/** The repository of the workspace's first system, opened as the drill opens it, with its index and snapshots. */
async function openRepo(ws: Workspace) {
  const [planned] = planSystems({ root: ws.root, paths: ['policy.yaml'] });
  const repo = await openRepository(await backendFor(ws.root, planned!.repositories[0]!.data), {
    root: ws.root,
    system: planned!.system,
    env: env(),
    create: false,
  });
  const index = await loadIndex(repo);
  const reader = new BlobReader(repo, index);
  const refs = await listSnapshots(repo, () => {});
  return { repo, index, reader, refs };
}

/** The drill's result in a failure message: what it says, not just that it failed. */
function shown(result: SystemDrill, ws?: Workspace): string {
  return `${JSON.stringify(result, null, 2)}${ws ? `\n--- log\n${ws.log.join('\n')}` : ''}`;
}

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/** The draw as docs describe it: SHA-256(seed, newline, the candidates' ids by time), first 6 bytes, mod n. */
function expectedDraw(seed: string, idsByTime: string[]): string {
  const digest = createHash('sha256')
    .update(`${seed}\n${idsByTime.join('\n')}`)
    .digest();
  return idsByTime[digest.readUIntBE(0, 6) % idsByTime.length]!;
}

/** Every 5-character piece of `secret`: none of them may show. */
function secretPieces(secret: string): string[] {
  const pieces: string[] = [];
  for (let i = 0; i + 5 <= secret.length; i++) pieces.push(secret.slice(i, i + 5));
  return pieces;
}

const backends: [string, DrillBackend][] = [
  ['local', localDrillBackend],
  ['s3', s3DrillBackend(() => s3.endpoint, BUCKET)],
];

describe.each(backends)('restorable drill on the %s backend', (_name, backend) => {
  it('drills a tree: restored, read back, measured, seen by the verify steps, scratch removed', async () => {
    const seen = join(tempDir(), 'seen.txt');
    const placeholders = join(tempDir(), 'placeholders.txt');
    const ws = newWorkspace(backend, [
      {
        name: 'files',
        source: { paths: ['data'] },
        rto: '5m',
        rpo: '1d',
        drill: {
          verify: [
            {
              name: 'look',
              command: [
                'sh',
                '-c',
                `cd {restore.path} && { find . -mindepth 1 -type d -printf '%p d %m\\n'; find . ! -type d -printf '%p %y %m %s %l\\n'; } | LC_ALL=C sort > ${seen}`,
              ],
            },
            { name: 'compare', command: ['cmp', '{restore.path}/data/big.bin', 'data/big.bin'] },
            {
              name: 'placeholders',
              command: [
                'sh',
                '-c',
                `printf '%s\\n' {snapshot.id} {snapshot.time} {system.name} {repository.name} {drill.id} {restore.path} "$$RESTORABLE_RESTORE_PATH" "$$RESTORABLE_SNAPSHOT_ID" "$$RESTORABLE_DRILL_ID" > ${placeholders}`,
              ],
            },
            // Clean-up does not count towards the RTO.
            { name: 'clean up', always: true, command: ['sleep', '0.4'] },
          ],
        },
      },
    ]);
    makeTree(ws.root);
    const made = await backup(ws, 'files');
    const snapshotId = made.repositories[0]!.snapshot;

    const started = performance.now();
    const result = await drill(ws, 'files');
    const wallMs = performance.now() - started;

    expect(result.status, shown(result, ws)).toBe('passed');
    expect(result.failures).toEqual([]);
    expect(result.repository).toBe('main');
    expect(result.snapshot?.id).toBe(snapshotId);
    expect(result.selection).toMatchObject({ algorithm: 'latest', candidates: 1 });
    expect(result.selection?.seed).toMatch(/^[0-9a-f]{16}$/);
    expect(result.restoreProblems).toEqual([]);
    expect(result.integrityProblems).toEqual([]);
    expect(result.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([
      ['look', 'passed', 0],
      ['compare', 'passed', 0],
      ['placeholders', 'passed', 0],
      ['clean up', 'passed', 0],
    ]);

    const m = result.measurements;
    expect(m).toMatchObject({
      verified: true,
      files: TREE_FILES,
      bytes: TREE_BYTES,
      symlinks: 1,
      dirs: Object.keys(TREE.dirs).length,
      rtoSeconds: 300,
      rpoSeconds: 86_400,
      timeoutSeconds: 300,
    });
    expect(m.snapshotAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(m.snapshotAgeSeconds).toBeLessThan(60);
    // The RTO clock runs from the drill's start to the end of the last verify step that is not clean-up:
    // at least the restore, the read-back and those steps, at most the drill's own wall time less clean-up.
    const [cleanUp] = result.steps.slice(-1);
    const stepsMs = result.steps.slice(0, -1).reduce((total, step) => total + (step.durationMs ?? 0), 0);
    expect(m.restoreMs).toBeGreaterThan(0);
    expect(m.integrityMs).toBeGreaterThanOrEqual(0);
    expect(cleanUp!.durationMs).toBeGreaterThanOrEqual(350);
    expect(m.restoreDurationMs).toBeGreaterThanOrEqual(m.restoreMs! + m.integrityMs! + stepsMs - 3);
    expect(m.restoreDurationMs! + cleanUp!.durationMs!).toBeLessThanOrEqual(Math.ceil(wallMs) + 2);
    expect(Date.parse(result.finishedAt) - Date.parse(result.startedAt)).toBeGreaterThanOrEqual(
      m.restoreDurationMs! - 5,
    );

    // What the verify step saw in {restore.path}: every node, with its type, mode, size and link target.
    expect(readFileSync(seen, 'utf8').split('\n').slice(0, -1)).toEqual(
      [
        ...Object.entries(TREE.dirs).map(([dir, mode]) => `./${dir} d ${mode.toString(8)}`),
        ...Object.entries(TREE.files).map(
          ([path, file]) => `./${path} f ${file.mode.toString(8)} ${Buffer.byteLength(file.content)} `,
        ),
        `./${TREE.big.path} f ${TREE.big.mode.toString(8)} ${TREE.big.size} `,
        `./${TREE.link.path} l 777 ${TREE.link.target.length} ${TREE.link.target}`,
      ].sort(),
    );
    const [id, time, system, repository, drillId, path, envPath, envId, envDrill] = readFileSync(
      placeholders,
      'utf8',
    )
      .trimEnd()
      .split('\n');
    expect([id, time, system, repository, drillId]).toEqual([
      snapshotId,
      result.snapshot!.time,
      'files',
      'main',
      result.drillId,
    ]);
    expect(result.drillId).toMatch(/^[0-9a-f]{8}$/);
    expect(path!.startsWith(join(ws.scratch, 'restorable-drill-files-'))).toBe(true);
    expect([envPath, envId, envDrill]).toEqual([path, snapshotId, result.drillId]);

    // The scratch directory (with its 0555 directory) is gone.
    expect(existsSync(path!)).toBe(false);
    expect(readdirSync(ws.scratch)).toEqual([]);
  });

  it('drills a command source: {restore.file} is the restored output, byte for byte', async () => {
    const lines = 500_000;
    const expected = Array.from({ length: lines }, (_, i) => `${i + 1}\n`).join('');
    const ws = newWorkspace(backend, [
      {
        name: 'dump',
        source: { command: ['sh', '-c', `seq 1 ${lines}`] },
        rto: '10m',
        drill: {
          verify: [
            { name: 'same as seq', command: ['sh', '-c', `seq 1 ${lines} | cmp - {restore.file}`] },
            // cmp does compare: one line more differs.
            {
              name: 'differs from more',
              command: ['sh', '-c', `seq 1 ${lines + 1} | cmp -s - {restore.file}`],
              expectExitCode: 1,
            },
            { name: 'hash', command: ['sha256sum', '{restore.file}'] },
          ],
        },
      },
    ]);
    const made = await backup(ws, 'dump');
    expect(made.repositories[0]!.summary).toMatchObject({ files: 1, bytes: expected.length });

    const result = await drill(ws, 'dump');
    expect(result.status, shown(result, ws)).toBe('passed');
    expect(result.steps.map((s) => [s.name, s.status, s.exitCode])).toEqual([
      ['same as seq', 'passed', 0],
      ['differs from more', 'passed', 1],
      ['hash', 'passed', 0],
    ]);
    expect(result.steps[2]!.output).toMatch(
      new RegExp(`^${sha256(expected)}  ${ws.scratch}/restorable-drill-dump-[^/]+/dump\\.out$`),
    );
    expect(result.measurements).toMatchObject({ verified: true, files: 1, bytes: expected.length });
    expect(readdirSync(ws.scratch)).toEqual([]);
  });

  it('selects the latest, or at random within the window from a seed, and says when the window is empty', async () => {
    const T = Date.now();
    const times = [new Date(T - 20 * DAY), new Date(T - 10 * DAY), new Date(T - 2 * 3600_000)];
    const readGeneration = { name: 'generation', command: ['cat', '{restore.path}/data/generation.txt'] };
    const system = (select: NonNullable<PolicySystem['drill']>['select']): PolicySystem => ({
      name: 'sel',
      source: { paths: ['data'] },
      drill: { select, verify: [readGeneration] },
    });
    const ws = newWorkspace(backend, [system({ algorithm: 'latest' })]);
    const ids: string[] = [];
    for (const [i, time] of times.entries()) {
      if (i === 0) makeSmallData(ws.root);
      writeFileSync(join(ws.root, 'data', 'generation.txt'), `generation ${i}`);
      ids.push((await backup(ws, 'sel', time)).repositories[0]!.snapshot);
    }
    expect(new Set(ids).size).toBe(3);

    const latest = await drill(ws, 'sel', { now: new Date(T) });
    expect(latest.status, shown(latest, ws)).toBe('passed');
    expect(latest.snapshot).toEqual({ id: ids[2], time: times[2]!.toISOString() });
    expect(latest.selection).toMatchObject({ algorithm: 'latest', candidates: 3 });
    expect(latest.steps[0]!.output).toBe('generation 2');

    rewritePolicy(ws, backend, [system({ algorithm: 'random-within', window: '15d' })]);
    // Seeds that draw each of the two snapshots inside the window (the oldest is outside).
    const inWindow = [ids[1]!, ids[2]!];
    const seedFor = (wanted: string) => {
      for (let n = 0; ; n++) {
        const seed = n.toString(16).padStart(16, '0');
        if (expectedDraw(seed, inWindow) === wanted) return seed;
      }
    };
    for (const [i, wanted] of inWindow.entries()) {
      const seed = seedFor(wanted);
      const result = await drill(ws, 'sel', { now: new Date(T), seed });
      expect(result.status, shown(result, ws)).toBe('passed');
      expect(result.selection).toEqual({
        algorithm: 'random-within',
        windowSeconds: 15 * 86_400,
        seed,
        candidates: 2,
      });
      expect(result.snapshot).toEqual({ id: wanted, time: times[i + 1]!.toISOString() });
      // The snapshot restored is the one recorded.
      expect(result.steps[0]!.output).toBe(`generation ${i + 1}`);
    }
    // The same seed, the same draw; a fresh seed, recorded, draws inside the window too.
    const again = await drill(ws, 'sel', { now: new Date(T), seed: seedFor(ids[1]!) });
    expect(again.snapshot?.id).toBe(ids[1]);
    const fresh = await drill(ws, 'sel', { now: new Date(T) });
    expect(fresh.selection?.seed).toMatch(/^[0-9a-f]{16}$/);
    expect(fresh.snapshot?.id).toBe(expectedDraw(fresh.selection!.seed, inWindow));

    // A month later, nothing lies in the 15-day window.
    const late = await drill(ws, 'sel', { now: new Date(T + 30 * DAY) });
    expect(late.status).toBe('failed');
    expect(late.failures).toEqual([
      `no snapshot of sel was taken within the drill's window of 15d: the newest, ${ids[2]!.slice(0, 8)}, is from ${times[2]!.toISOString()}`,
    ]);
    expect(late.snapshot).toBeUndefined();
    expect(late.steps).toEqual([{ ...readGeneration, status: 'skipped' }]);
    expect(readdirSync(ws.scratch)).toEqual([]);
  });

  it('fails on a damaged pack, names it, skips the verify steps and still runs the clean-up step', async () => {
    const markers = tempDir();
    const ws = newWorkspace(backend, [
      {
        name: 'files',
        source: { paths: ['data'] },
        rto: '5m',
        drill: {
          verify: [
            { name: 'check', command: ['touch', join(markers, 'check-ran')] },
            {
              name: 'clean up',
              always: true,
              command: ['sh', '-c', `echo {system.name} {drill.id} > ${join(markers, 'clean-up-ran')}`],
            },
          ],
        },
      },
    ]);
    makeTree(ws.root);
    await backup(ws, 'files');
    const healthy = await drill(ws, 'files');
    expect(healthy.status, shown(healthy, ws)).toBe('passed');
    rmSync(join(markers, 'check-ran'));

    const pack = await backend.damagePack(ws.root);
    expect(pack).toMatch(/^[0-9a-f]{64}$/);
    const result = await drill(ws, 'files');
    expect(result.status, shown(result, ws)).toBe('failed');
    expect(result.measurements.verified).toBe(false);
    expect(result.failures[0], shown(result)).toContain(pack);
    expect(result.failures[0]).toMatch(/damaged/);
    expect(result.steps.map((s) => [s.name, s.status])).toEqual([
      ['check', 'skipped'],
      ['clean up', 'passed'],
    ]);
    expect(existsSync(join(markers, 'check-ran'))).toBe(false);
    expect(readFileSync(join(markers, 'clean-up-ran'), 'utf8')).toBe(`files ${result.drillId}\n`);
    expect(readdirSync(ws.scratch)).toEqual([]);
  });

  it('runs the clean-up step when the restore cannot even read the snapshot listing', async () => {
    const markers = tempDir();
    const ws = newWorkspace(backend, [
      {
        name: 'listed',
        source: { paths: ['data'] },
        drill: {
          verify: [
            { name: 'check', command: ['touch', join(markers, 'check-ran')] },
            { name: 'clean up', always: true, command: ['touch', join(markers, 'clean-up-ran')] },
          ],
        },
      },
    ]);
    makeSmallData(ws.root);
    await backup(ws, 'listed');
    const { index, refs } = await openRepo(ws);
    const treeBlob = refs[0]!.snapshot.tree[0]!;
    const at = index.get(treeBlob)!;
    await backend.damagePack(ws.root, at.pack, at.offset + Math.floor(at.length / 2) - 16);

    const result = await drill(ws, 'listed');
    expect(result.status).toBe('failed');
    expect(result.measurements.verified).toBe(false);
    expect(result.failures[0], shown(result, ws)).toContain(at.pack);
    expect(result.failures[0]).toContain(treeBlob);
    // "always: run this step even when the restore or an earlier step failed, or the drill ran out of time"
    expect(
      result.steps.map((s) => [s.name, s.status]),
      'the clean-up step must run after a failed restore',
    ).toEqual([
      ['check', 'skipped'],
      ['clean up', 'passed'],
    ]);
    expect(existsSync(join(markers, 'check-ran'))).toBe(false);
    expect(existsSync(join(markers, 'clean-up-ran'))).toBe(true);
    expect(readdirSync(ws.scratch)).toEqual([]);
  });

  it('lets a drill with a long RTO, and a step with a long timeout, run (timers beyond 24.8 days)', async () => {
    const ws = newWorkspace(backend, [
      {
        name: 'archive',
        source: { paths: ['data'] },
        rto: '30d',
        drill: { verify: [{ name: 'take a moment', command: ['sleep', '0.3'] }] },
      },
      {
        name: 'patient',
        source: { paths: ['data'] },
        rto: '5m',
        drill: { verify: [{ name: 'take a moment', command: ['sleep', '0.3'], timeout: '4w' }] },
      },
    ]);
    makeSmallData(ws.root);
    await backup(ws, 'archive');
    await backup(ws, 'patient');

    // Each is checked on its own (soft): one may fail for a reason the other does not share.
    const archive = await drill(ws, 'archive');
    expect.soft(archive.failures, shown(archive, ws)).toEqual([]);
    expect.soft(archive.measurements).toMatchObject({
      verified: true,
      rtoSeconds: 30 * 86_400,
      timeoutSeconds: 30 * 86_400,
    });
    expect.soft(archive.steps).toMatchObject([{ name: 'take a moment', status: 'passed', exitCode: 0 }]);

    const patient = await drill(ws, 'patient');
    expect.soft(patient.failures, shown(patient, ws)).toEqual([]);
    expect.soft(patient.steps).toMatchObject([{ name: 'take a moment', status: 'passed', exitCode: 0 }]);
    expect.soft(patient.steps[0]?.durationMs).toBeGreaterThanOrEqual(250);
  });

  it('fails on a verify step that fails, with its name and output, and skips the steps after it', async () => {
    const markers = tempDir();
    const steps = (expectExitCode?: number) => [
      {
        name: 'count rows',
        command: ['sh', '-c', 'echo expected 10 got 9 >&2; exit 3'],
        ...(expectExitCode !== undefined ? { expectExitCode } : {}),
      },
      { name: 'after', command: ['touch', join(markers, 'after-ran')] },
    ];
    const system = (expectExitCode?: number): PolicySystem => ({
      name: 'rows',
      source: { paths: ['data'] },
      drill: { verify: steps(expectExitCode) },
    });
    const ws = newWorkspace(backend, [system()]);
    makeSmallData(ws.root);
    await backup(ws, 'rows');

    const result = await drill(ws, 'rows');
    expect(result.status).toBe('failed');
    expect(result.measurements.verified).toBe(true);
    expect(result.failures).toEqual([
      'verify step "count rows" failed: exited with code 3, expected 0; output: expected 10 got 9',
    ]);
    expect(result.steps).toMatchObject([
      { name: 'count rows', status: 'failed', exitCode: 3, output: 'expected 10 got 9' },
      { name: 'after', status: 'skipped' },
    ]);
    expect(existsSync(join(markers, 'after-ran'))).toBe(false);

    rewritePolicy(ws, backend, [system(3)]);
    const passing = await drill(ws, 'rows');
    expect(passing.status, shown(passing, ws)).toBe('passed');
    expect(passing.steps).toMatchObject([
      { name: 'count rows', status: 'passed', exitCode: 3 },
      { name: 'after', status: 'passed', exitCode: 0 },
    ]);
    expect(existsSync(join(markers, 'after-ran'))).toBe(true);
  });

  it('stops at the deadline (the RTO) during a verify step, still cleans up, and fails a drill slower than the RTO', async () => {
    const markers = tempDir();
    const ws = newWorkspace(backend, [
      {
        name: 'slow',
        source: { paths: ['data'] },
        rto: '2s',
        drill: {
          verify: [
            { name: 'wait', command: ['sleep', '30'] },
            { name: 'after wait', command: ['touch', join(markers, 'after-wait')] },
            { name: 'clean up', always: true, command: ['touch', join(markers, 'clean-up')] },
          ],
        },
      },
      {
        name: 'over',
        source: { paths: ['data'] },
        rto: '1s',
        drill: { timeout: '10s', verify: [{ name: 'nap', command: ['sleep', '2'] }] },
      },
    ]);
    makeSmallData(ws.root);
    await backup(ws, 'slow');
    await backup(ws, 'over');

    const started = performance.now();
    const slow = await drill(ws, 'slow');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(8_000);
    expect(slow.status).toBe('failed');
    expect(slow.measurements).toMatchObject({ rtoSeconds: 2, timeoutSeconds: 2 });
    const timedOut =
      /^the drill ran past its timeout of 2s \(the RTO\) while running verify step "wait": stopped after (\d+\.\d) s$/.exec(
        slow.failures[0] ?? '',
      );
    expect(timedOut, shown(slow, ws)).not.toBeNull();
    const measured = Number(timedOut![1]);
    // The deadline and the measured time start together: stopped at 2 s, measured at 2 s or a little more (the kill).
    expect(measured).toBeGreaterThanOrEqual(2);
    expect(measured).toBeLessThanOrEqual(3);
    expect(slow.measurements.restoreDurationMs).toBeGreaterThanOrEqual(2_000);
    expect(slow.measurements.restoreDurationMs).toBeLessThanOrEqual(3_000);
    expect(slow.steps.map((s) => [s.name, s.status])).toEqual([
      ['wait', 'failed'],
      ['after wait', 'skipped'],
      ['clean up', 'passed'],
    ]);
    expect(slow.steps[0]!.durationMs).toBeLessThan(3_000);
    expect(existsSync(join(markers, 'after-wait'))).toBe(false);
    expect(existsSync(join(markers, 'clean-up'))).toBe(true);
    expect(readdirSync(ws.scratch)).toEqual([]);

    const over = await drill(ws, 'over');
    expect(over.status).toBe('failed');
    expect(over.steps).toMatchObject([{ name: 'nap', status: 'passed', exitCode: 0 }]);
    expect(over.measurements).toMatchObject({ verified: true, rtoSeconds: 1, timeoutSeconds: 10 });
    expect(over.failures, shown(over, ws)).toHaveLength(1);
    const slower = /^restoring and verifying took (\d+\.\d) s, longer than the RTO of 1s$/.exec(
      over.failures[0]!,
    );
    expect(slower, shown(over, ws)).not.toBeNull();
    expect(Number(slower![1])).toBeGreaterThanOrEqual(2);
    expect(Number(slower![1])).toBeLessThan(10);
    expect(Number(slower![1])).toBe(Number((over.measurements.restoreDurationMs! / 1000).toFixed(1)));
  });

  it('masks the values of $VARIABLES in a verify step: not in its output, its failure or the result', async () => {
    const secret = 'Zq7Xw3Kp9Vm2Rt8L';
    const ws = newWorkspace(backend, [
      {
        name: 'leaky',
        source: { paths: ['data'] },
        drill: {
          verify: [
            {
              name: 'echo the token',
              command: ['sh', '-c', 'echo "token=$DRILL_TOKEN"; echo "on stderr: $DRILL_TOKEN" >&2; exit 1'],
            },
          ],
        },
      },
      {
        name: 'leaky-long',
        source: { paths: ['data'] },
        drill: {
          verify: [
            {
              // 300 × 17 bytes on each stream: the 2 KiB tails are cut inside a copy of the token.
              name: 'echo the token a lot',
              command: [
                'sh',
                '-c',
                'for i in $$(seq 1 300); do printf "%s-" "$DRILL_TOKEN"; printf "%s-" "$DRILL_TOKEN" >&2; done; exit 1',
              ],
            },
          ],
        },
      },
    ]);
    makeSmallData(ws.root);
    await backup(ws, 'leaky');
    await backup(ws, 'leaky-long');

    const result = await drill(ws, 'leaky', { env: { DRILL_TOKEN: secret } });
    expect(result.status).toBe('failed');
    expect(result.steps[0]!.output).toBe('token=***\non stderr: ***');
    expect(result.steps[0]!.command).toEqual([
      'sh',
      '-c',
      'echo "token=$DRILL_TOKEN"; echo "on stderr: $DRILL_TOKEN" >&2; exit 1',
    ]);
    expect(result.failures).toEqual([
      'verify step "echo the token" failed: exited with code 1, expected 0; output: token=*** ⏎ on stderr: ***',
    ]);
    expect(JSON.stringify(result)).not.toContain(secret);

    const long = await drill(ws, 'leaky-long', { env: { DRILL_TOKEN: secret } });
    expect(long.status).toBe('failed');
    expect(long.steps[0]!.output).toContain('***-***-');
    expect(long.failures[0]).toContain('***-***-');
    const text = JSON.stringify(long);
    for (const piece of secretPieces(secret))
      expect(text, `"${piece}" of the secret shows`).not.toContain(piece);
  });

  it('runs two drills of one system at once: both pass, each in its own scratch space under its own id', async () => {
    const ids = join(tempDir(), 'ids.txt');
    const ws = newWorkspace(backend, [
      {
        name: 'files',
        source: { paths: ['data'] },
        rto: '5m',
        drill: {
          verify: [
            // Each drill appends its id and its scratch path while the other may be running.
            { name: 'note', command: ['sh', '-c', `echo {drill.id} {restore.path} >> ${ids}; sleep 0.3`] },
            { name: 'compare', command: ['cmp', '{restore.path}/data/big.bin', 'data/big.bin'] },
          ],
        },
      },
    ]);
    makeTree(ws.root);
    await backup(ws, 'files');

    const [a, b] = await Promise.all([drill(ws, 'files'), drill(ws, 'files')]);
    for (const result of [a!, b!]) {
      expect(result.status, shown(result, ws)).toBe('passed');
      expect(result.measurements).toMatchObject({ verified: true, files: TREE_FILES, bytes: TREE_BYTES });
    }
    expect(a!.drillId).not.toBe(b!.drillId);
    const lines = readFileSync(ids, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' '));
    expect(lines.map(([id]) => id).sort()).toEqual([a!.drillId, b!.drillId].sort());
    expect(new Set(lines.map(([, path]) => path)).size).toBe(2);
    // Both scratch directories are gone, and the repository holds no lock of theirs.
    expect(readdirSync(ws.scratch)).toEqual([]);
    const { repo } = await openRepo(ws);
    expect(await repo.backend.list('locks/')).toEqual([]);
  });

  it('reads a restore back: a changed byte, a missing file, a mode, a size and a link target are each named', async () => {
    const ws = newWorkspace(backend, [{ name: 'files', source: { paths: ['data'] }, drill: { verify: [] } }]);
    makeTree(ws.root);
    await backup(ws, 'files');
    const result = await drill(ws, 'files', { keepScratch: true });
    expect(result.status, shown(result, ws)).toBe('passed');
    const [kept] = readdirSync(ws.scratch);
    expect(kept).toMatch(/^restorable-drill-files-/);
    const target = join(ws.scratch, kept!);

    const { repo, index, reader, refs } = await openRepo(ws);
    const [ref] = refs;
    const nodes: Node[] = [];
    for await (const node of readListing(reader, ref!.snapshot.tree)) nodes.push(node);
    const check = () =>
      verifyRestoredTree(
        (async function* () {
          yield* nodes;
        })(),
        { target, idKey: repo.idKey, chunkLength: (id) => index.get(id)?.rawLength },
      );

    const clean = await check();
    expect(clean).toMatchObject({ files: TREE_FILES, bytes: TREE_BYTES, symlinks: 1, problems: [] });

    // One byte in the middle of the second chunk of the 4 MiB file.
    const big = nodes.find((node) => node.path === TREE.big.path)!;
    const lengths = big.content!.map((id) => index.get(id)!.rawLength);
    expect(lengths.length, 'the 4 MiB file is cut into several chunks').toBeGreaterThanOrEqual(2);
    const start = lengths[0]!;
    const end = start + lengths[1]! - 1;
    const middle = start + Math.floor(lengths[1]! / 2);
    const fd = openSync(join(target, TREE.big.path), 'r+');
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, middle);
    byte[0] = byte[0]! ^ 0x01;
    writeSync(fd, byte, 0, 1, middle);
    closeSync(fd);
    rmSync(join(target, 'data/sub/b.txt'));
    chmodSync(join(target, 'data/private.txt'), 0o600);
    appendFileSync(join(target, 'data/a.txt'), '!');
    rmSync(join(target, TREE.link.path));
    symlinkSync('a.txt', join(target, TREE.link.path));

    const damaged = await check();
    const byPath = Object.fromEntries(damaged.problems.map((p) => [p.path, p.message]));
    expect(byPath).toEqual({
      [TREE.big.path]: `differs from the snapshot in bytes ${start}–${end} (chunk 2 of ${lengths.length})`,
      'data/sub/b.txt': 'missing from the restore',
      'data/private.txt': 'has mode 600, the snapshot says 640',
      'data/a.txt': 'has 7 bytes, the snapshot says 6',
      [TREE.link.path]: 'points to "a.txt", the snapshot says "sub/b.txt"',
    });
    expect(damaged.problems).toHaveLength(5);
    expect(damaged.files).toBe(TREE_FILES - 4);
    expect(damaged.symlinks).toBe(0);
  });
});

describe('restorable drill (the CLI, dist/cli.js) on a local repository', () => {
  const run = (root: string, args: string[]): Promise<CliRun> =>
    restorable(['drill', ...args, '--root', root], {
      cwd: root,
      env: { RESTORABLE_PASSPHRASE: PASSPHRASE },
    });
  const described = (r: CliRun) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  it('exits 0 with --json when the drills pass, 1 when one fails, 2 on a bad seed; names a system without a drill', async () => {
    const root = tempDir();
    const scratch = tempDir('restorable-drill-scratch-');
    writePolicy(root, localDrillBackend.repository(root), [
      {
        name: 'good',
        source: { paths: ['data'] },
        rto: '5m',
        drill: { verify: [{ name: 'has one', command: ['test', '-f', '{restore.path}/data/one.txt'] }] },
      },
      {
        name: 'bad',
        source: { paths: ['data'] },
        drill: { verify: [{ name: 'has three', command: ['test', '-f', '{restore.path}/data/three.txt'] }] },
      },
      { name: 'plain', source: { paths: ['data'] } },
    ]);
    makeSmallData(root);
    const backedUp = await restorable(['backup', 'policy.yaml', '--root', root], {
      cwd: root,
      env: { RESTORABLE_PASSPHRASE: PASSPHRASE },
    });
    expect(backedUp.status, described(backedUp)).toBe(0);

    const good = await run(root, [
      'policy.yaml',
      '--system',
      'good',
      '--json',
      '--seed',
      '0123456789abcdef',
      '--scratch',
      scratch,
    ]);
    expect(good.status, described(good)).toBe(0);
    const json = JSON.parse(good.stdout) as { command: string; systems: SystemDrill[] };
    expect(json.command).toBe('drill');
    expect(json.systems).toHaveLength(1);
    expect(json.systems[0]).toMatchObject({
      system: 'good',
      status: 'passed',
      failures: [],
      repository: 'main',
      selection: { algorithm: 'latest', seed: '0123456789abcdef', candidates: 1 },
      measurements: { verified: true, files: 2, bytes: 8, rtoSeconds: 300 },
      steps: [{ name: 'has one', status: 'passed', exitCode: 0 }],
    });
    expect(readdirSync(scratch)).toEqual([]);

    const bad = await run(root, ['policy.yaml', '--system', 'bad', '--scratch', scratch]);
    expect(bad.status, described(bad)).toBe(1);
    expect(bad.stdout).toMatch(/^bad: snapshot [0-9a-f]{8} of .* from main \(the latest\)$/m);
    expect(bad.stdout).toContain(
      '  FAILED: verify step "has three" failed: exited with code 1, expected 0\n',
    );
    expect(readdirSync(scratch)).toEqual([]);

    const allJson = await run(root, ['policy.yaml', '--json', '--scratch', scratch]);
    expect(allJson.status, described(allJson)).toBe(1);
    expect((JSON.parse(allJson.stdout) as { systems: SystemDrill[] }).systems).toMatchObject([
      { system: 'good', status: 'passed' },
      { system: 'bad', status: 'failed', steps: [{ name: 'has three', status: 'failed', exitCode: 1 }] },
    ]);

    const seed = await run(root, ['policy.yaml', '--seed', 'xyz']);
    expect(seed.status, described(seed)).toBe(2);
    expect(seed.stderr).toContain('--seed takes the 16 hex digits a drill recorded, not "xyz"');
    expect(seed.stdout).toBe('');

    const plain = await run(root, ['policy.yaml', '--system', 'plain']);
    expect(plain.status, described(plain)).toBe(1);
    expect(plain.stderr).toContain(
      'restorable drill: system "plain" declares no drill (policy.yaml): add a `drill` section to its policy',
    );
    expect(plain.stdout).toBe('');
  });
});

/** A small data/ tree: two files. */
function makeSmallData(root: string): void {
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'data', 'one.txt'), 'one\n');
  writeFileSync(join(root, 'data', 'two.txt'), 'two\n');
}
