import { execFile } from 'node:child_process';
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { runCheck } from '../src/commands/check.ts';
import { type PostgresServer, startPostgres } from './helpers/postgres.ts';
import { type CliRun, restorable } from './helpers/restorable-cli.ts';
import { REPO_ROOT } from './helpers/run-node.ts';

// The drill of examples/drills/orders-postgres.yaml, end to end, as users will run it: a real PostgreSQL
// database (pgbench's tables plus tables of our own) dumped by the policy's `pg_dump --format=custom` source,
// then `restorable drill` (dist/cli.js in a real process) restores the snapshot, pg_restores it into a scratch
// database, runs examples/drills/verify-orders.sql against the values recorded at backup time and drops the
// scratch database. Then three failures: a damaged pack, data that differs, a drill slower than its RTO.
//
// The example writes to S3 under Object Lock with an offsite copy (what `check` asks for); the test runs the
// example's own source and drill steps, verbatim, with its repositories swapped for local directories.

const execFileAsync = promisify(execFile);
const EXAMPLE = 'examples/drills/orders-postgres.yaml';
const PASSPHRASE = 'a drill a week keeps the auditor at bay';

let pg: PostgresServer;
let root: string;
/** The fingerprint orders-fingerprint.sql printed at backup time: accounts, orders, checksum. */
let expected: Record<string, string>;
let repository: string;

/** Everything a drill or backup child process needs: the server, its client tools, the secrets. */
function childEnv(): Record<string, string> {
  return {
    ...pg.env,
    // The client tools that match the server (pg_dump, pg_restore, createdb, dropdb, psql).
    PATH: `${pg.bin}:${process.env.PATH ?? ''}`,
    RESTORABLE_PASSPHRASE: PASSPHRASE,
    ORDERS_DATABASE_URL: 'orders',
    ORDERS_EXPECTED_ACCOUNTS: expected.accounts!,
    ORDERS_EXPECTED_ORDERS: expected.orders!,
    ORDERS_EXPECTED_CHECKSUM: expected.checksum!,
  };
}

function cli(args: string[], env = childEnv()): Promise<CliRun> {
  return restorable([...args, '--root', root, '--no-evidence'], { cwd: root, env, timeoutMs: 60_000 });
}

function described(run: CliRun): string {
  return `exit ${run.status}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

/** The example policy with its repositories replaced by one local directory, and any other edits. */
function derivePolicy(
  name: string,
  repo: string,
  edit?: (doc: ReturnType<typeof parseDocument>) => void,
): string {
  const doc = parseDocument(readFileSync(join(REPO_ROOT, EXAMPLE), 'utf8'));
  doc.set('repositories', doc.createNode({ local: { local: { path: repo } } }));
  doc.setIn(['systems', 0, 'repositories'], doc.createNode(['local']));
  doc.setIn(['systems', 0, 'drill', 'repository'], 'local');
  edit?.(doc);
  writeFileSync(join(root, name), doc.toString());
  return name;
}

async function fingerprint(db: string): Promise<Record<string, string>> {
  // As orders-fingerprint.sql's header says to run it when the backup is taken.
  const { stdout } = await execFileAsync(
    join(pg.bin, 'psql'),
    ['-X', '-q', '-tA', '-F', ' ', `--dbname=${db}`, '-f', 'examples/drills/orders-fingerprint.sql'],
    { cwd: root, env: { ...process.env, ...pg.env } },
  );
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

async function scratchDatabases(): Promise<string> {
  return pg.psql(`select count(*) from pg_database where datname like 'drill\\_%'`);
}

interface StepJson {
  name: string;
  status: string;
  message?: string;
  output?: string;
  durationMs?: number;
}
interface DrillJson {
  system: string;
  status: string;
  failures: string[];
  drillId: string;
  snapshot?: { id: string };
  steps: StepJson[];
  restoreProblems: { path: string; message: string }[];
  integrityProblems: { path: string; message: string }[];
  measurements: { restoreDurationMs?: number; rtoSeconds?: number; verified: boolean; files?: number };
}

function drillJson(run: CliRun): DrillJson {
  const parsed = JSON.parse(run.stdout) as { command: string; systems: DrillJson[] };
  expect(parsed.command).toBe('drill');
  expect(parsed.systems).toHaveLength(1);
  return parsed.systems[0]!;
}

const STEPS = [
  'create a scratch database',
  'restore the dump',
  'row counts and checksum match the backup',
  'drop the scratch database',
];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'restorable-drill-pg-'));
  // What the example names relative to the repository root: its SQL, its runbook, the recipient key.
  cpSync(join(REPO_ROOT, 'examples/drills'), join(root, 'examples/drills'), { recursive: true });
  mkdirSync(join(root, 'examples/keys'), { recursive: true });
  cpSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), join(root, 'examples/keys/backup-ops.asc'));
  pg = await startPostgres();

  // Real data: pgbench's tables at scale 1 (100 000 accounts) and an orders schema of our own with
  // text beyond ASCII, NULLs, numerics, timestamps and a foreign key.
  const env = { ...process.env, ...pg.env };
  await execFileAsync(join(pg.bin, 'createdb'), ['orders'], { env });
  await execFileAsync(join(pg.bin, 'pgbench'), ['-i', '-q', '-s', '1', 'orders'], { env });
  await pg.psql(
    `create table customers (id int primary key, name text not null, email text, since date not null);
     insert into customers
       select i, (array['Zoë', 'Łukasz', '東京商事', 'O''Brien', 'tab	and "quotes"'])[i % 5 + 1] || ' ' || i,
              case when i % 9 = 0 then null else 'c' || i || '@example.com' end,
              date '2020-01-01' + i
       from generate_series(1, 500) i;
     create table orders (id bigint primary key, customer_id int not null references customers,
                          amount numeric(12, 2) not null, placed_at timestamptz not null, note text);
     insert into orders
       select i, i % 500 + 1, round((i * 7.31) % 1000, 2),
              timestamptz '2024-03-01 00:00:00+00' + i * interval '17 minutes',
              case when i % 4 = 0 then null else repeat('ñ', i % 11) end
       from generate_series(1, 2000) i;`,
    'orders',
  );
  expected = await fingerprint('orders');
  expect(expected.accounts).toBe('100000');
  expect(expected.orders).toBe('2000');
  expect(expected.checksum).toMatch(/^[0-9a-f]{32}$/);

  repository = join(root, 'repository');
  const backup = await cli(['backup', derivePolicy('orders.yaml', repository), '--json']);
  expect(backup.status, described(backup)).toBe(0);
}, 60_000);

afterAll(async () => {
  await pg?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe(`restorable drill of ${EXAMPLE}`, () => {
  it('the example passes check (S3 under Object Lock, an offsite copy, a drill within the RTO)', () => {
    const report = runCheck({ root: REPO_ROOT, paths: [EXAMPLE] });
    expect(report.findings.filter((f) => f.status === 'fail')).toEqual([]);
    expect(report.counts.problems).toBe(0);
    expect(report.failed).toBe(false);
  });

  it('restores the dump into a scratch database, finds the recorded counts and checksum, drops it', async () => {
    const run = await cli(['drill', 'orders.yaml', '--system', 'orders-db', '--json']);
    expect(run.status, described(run)).toBe(0);
    const drill = drillJson(run);
    expect(drill.status).toBe('passed');
    expect(drill.failures).toEqual([]);
    expect(drill.drillId).toMatch(/^[0-9a-f]{8}$/);
    expect(drill.measurements.verified).toBe(true);
    expect(drill.measurements.files).toBe(1);
    expect(drill.measurements.rtoSeconds).toBe(3600);
    expect(drill.steps.map((s) => [s.name, s.status])).toEqual(STEPS.map((name) => [name, 'passed']));
    expect(drill.steps[2]!.output).toContain('the restored database matches the backup');
    expect(await scratchDatabases()).toBe('0');
  });

  it('fails naming the damaged pack when a stored object is corrupted, and still drops the scratch database', async () => {
    const damaged = join(root, 'repository-damaged');
    cpSync(repository, damaged, { recursive: true });
    // The largest pack holds the dump's chunks: flip bytes in its middle.
    const packs = readdirSync(join(damaged, 'data'), { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name))
      .sort((a, b) => statSync(b).size - statSync(a).size);
    const pack = packs[0]!;
    const packId = basename(pack);
    const fd = openSync(pack, 'r+');
    try {
      const at = Math.floor(statSync(pack).size / 2);
      const bytes = Buffer.alloc(16);
      readSync(fd, bytes, 0, bytes.length, at);
      for (let i = 0; i < bytes.length; i++) bytes[i]! ^= 0xff;
      writeSync(fd, bytes, 0, bytes.length, at);
    } finally {
      closeSync(fd);
    }

    const policy = derivePolicy('orders-damaged.yaml', damaged);
    const text = await cli(['drill', policy]);
    expect(text.status, described(text)).toBe(1);
    expect(text.stdout).toContain('FAILED');
    expect(text.stdout).toContain(packId);

    const run = await cli(['drill', policy, '--json']);
    expect(run.status, described(run)).toBe(1);
    const drill = drillJson(run);
    expect(drill.status).toBe('failed');
    expect(drill.measurements.verified).toBe(false);
    expect(drill.failures[0]).toMatch(
      new RegExp(
        `^the restore failed for 1 path: orders\\.dump: .*blob [0-9a-f]{64} in data/[0-9a-f]{2}/${packId} is damaged`,
      ),
    );
    // Nothing is restored into a database from damaged data; only the clean-up runs.
    expect(drill.steps.map((s) => [s.name, s.status])).toEqual([
      [STEPS[0], 'skipped'],
      [STEPS[1], 'skipped'],
      [STEPS[2], 'skipped'],
      [STEPS[3], 'passed'],
    ]);
    expect(await scratchDatabases()).toBe('0');
  });

  it('fails with the verify query’s output when the restored data differs from what was recorded', async () => {
    // One order changes after the values were recorded, and the next backup takes it: the counts still
    // match, the checksum does not.
    await pg.psql(`update orders set amount = amount + 0.01 where id = 1234`, 'orders');
    const changed = await fingerprint('orders');
    expect(changed.orders).toBe(expected.orders);
    expect(changed.checksum).not.toBe(expected.checksum);
    const policy = derivePolicy('orders-changed.yaml', join(root, 'repository-changed'));
    const backup = await cli(['backup', policy]);
    expect(backup.status, described(backup)).toBe(0);

    const run = await cli(['drill', policy, '--json']);
    expect(run.status, described(run)).toBe(1);
    const drill = drillJson(run);
    expect(drill.status).toBe('failed');
    expect(drill.measurements.verified).toBe(true);
    expect(drill.steps.map((s) => [s.name, s.status])).toEqual([
      [STEPS[0], 'passed'],
      [STEPS[1], 'passed'],
      [STEPS[2], 'failed'],
      [STEPS[3], 'passed'],
    ]);
    const verify = drill.steps[2]!;
    expect(verify.message).toBe('exited with code 3, expected 0');
    // The SQL's own error, naming the value that differs, expected and found (read with \getenv, so
    // not masked as a `$VAR` of the command would be).
    const error = new RegExp(
      `ERROR: {2}the restored database differs from the backup: checksum: expected ${expected.checksum}, found ${changed.checksum}`,
    );
    expect(verify.output).toMatch(error);
    expect(verify.output).not.toMatch(/accounts: expected|orders: expected/);
    expect(drill.failures[0]).toMatch(
      /^verify step "row counts and checksum match the backup" failed: exited with code 3/,
    );
    expect(drill.failures[0]).toMatch(error);
    expect(await scratchDatabases()).toBe('0');
  });

  describe('slower than its RTO', () => {
    /** The example with an RTO of `rto` and, before its verify query, a step that sleeps in the scratch database. */
    const slowPolicy = (name: string, rto: string, sleep: number, timeout?: string) =>
      derivePolicy(name, repository, (doc) => {
        doc.setIn(['systems', 0, 'rto'], rto);
        if (timeout !== undefined) doc.setIn(['systems', 0, 'drill', 'timeout'], timeout);
        const verify = doc.getIn(['systems', 0, 'drill', 'verify']) as { items: unknown[] };
        verify.items.splice(
          2,
          0,
          doc.createNode({
            name: 'a slow check',
            command: ['psql', '-X', '--dbname=drill_{drill.id}', '-c', `select pg_sleep(${sleep})`],
          }),
        );
      });
    let stopped: DrillJson;

    it('is stopped at the RTO (its default timeout), fails with the time measured, and still drops the scratch database', async () => {
      // A step that keeps a session on the scratch database for 20 s: the deadline stops it, and the clean-up's
      // `dropdb --force` ends the session the stopped psql left behind in the server.
      const run = await cli(['drill', slowPolicy('orders-slow.yaml', '3s', 20), '--json']);
      expect(run.status, described(run)).toBe(1);
      expect(run.ms).toBeLessThan(15_000);
      stopped = drillJson(run);
      expect(stopped.status).toBe('failed');
      expect(stopped.measurements.rtoSeconds).toBe(3);
      const measured = stopped.measurements.restoreDurationMs!;
      expect(measured).toBeGreaterThan(1_000);
      expect(measured).toBeLessThan(10_000);
      expect(stopped.failures[0]).toMatch(
        /^the drill ran past its timeout of 3s \(the RTO\) while running verify step "(a slow check|restore the dump)": stopped after \d+\.\d s$/,
      );
      expect(stopped.failures[0]).toContain(`stopped after ${(measured / 1000).toFixed(1)} s`);
      const byName = Object.fromEntries(stopped.steps.map((s) => [s.name, s.status]));
      expect(byName[STEPS[2]!]).toBe('skipped');
      expect(byName[STEPS[3]!]).toBe('passed');
      expect(await scratchDatabases()).toBe('0');
    });

    it('reports, when stopped at its deadline, a measured time no shorter than that deadline', () => {
      // "ran past its timeout of 3s …: stopped after 2.8 s" contradicts itself: the deadline starts before the
      // repository is opened (key unwrapping, snapshot listing), the measured time only at the restore.
      expect(stopped, 'the drill above did not run').toBeDefined();
      expect(stopped.measurements.restoreDurationMs!).toBeGreaterThanOrEqual(3_000);
    });

    it('runs to the end under a longer timeout, then fails with the measured time, longer than the RTO', async () => {
      const run = await cli(['drill', slowPolicy('orders-slower.yaml', '2s', 2.5, '1m'), '--json']);
      expect(run.status, described(run)).toBe(1);
      const drill = drillJson(run);
      expect(drill.steps.map((s) => s.status)).toEqual(['passed', 'passed', 'passed', 'passed', 'passed']);
      const measured = drill.measurements.restoreDurationMs!;
      expect(measured).toBeGreaterThanOrEqual(2_500);
      expect(drill.failures).toEqual([
        `restoring and verifying took ${(measured / 1000).toFixed(1)} s, longer than the RTO of 2s`,
      ]);
      expect(await scratchDatabases()).toBe('0');
    });
  });
});
