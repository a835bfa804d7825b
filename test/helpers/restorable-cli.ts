import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { REPO_ROOT } from './run-node.ts';

export const CLI = join(REPO_ROOT, 'dist/cli.js');

export interface CliRun {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Standard output as bytes (empty when it went to `options.stdout`). */
  bytes: Buffer;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  cwd: string;
  /** Added to a clean environment (PATH and HOME only). */
  env?: Record<string, string>;
  /** Where standard output goes instead of memory (restore --stdout of a large file). */
  stdout?: Writable;
  timeoutMs?: number;
}

/**
 * Runs `node dist/cli.js …` as a user does: a real process, a clean environment, without blocking the test's
 * event loop (so servers in the test process keep answering).
 */
export function restorable(args: string[], options: CliOptions): Promise<CliRun> {
  return runScript(CLI, args, options);
}

/** Runs a Node.js script (the CLI, the Action's dist/index.js) the same way. */
export function runScript(script: string, args: string[], options: CliOptions): Promise<CliRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [script, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  if (options.stdout) child.stdout.pipe(options.stdout, { end: false });
  else child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  return collectRun(child, started, out, err, () => clearTimeout(timer));
}

/** What a child run gave once it has exited and its output is closed; `onClose` runs first. */
export function collectRun(
  child: ChildProcess,
  started: number,
  out: Buffer[],
  err: Buffer[],
  onClose: () => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => {
      onClose();
      const bytes = Buffer.concat(out);
      resolve({
        status,
        signal,
        stdout: bytes.toString('utf8'),
        bytes,
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - started,
      });
    });
  });
}

/** One entry of a directory tree as a restore must reproduce it. */
export interface ManifestEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  /** Modification time in whole microseconds since the epoch. */
  mtimeUs: bigint;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
}

/**
 * Every entry under `dir` (not `dir` itself), by path relative to it: type, permission bits, mtime to the
 * microsecond, owner, and the content's SHA-256 or the link's target. Files are hashed in memory unless
 * larger than 64 MiB (streamed).
 */
export async function treeManifest(dir: string): Promise<Map<string, ManifestEntry>> {
  const manifest = new Map<string, ManifestEntry>();
  const stack: string[] = [''];
  while (stack.length > 0) {
    const relative = stack.pop()!;
    const names = readdirSync(join(dir, relative)).sort();
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`;
      const absolute = join(dir, path);
      const stats = lstatSync(absolute, { bigint: true });
      const entry: ManifestEntry = {
        type: stats.isFile()
          ? 'file'
          : stats.isDirectory()
            ? 'dir'
            : stats.isSymbolicLink()
              ? 'symlink'
              : 'other',
        mode: Number(stats.mode & 0o7777n),
        mtimeUs: stats.mtimeNs / 1000n,
        uid: Number(stats.uid),
        gid: Number(stats.gid),
      };
      if (entry.type === 'file') {
        entry.size = Number(stats.size);
        entry.sha256 =
          stats.size > 64n * 1024n * 1024n
            ? await sha256File(absolute)
            : createHash('sha256').update(readFileSync(absolute)).digest('hex');
      } else if (entry.type === 'symlink') {
        entry.target = readlinkSync(absolute);
      } else if (entry.type === 'dir') {
        stack.push(path);
      }
      manifest.set(path, entry);
    }
  }
  return manifest;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}

/** The paths whose entries differ between two manifests, with both sides, for a readable failure. */
export function manifestDifferences(
  expected: Map<string, ManifestEntry>,
  actual: Map<string, ManifestEntry>,
  limit = 20,
): string[] {
  const differences: string[] = [];
  const show = (entry: ManifestEntry | undefined) =>
    entry === undefined
      ? 'missing'
      : JSON.stringify(entry, (_, value) => (typeof value === 'bigint' ? value.toString() : value));
  for (const path of new Set([...expected.keys(), ...actual.keys()])) {
    const a = show(expected.get(path));
    const b = show(actual.get(path));
    if (a !== b) differences.push(`${JSON.stringify(path)}: expected ${a}, got ${b}`);
    if (differences.length >= limit) break;
  }
  return differences;
}
