import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Real git in temporary directories: bare remotes, clones, and plumbing for tests that tamper with branches. */

const dirs: string[] = [];

export const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

export function tempDir(prefix = 'restorable-git-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** Removes every directory made by tempDir, bareRemote and clone. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function git(
  cwd: string,
  args: readonly string[],
  options: { input?: string | Uint8Array; env?: Record<string, string> } = {},
): string {
  return execFileSync('git', args, {
    cwd,
    input: options.input,
    env: { ...process.env, ...GIT_ENV, ...options.env },
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  }).replace(/\n$/, '');
}

/** A new bare repository (the "remote"). */
export function bareRemote(): string {
  const dir = tempDir('restorable-remote-');
  git(dir, ['init', '--quiet', '--bare', '--initial-branch=main']);
  return dir;
}

/** A work tree with one commit on main, and `origin` pointing at `remote` when given. */
export function workTree(remote?: string): string {
  const dir = tempDir('restorable-work-');
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  git(dir, ['commit', '--quiet', '--allow-empty', '-m', 'initial']);
  if (remote) git(dir, ['remote', 'add', 'origin', remote]);
  return dir;
}

/** A clone of `remote` (which may be empty). */
export function clone(remote: string): string {
  const dir = tempDir('restorable-clone-');
  git(dir, ['clone', '--quiet', remote, '.']);
  return dir;
}

export interface GitHttpServer {
  /** e.g. http://127.0.0.1:41234 */
  origin: string;
  /** Every Authorization header received, one entry per request (several headers joined with " | "). */
  authorizations: string[];
  close(): Promise<void>;
}

/**
 * A loopback smart-HTTP git server: `git http-backend` behind a Node HTTP server that answers 401 unless the
 * request carries exactly one `Authorization: basic base64(x-access-token:TOKEN)` header, as GitHub does for
 * the token actions/checkout uses. Repositories are served from `projectRoot` (e.g. /r.git → projectRoot/r.git).
 */
export async function gitHttpServer(projectRoot: string, token: string): Promise<GitHttpServer> {
  const { createServer } = await import('node:http');
  const { spawn } = await import('node:child_process');
  const expected = `basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const authorizations: string[] = [];
  const server = createServer((req, res) => {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      if (req.rawHeaders[i]!.toLowerCase() === 'authorization') headers.push(req.rawHeaders[i + 1]!);
    }
    authorizations.push(headers.join(' | '));
    if (headers.length !== 1 || headers[0]!.toLowerCase() !== expected.toLowerCase()) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' }).end('unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const child = spawn('git', ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'x-access-token',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
        GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
      },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    req.pipe(child.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (started) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      started = true;
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else res.setHeader(name, value);
      }
      res.writeHead(status);
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => res.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${address.port}`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
