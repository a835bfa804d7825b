import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** s3rver checks signatures against this fixed key pair. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface S3Server {
  /** `http://127.0.0.1:<port>`, for path-style addressing. */
  endpoint: string;
  close(): Promise<void>;
}

// Runs in the child: starts s3rver on a free loopback port, reports the port, and stops when stdin closes
// (so a test run that dies never leaves a server behind).
//
// s3rver 3.7.1 predates S3's conditional writes (2024): a PUT with \`If-None-Match: *\` must fail with 412
// PreconditionFailed when the key exists. The child adds that to s3rver's PUT handler, one PUT per key at a time
// so the check and the write are atomic, as they are in S3.
const CHILD = `
const [s3rverPath, directory, buckets] = process.argv.slice(1);
const S3rver = require(s3rverPath);
const { dirname, join } = require('node:path');
const objects = require(join(dirname(s3rverPath), 'controllers/object.js'));
const S3Error = require(join(dirname(s3rverPath), 'models/error.js'));
const putObject = objects.putObject;
const queues = new Map();
objects.putObject = (ctx) => {
  if (ctx.headers['if-none-match'] !== '*') return putObject(ctx);
  const key = ctx.params.bucket + '/' + ctx.params.key;
  const run = (queues.get(key) ?? Promise.resolve()).then(async () => {
    if (await ctx.store.existsObject(ctx.params.bucket, ctx.params.key)) {
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-None-Match',
      });
    }
    return putObject(ctx);
  });
  queues.set(key, run.catch(() => {}));
  return run;
};
new S3rver({
  address: '127.0.0.1', port: 0, silent: true, directory,
  configureBuckets: JSON.parse(buckets).map((name) => ({ name })),
}).run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

/**
 * A real S3 protocol server (s3rver) on loopback, on a free port, storing into a fresh temporary directory.
 *
 * It runs in a child process with OpenSSL's legacy provider: s3rver 3.7.1 encrypts ListObjectsV2 continuation
 * tokens with DES, which Node.js 24's OpenSSL 3 refuses otherwise, so every listing longer than one page
 * would fail with InternalError.
 */
export async function startS3Server(buckets: string[]): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'restorable-s3rver-'));
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '-e', CHILD, s3rverPath, directory, JSON.stringify(buckets)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  try {
    const port = await firstLine(child).then((line) => (JSON.parse(line) as { port: number }).port);
    let closing = false;
    // A server that dies under a test shows there as ECONNREFUSED only: say here why it died.
    child.on('exit', (code, signal) => {
      if (!closing) {
        process.stderr.write(
          `s3rver on port ${port} exited during the test (${signal ?? `code ${code}`}):\n${stderr}\n`,
        );
      }
    });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      async close() {
        closing = true;
        await stop(child);
        await rm(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop(child);
    await rm(directory, { recursive: true, force: true });
    throw new Error(`s3rver did not start: ${(error as Error).message}\n${stderr}`);
  }
}

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`it exited with code ${code}`);
  });
  try {
    return await Promise.race([once(lines, 'line').then(([line]) => String(line)), exited]);
  } finally {
    lines.close();
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

/** Points the SDK's default credential chain at s3rver's key pair; returns a function that restores the environment. */
export function useS3rverCredentials(): () => void {
  const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'] as const;
  const saved = names.map((name) => [name, process.env[name]] as const);
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
