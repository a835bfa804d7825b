import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  /** Merge into a child's environment: psql, pg_dump, pg_restore, createdb, dropdb and pgbench then reach this server. */
  env: { PGHOST: string; PGPORT: string; PGUSER: string };
  /** The directory of the server's binaries (e.g. /usr/lib/postgresql/15/bin); its client tools match the server. */
  bin: string;
  /** Runs `sql` with psql in `db` (default `postgres`); returns the trimmed unaligned, tuples-only output. */
  psql(sql: string, db?: string): Promise<string>;
  /** Stops the server (immediate shutdown) and removes its directory. Call it in afterAll. */
  stop(): Promise<void>;
}

const SUPERUSER = 'postgres';
// util-linux puts runuser in /usr/sbin, which a PATH outside a login shell may lack.
const RUNUSER = ['/usr/sbin/runuser', '/sbin/runuser'].find((path) => existsSync(path)) ?? 'runuser';

/**
 * A throwaway PostgreSQL cluster: initdb into a fresh temporary directory, reachable only through a Unix socket
 * in that directory (no TCP), with durability off and trust authentication. Callers must `stop()` it in
 * afterAll; a process exit stops it as well, as a safety net.
 *
 * PostgreSQL refuses to run as root, so under root (as in CI) initdb and pg_ctl run as the `postgres` OS user
 * that Debian's package creates, and the directory is handed to that user.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findBinDir();
  const asUser = process.getuid?.() === 0 ? await postgresUser() : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'restorable-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  // The port only names the socket file here; a number no one uses keeps clusters (and their shared memory
  // keys) apart when test files run at once.
  const port = await freePort();
  // Under root, the cluster's programs run as the postgres OS user.
  const command = (tool: string, args: string[]): [string, string[]] =>
    asUser ? [RUNUSER, ['-u', SUPERUSER, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
  const server = (tool: string, args: string[]) => run(...command(tool, args), { cwd: dir });
  // The safety net for a process that exits without stop(): synchronous, as 'exit' handlers must be.
  const stopOnExit = () => {
    try {
      execFileSync(...command('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']), { stdio: 'ignore' });
    } catch {
      // not running
    }
    rmSync(dir, { recursive: true, force: true });
  };
  let started = false;
  try {
    if (asUser) await chown(dir, asUser.uid, asUser.gid);
    await server('initdb', [
      ...['-D', data, '-U', SUPERUSER, '--auth=trust', '--encoding=UTF8', '--locale=C'],
      ...['--no-sync', '--no-instructions'],
    ]);
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        `port = ${port}`,
        `listen_addresses = ''`,
        `unix_socket_directories = '${dir}'`,
        'fsync = off',
        'full_page_writes = off',
        'synchronous_commit = off',
      ].join('\n') + '\n',
    );
    started = true;
    process.on('exit', stopOnExit);
    await server('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '30']);
  } catch (error) {
    const serverLog = await readLog(log);
    process.off('exit', stopOnExit);
    if (started) stopOnExit();
    else await rm(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${(error as Error).message}${serverLog}`);
  }

  const env = { PGHOST: dir, PGPORT: String(port), PGUSER: SUPERUSER };
  return {
    env,
    bin,
    async psql(sql, db = 'postgres') {
      const args = ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql];
      const { stdout } = await run(join(bin, 'psql'), args, { env: { ...process.env, ...env } });
      return stdout.trim();
    },
    async stop() {
      try {
        await server('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        process.off('exit', stopOnExit);
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The newest version under /usr/lib/postgresql (Debian's layout), else what `pg_config --bindir` says. */
function findBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a) || b.localeCompare(a))
    : [];
  if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  try {
    const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
    if (existsSync(join(bindir, 'initdb')) && existsSync(join(bindir, 'pg_ctl'))) return bindir;
  } catch {
    // no pg_config
  }
  throw new Error(
    "No PostgreSQL server found (no /usr/lib/postgresql/*/bin/initdb): install Debian's `postgresql` package " +
      '(apt-get install postgresql; .ci/run does).',
  );
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const id = async (flag: string) => Number((await run('id', [flag, SUPERUSER])).stdout.trim());
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    throw new Error(
      `Running as root, and there is no \`${SUPERUSER}\` OS user to run PostgreSQL as (it refuses root): ` +
        "install Debian's `postgresql` package, which creates it (.ci/run does).",
    );
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function run(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${[file, ...args].join(' ')} failed: ${stderr.trim() || error.message}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

async function readLog(log: string): Promise<string> {
  try {
    return `\nserver log:\n${await readFile(log, 'utf8')}`;
  } catch {
    return '';
  }
}
