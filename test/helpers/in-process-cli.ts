import type { Writable } from 'node:stream';
import {
  backupCommand,
  type Io,
  keyCommand,
  repoCommand,
  restoreCommand,
  snapshotsCommand,
  UsageError,
} from '../../src/cli/engine-commands.ts';
import { pruneCommand } from '../../src/cli/prune-command.ts';

/**
 * The engine commands of the CLI run in this process, through the same handlers and with the same error
 * handling as src/cli.ts (a UsageError exits 2, any other error is printed on one line and exits 1). Much faster
 * than a child process, so a test can run every command against every damaged
 * repository; the error that reached the top is kept, so that a crash (a TypeError where a RepositoryError
 * belongs) is told apart from a refusal even though the CLI prints both as one line.
 */
export interface InProcessRun {
  status: number;
  stdout: string;
  stderr: string;
  /** The error that reached the top level, if any (the CLI prints its message and exits 1). */
  thrown?: unknown;
}

type Handler = (args: string[], io: Io) => Promise<number>;

const HANDLERS: Record<string, Handler> = {
  backup: backupCommand,
  snapshots: snapshotsCommand,
  restore: (args, io) => restoreCommand(args, io, discard()),
  repo: repoCommand,
  key: keyCommand,
  prune: pruneCommand,
};

function discard(): NodeJS.WritableStream {
  return { write: () => true, once: () => undefined } as unknown as Writable;
}

export async function runInProcess(argv: string[], env: Record<string, string>): Promise<InProcessRun> {
  const [command, ...rest] = argv;
  const handler = HANDLERS[command ?? ''];
  if (!handler) throw new Error(`runInProcess: no handler for ${command}`);
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: {
      write: (chunk: string | Uint8Array) => {
        out.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
      },
    } as unknown as NodeJS.WritableStream,
    err: (line) => err.push(`${line}\n`),
    env: { ...env },
  };
  let status: number;
  let thrown: unknown;
  try {
    status = await handler(rest, io);
  } catch (error) {
    thrown = error;
    if (error instanceof UsageError) {
      err.push(`restorable: ${error.message}\n`);
      status = 2;
    } else {
      err.push(`restorable ${command}: ${(error as Error).message}\n`);
      status = 1;
    }
  }
  return { status, stdout: out.join(''), stderr: err.join(''), ...(thrown !== undefined ? { thrown } : {}) };
}

/** JavaScript's own error classes: one of these reaching the top means a bug, not a refusal. */
const BUILTIN_ERRORS = new Set(['TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'EvalError']);

/** Messages V8 gives its own errors: in a command's output they betray a crash caught and printed as a refusal. */
const V8_MESSAGES =
  /Cannot read properties of|is not a function|is not iterable|Cannot convert .* to a BigInt|Unexpected token|is not valid JSON|Invalid array length|Maximum call stack|Invalid typed array length|out of range/;

/**
 * A JavaScript runtime message in the output (`Cannot convert x to a BigInt`): a bad value caught and
 * printed as it came, where the user deserves a sentence naming what is wrong. Not a crash, but a smell.
 */
export function rawRuntimeMessage(run: { stdout: string; stderr: string }): string | undefined {
  return V8_MESSAGES.exec(`${run.stdout}\n${run.stderr}`)?.[0];
}

/** Why a run counts as a crash (undefined when it does not): a stack trace, an internal error, a V8 error. */
export function crashOf(run: {
  status: number | null;
  stdout: string;
  stderr: string;
  thrown?: unknown;
}): string | undefined {
  const both = `${run.stdout}\n${run.stderr}`;
  if (run.thrown !== undefined && !(run.thrown instanceof Error))
    return `threw a non-error: ${String(run.thrown)}`;
  if (run.thrown instanceof Error && BUILTIN_ERRORS.has(run.thrown.name)) {
    return `${run.thrown.name}: ${run.thrown.message}`;
  }
  if (/^\s+at .+[:(]/m.test(both)) return 'stack trace in the output';
  if (both.includes('internal error')) return 'internal error';
  if (run.status !== 0 && run.status !== 1) return `exit status ${run.status} (documented: 0 or 1 here)`;
  return undefined;
}
