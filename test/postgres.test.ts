import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from './helpers/postgres.ts';

const execFileAsync = promisify(execFile);

// Values COPY has to escape, and text beyond ASCII.
const TRICKY = ['Zürich – 東京 🐘', 'tab\there', 'line\nbreak', 'back\\slash', `quote ' "double"`, ',comma,'];

describe('throwaway PostgreSQL server (test/helpers/postgres.ts)', () => {
  let server: PostgresServer;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'restorable-pgdump-'));
    server = await startPostgres();
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const tool = (name: string, args: string[]) =>
    execFileAsync(join(server.bin, name), args, { env: { ...process.env, ...server.env } });

  /** Row count and a checksum of every row, per table, in `db`. */
  async function fingerprint(db: string): Promise<Record<string, string>> {
    const tables = (
      await server.psql(`select tablename from pg_tables where schemaname = 'public' order by 1`, db)
    ).split('\n');
    const result: Record<string, string> = {};
    for (const table of tables) {
      result[table] = await server.psql(
        `select count(*) || ' ' || coalesce(md5(string_agg(r::text, ',' order by r::text)), '-') from ${table} r`,
        db,
      );
    }
    return result;
  }

  it('round-trips pgbench data and unicode/NULL rows through pg_dump --format=custom and pg_restore', async () => {
    await tool('createdb', ['source']);
    await tool('pgbench', ['-i', '-q', '-s', '1', 'source']);
    const tricky = `array[${TRICKY.map((text) => `'${text.replaceAll("'", "''")}'`).join(', ')}]`;
    await server.psql(
      `create table t (id int primary key, name text not null, note text, amount numeric(12,2), at timestamptz);
       insert into t
         select i, 'ñandú ' || i || ' ' || (${tricky})[i % ${TRICKY.length} + 1],
                case when i % 7 = 0 then null else repeat('é', i % 13) end,
                case when i % 5 = 0 then null else i * 1.25 end,
                timestamptz '2024-01-01 00:00:00+00' + i * interval '1 hour'
         from generate_series(1, 400) i;`,
      'source',
    );

    const before = await fingerprint('source');
    expect(Object.keys(before)).toEqual([
      'pgbench_accounts',
      'pgbench_branches',
      'pgbench_history',
      'pgbench_tellers',
      't',
    ]);
    expect(before.pgbench_accounts).toMatch(/^100000 [0-9a-f]{32}$/);
    expect(before.pgbench_branches).toMatch(/^1 [0-9a-f]{32}$/);
    expect(before.pgbench_tellers).toMatch(/^10 [0-9a-f]{32}$/);
    expect(before.t).toMatch(/^400 [0-9a-f]{32}$/);
    expect(await server.psql('select count(*) from t where note is null', 'source')).toBe('57');

    const dump = join(dir, 'source.dump');
    await tool('pg_dump', ['--format=custom', `--file=${dump}`, 'source']);
    expect((await stat(dump)).size).toBeGreaterThan(10_000);

    await tool('createdb', ['scratch']);
    await tool('pg_restore', ['--exit-on-error', '--dbname=scratch', dump]);
    expect(await fingerprint('scratch')).toEqual(before);
    expect(await server.psql('select name from t where id = 1', 'scratch')).toBe(`ñandú 1 ${TRICKY[1]}`);
    expect(await server.psql('select name from t where id = 6', 'scratch')).toBe(`ñandú 6 ${TRICKY[0]}`);
    expect(
      await server.psql(`select conname from pg_constraint where conrelid = 't'::regclass`, 'scratch'),
    ).toBe('t_pkey');

    // A change after the dump must show up as a different fingerprint.
    await server.psql(`update t set note = 'changed' where id = 7`, 'scratch');
    expect((await fingerprint('scratch')).t).not.toBe(before.t);

    await tool('dropdb', ['scratch']);
    expect(await server.psql(`select count(*) from pg_database where datname = 'scratch'`)).toBe('0');
  });

  it('reports SQL errors with psql stderr', async () => {
    await expect(server.psql('select * from no_such_table')).rejects.toThrow(/no_such_table.*does not exist/);
  });
});
