import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setLongTimeout } from '../long-timeout.ts';
import { formatDuration } from '../policy/duration.ts';

/**
 * The command source: runs a program (`source.command`, such as pg_dump) and streams its standard output,
 * which the archiver stores as one file.
 *
 * - No shell: argv[0] is looked up in env.PATH and argv is passed as is, after `$NAME` / `${NAME}` are
 *   replaced from env (expandArgv). A policy that wants a pipeline writes `[sh, -c, "..."]`.
 * - Expanded values count as secrets: no message carries them; stderr quoted in an error has them masked.
 *   They do reach the child's command line, which other local users can read in /proc; a program that can
 *   take a secret from its environment (PGPASSWORD, or `sh -c '... "$$VAR"'`, where `$$` leaves `$VAR` for
 *   the shell to expand) keeps it off.
 * - Standard input is closed; stderr is read as it comes and only its last 2 KiB kept, for the error.
 * - The child leads a process group of its own, so a timeout or abort stops the whole pipeline under
 *   `sh -c`: SIGTERM to the group, then SIGKILL after killGraceMs.
 */

export interface CommandOptions {
  /** The child's whole environment, and where `$NAME` values come from. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Stop the command after this many milliseconds (policy `timeout`, via parseDuration × 1000). */
  timeoutMs?: number;
  /** Stops the command, as a timeout does. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL (default 10 s). */
  killGraceMs?: number;
}

export interface RunningCommand {
  /**
   * The command's standard output, with back-pressure: while the consumer does not ask for more, the
   * command blocks on a full pipe and memory stays bounded. Must be consumed, or the command never ends
   * (but for its timeout). Iteration ends by throwing the CommandError of `done` when the command fails,
   * so a consumer that reads to the end cannot mistake truncated output for the whole of it. Leaving the
   * iteration early stops the command.
   */
  stdout: AsyncIterable<Uint8Array>;
  /**
   * Resolves once the command has exited with code 0, not by a signal, and its output has ended;
   * rejects with a CommandError otherwise. It never goes unhandled when nobody awaits it.
   */
  done: Promise<void>;
  /** The last 2 KiB or so of stderr so far, secrets masked. */
  stderrTail: () => string;
}

export type CommandFailure =
  | 'unset-variable'
  | 'bad-reference'
  | 'spawn'
  | 'exit'
  | 'signal'
  | 'timeout'
  | 'aborted';

export class CommandError extends Error {
  readonly reason: CommandFailure;
  /** The command as the policy wrote it, before expansion (holds no secret values). */
  readonly command: readonly string[];
  readonly exitCode: number | undefined;
  readonly signal: NodeJS.Signals | undefined;
  /** The last 2 KiB or so of stderr, secrets masked; '' when there was none. */
  readonly stderrTail: string;

  constructor(
    reason: CommandFailure,
    command: readonly string[],
    message: string,
    details: { exitCode?: number; signal?: NodeJS.Signals; stderrTail?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'CommandError';
    this.reason = reason;
    this.command = command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail ?? '';
  }
}

const STDERR_TAIL_BYTES = 2048;
const DEFAULT_KILL_GRACE_MS = 10_000;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces `$NAME` and `${NAME}` in each argument by the value of NAME in env; `$$` is a literal `$`.
 * NAME is a letter or `_` followed by letters, digits and `_`. A `$` starting anything else, and a variable
 * that is not set, are errors (thrown as CommandError before anything runs). Set but empty is allowed.
 * Returns the values substituted (non-empty, longest first) as `secrets`, for maskSecrets.
 */
export function expandArgv(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): { argv: string[]; secrets: string[] } {
  const secrets = new Set<string>();
  const fail = (reason: CommandFailure, index: number, what: string): never => {
    throw new CommandError(
      reason,
      argv,
      `command ${describe(argv)}: argument ${index} (${JSON.stringify(argv[index])}) ${what}`,
    );
  };
  const expanded = argv.map((arg, index) =>
    arg.replace(
      /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|)/g,
      (match, braced?: string, bare?: string) => {
        if (match === '$$') return '$';
        const name = braced ?? bare;
        if (name === undefined) {
          return fail(
            'bad-reference',
            index,
            'has a `$` that starts no variable name: write `$$` for a literal `$`',
          );
        }
        if (!NAME.test(name)) {
          return fail(
            'bad-reference',
            index,
            `refers to ${JSON.stringify(match)}, which is not a variable name`,
          );
        }
        const value = env[name];
        if (value === undefined) return fail('unset-variable', index, `uses $${name}, which is not set`);
        if (value !== '') secrets.add(value);
        return value;
      },
    ),
  );
  return { argv: expanded, secrets: [...secrets].sort((a, b) => b.length - a.length) };
}

/** `text` with every occurrence of each secret replaced by `***` (longest secrets first). */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  let masked = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== '') masked = masked.replaceAll(secret, '***');
  }
  return masked;
}

/** `pg_dump ["pg_dump","--dbname=$URL"]`: the program and the unexpanded argv, for messages. */
function describe(argv: readonly string[]): string {
  return `${argv[0] ?? '(empty)'} ${JSON.stringify(argv)}`;
}

function formatTimeout(ms: number): string {
  return ms % 1000 === 0 ? formatDuration(ms / 1000) : `${ms}ms`;
}

/**
 * Starts `argv` (after expandArgv) with `options.env` as its whole environment. Throws a CommandError at once
 * for an empty argv, a bad or unset variable, or arguments spawn refuses (a NUL byte); every other failure
 * rejects `done`.
 */
export function runCommand(argv: readonly string[], options: CommandOptions): RunningCommand {
  if (argv.length === 0 || argv[0] === '') {
    throw new CommandError('spawn', argv, `command ${describe(argv)}: the program to run is empty`);
  }
  if (
    options.timeoutMs !== undefined &&
    !(Number.isSafeInteger(options.timeoutMs) && options.timeoutMs > 0)
  ) {
    throw new RangeError(
      `timeoutMs must be a positive whole number of milliseconds, got ${options.timeoutMs}`,
    );
  }
  const { argv: expanded, secrets } = expandArgv(argv, options.env);
  const command = [...argv];
  const failed = (
    reason: CommandFailure,
    what: string,
    details: { exitCode?: number; signal?: NodeJS.Signals; stderrTail?: string } = {},
  ): CommandError => {
    const tail = details.stderrTail ?? '';
    const stderr = tail === '' ? '' : `; stderr: ${tail.replace(/\s*\r?\n\s*/g, ' ⏎ ')}`;
    return new CommandError(
      reason,
      command,
      maskSecrets(`command ${describe(command)} ${what}${stderr}`, secrets),
      details,
    );
  };

  if (options.signal?.aborted) {
    const done = Promise.reject(failed('aborted', 'was aborted before it started'));
    done.catch(() => {});
    return { stdout: failedOutput(done), done, stderrTail: () => '' };
  }

  let child: ChildProcess;
  try {
    child = spawn(expanded[0]!, expanded.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
  } catch (error) {
    // Invalid arguments (a NUL byte, say). The error quotes them: keep only its code.
    const code = (error as NodeJS.ErrnoException).code ?? 'invalid arguments';
    throw failed('spawn', `could not be started: ${code}`);
  }
  const stderr = new OutputTail(STDERR_TAIL_BYTES);
  child.stderr!.on('data', (chunk: Buffer) => stderr.add(chunk));
  // A broken pipe shows in the exit status; an 'error' event without a listener would crash the process.
  child.stderr!.on('error', () => {});
  child.stdout!.on('error', () => {});
  // Listen from the start: Node resumes (and so discards) the output of a child that exits while nobody
  // listens, and the archiver may start reading only after a slow repository open or lock. A 'readable'
  // listener that reads nothing keeps the output buffered, and back-pressure as it was.
  child.stdout!.on('readable', () => {});

  const stopper = new Stopper(child, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  let stoppedFor: 'timeout' | 'aborted' | undefined;
  const stop = (why: 'timeout' | 'aborted') => {
    stoppedFor ??= why;
    stopper.stop();
    // Its output is worthless now, and nobody may be reading it: without this, 'close' (and `done`) would
    // wait for a consumer to drain the pipe.
    child.stdout?.destroy();
  };
  const timer =
    options.timeoutMs === undefined ? undefined : setLongTimeout(() => stop('timeout'), options.timeoutMs);
  const onAbort = () => stop('aborted');
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const done = new Promise<void>((resolve, reject) => {
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (error: NodeJS.ErrnoException) => {
      spawnError ??= error;
      // No 'close' follows when the process never started.
      if (child.pid === undefined) settle(null, null);
    });
    child.once('close', (code, signal) => settle(code, signal));

    let settled = false;
    function settle(code: number | null, signal: NodeJS.Signals | null): void {
      if (settled) return;
      settled = true;
      timer?.clear();
      options.signal?.removeEventListener('abort', onAbort);
      stopper.finished();
      const stderrTail = stderr.text(secrets);
      if (spawnError !== undefined && child.pid === undefined) {
        // No `cause`: Node's spawn error lists the expanded arguments (spawnargs), secrets included.
        reject(failed('spawn', `could not be started: ${spawnReason(spawnError, options.cwd)}`));
      } else if (stoppedFor === 'timeout') {
        reject(failed('timeout', `timed out after ${formatTimeout(options.timeoutMs!)}`, { stderrTail }));
      } else if (stoppedFor === 'aborted') {
        reject(failed('aborted', 'was aborted', { stderrTail }));
      } else if (signal !== null) {
        reject(failed('signal', `was killed by signal ${signal}`, { signal, stderrTail }));
      } else if (code !== 0) {
        reject(failed('exit', `exited with code ${code}`, { exitCode: code ?? undefined, stderrTail }));
      } else if (spawnError !== undefined) {
        reject(failed('spawn', `failed: ${spawnError.code ?? spawnError.message}`, { stderrTail }));
      } else {
        resolve();
      }
    }
  });
  done.catch(() => {});

  async function* output(): AsyncGenerator<Uint8Array> {
    let complete = false;
    try {
      for await (const chunk of child.stdout!) yield chunk as Buffer;
      complete = true;
    } catch (error) {
      // Stopped (timeout, abort): the stream was destroyed; `done` says why.
      if (stoppedFor === undefined) throw error;
    } finally {
      // Left early (break, or an error downstream): nobody reads any more, so stop the command.
      if (!complete) stop('aborted');
    }
    await done;
  }

  return { stdout: output(), done, stderrTail: () => stderr.text(secrets) };
}

/** Output that ends, at the first read, by throwing what `done` rejects with. */
function failedOutput(done: Promise<void>): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => done.then(() => ({ done: true as const, value: undefined })),
    }),
  };
}

function spawnReason(error: NodeJS.ErrnoException, cwd: string): string {
  if (error.code === 'ENOENT') {
    // spawn reports a missing working directory as a missing program.
    if (!existsSync(cwd)) return `the working directory ${cwd} does not exist`;
    return 'program not found (ENOENT); is it installed and on PATH?';
  }
  if (error.code === 'EACCES') return 'permission denied (EACCES); is the program executable?';
  return error.message;
}

/** The last bytes of a stream, in a buffer of bounded size. */
export class OutputTail {
  private readonly limit: number;
  private chunks: Buffer[] = [];
  private length = 0;
  private truncated = false;

  constructor(limit: number) {
    this.limit = limit;
  }

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.limit * 2) this.trim();
  }

  private trim(): void {
    const all = Buffer.concat(this.chunks);
    if (all.length > this.limit) this.truncated = true;
    const kept = Buffer.from(all.subarray(Math.max(0, all.length - this.limit)));
    this.chunks = [kept];
    this.length = kept.length;
  }

  /**
   * The tail as text with the secrets masked, `…` first when earlier output was dropped. Where the cut
   * fell inside a secret, the rest of that secret (a suffix, which masking would not recognise) goes too,
   * and so does a character cut in the middle.
   */
  text(secrets: readonly string[]): string {
    this.trim();
    let text = (this.chunks[0] ?? Buffer.alloc(0)).toString('utf8');
    if (!this.truncated) return maskSecrets(text, secrets).trim();
    text = text.replace(/^\uFFFD+/, '');
    let cut = 0;
    for (const secret of secrets) {
      for (let length = secret.length - 1; length > cut; length--) {
        if (text.startsWith(secret.slice(-length))) {
          cut = length;
          break;
        }
      }
    }
    return `…${maskSecrets(text.slice(cut), secrets).trimEnd()}`;
  }
}

/** Stops a process group: SIGTERM, then SIGKILL if it is still there after the grace period. */
class Stopper {
  private readonly child: ChildProcess;
  private readonly graceMs: number;
  private killTimer: NodeJS.Timeout | undefined;
  private done = false;

  constructor(child: ChildProcess, graceMs: number) {
    this.child = child;
    this.graceMs = graceMs;
  }

  stop(): void {
    if (this.done || this.killTimer !== undefined) return;
    this.signal('SIGTERM');
    this.killTimer = setTimeout(() => this.signal('SIGKILL'), this.graceMs);
  }

  finished(): void {
    this.done = true;
    if (this.killTimer !== undefined) clearTimeout(this.killTimer);
  }

  private signal(name: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, name); // the whole group: `sh -c` and what it started
    } catch {
      // ESRCH: the group is gone already.
    }
  }
}
