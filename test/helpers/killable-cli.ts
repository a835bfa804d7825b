import { type ChildProcess, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { CLI, type CliRun, collectRun } from './restorable-cli.ts';

/**
 * The built CLI as test/helpers/restorable-cli.ts runs it, but with the child in hand, so that a test can
 * SIGKILL it at a chosen moment (test/crash.test.ts), and optionally with its clock moved forward (to play a
 * run that starts after a killed holder's lock has expired, without waiting 30 minutes).
 */

export interface KillableOptions {
  cwd: string;
  /** Added to a clean environment (PATH and HOME only). */
  env?: Record<string, string>;
  /** Moves the child's `Date` forward by this much (Date.now() and `new Date()`). */
  clockShiftMs?: number;
  /** Killed (and reported with signal SIGKILL) after this long: a hang shows as a failure, not a stuck test. */
  timeoutMs?: number;
}

export interface KillableRun {
  readonly child: ChildProcess;
  /** Settles when the process has exited and its output is closed. */
  readonly result: Promise<CliRun & { timedOut: boolean }>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
  /** SIGKILL to the process and everything it started (its process group): what a cancelled runner does. */
  kill(): void;
  exited(): boolean;
}

// Preloaded with --import: a Date whose "now" is shifted. Only argument-less construction and Date.now() move.
const CLOCK_SHIFT = `const shift = Number(process.env.RESTORABLE_TEST_CLOCK_SHIFT_MS);
const Real = Date;
globalThis.Date = class ShiftedDate extends Real {
  constructor(...args) { if (args.length === 0) super(Real.now() + shift); else super(...args); }
  static now() { return Real.now() + shift; }
};`;

export function startCli(args: string[], options: KillableOptions): KillableRun {
  const started = performance.now();
  const shifted = options.clockShiftMs !== undefined && options.clockShiftMs !== 0;
  const nodeArgs = shifted ? ['--import', `data:text/javascript,${encodeURIComponent(CLOCK_SHIFT)}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...args], {
    cwd: options.cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      ...options.env,
      ...(shifted ? { RESTORABLE_TEST_CLOCK_SHIFT_MS: String(options.clockShiftMs) } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // A group of its own, so that a kill reaches its children (git, a command source) too.
    detached: true,
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  let done = false;
  let timedOut = false;
  const kill = () => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? 120_000);
  const result = collectRun(child, started, out, err, () => {
    done = true;
    clearTimeout(timer);
  }).then((run) => ({ ...run, timedOut }));
  return {
    child,
    result,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr: () => Buffer.concat(err).toString('utf8'),
    kill,
    exited: () => done || child.exitCode !== null || child.signalCode !== null,
  };
}

/** Runs the CLI to its end (with the options above). */
export function runCli(args: string[], options: KillableOptions): Promise<CliRun & { timedOut: boolean }> {
  return startCli(args, options).result;
}

/**
 * Counts file system events (creations, renames, removals) under `dir` and calls `onEvent` with the running
 * count and the name: "the Nth storage write" of a local repository, as seen from outside the process.
 */
export function watchWrites(dir: string, onEvent: (count: number, name: string) => void): FSWatcher {
  let count = 0;
  return watch(dir, { recursive: true }, (_type, name) => {
    count++;
    onEvent(count, String(name ?? ''));
  });
}
