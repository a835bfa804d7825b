import { parseDuration } from '../policy/duration.ts';
import { VERIFY_PLACEHOLDERS } from '../policy/load-policies.ts';
import { CommandError, expandArgv, OutputTail, runCommand } from '../sources/command.ts';

/**
 * A drill's verify steps: the policy's commands, run one after the other once the restore is verified. A
 * step passes when it exits with its expected code (0 by default) within its timeout; the first that does
 * not fails the drill and the steps after it are skipped, except those marked `always` (clean-up, such as
 * dropping a scratch database), which run whatever happened before them.
 */

export interface VerifyStep {
  name?: string;
  command: string[];
  timeout?: string;
  expectExitCode?: number;
  always?: boolean;
}

export type StepStatus = 'passed' | 'failed' | 'skipped';

export interface StepResult {
  name: string;
  /** The command as the policy wrote it (placeholders and `$NAME` unexpanded: no secret values). */
  command: string[];
  status: StepStatus;
  exitCode?: number;
  durationMs?: number;
  /** Why it failed (timeout, exit code, not found …). */
  message?: string;
  /** The end of its output (stdout, then stderr), secrets masked. */
  output?: string;
}

/** Values for the placeholders in verify commands, e.g. `restore.path`. */
export type Placeholders = Record<string, string>;

const PLACEHOLDER = new RegExp(
  `\\{(${VERIFY_PLACEHOLDERS.map((p) => p.replace('.', '\\.')).join('|')})\\}`,
  'g',
);
const OUTPUT_TAIL_BYTES = 2048;

/**
 * Fills the placeholders of one argument. Their values are escaped for the `$NAME` expansion that follows
 * (a `$` in a path stays a `$`); a `{…}` that is not a known placeholder is left as it is (SQL and shell
 * text use braces).
 */
export function fillPlaceholders(arg: string, values: Placeholders): string {
  return arg.replace(PLACEHOLDER, (match, name: string) => {
    const value = values[name];
    return value === undefined ? match : value.replaceAll('$', '$$$$');
  });
}

export interface StepOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  placeholders: Placeholders;
  /** The drill's deadline: a step that is running when it comes is stopped. */
  signal: AbortSignal;
  /** The restore failed: only the `always` steps run. */
  blocked?: boolean;
  /** Called as each step starts (for progress and for naming the step a timeout stopped). */
  onStart?: (name: string) => void;
}

export function stepName(step: VerifyStep, index: number): string {
  return step.name ?? `step ${index + 1} (${step.command[0] ?? ''})`;
}

export async function runSteps(steps: readonly VerifyStep[], options: StepOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let failed = options.blocked ?? false;
  for (const [index, step] of steps.entries()) {
    const name = stepName(step, index);
    if ((failed && !step.always) || (options.signal.aborted && !step.always)) {
      results.push({ name, command: step.command, status: 'skipped' });
      continue;
    }
    options.onStart?.(name);
    const result = await runStep(step, name, options);
    if (result.status === 'failed') failed = true;
    results.push(result);
  }
  return results;
}

async function runStep(step: VerifyStep, name: string, options: StepOptions): Promise<StepResult> {
  const started = performance.now();
  const result: StepResult = { name, command: step.command, status: 'failed' };
  const expected = step.expectExitCode ?? 0;
  const timeoutMs = step.timeout === undefined ? undefined : parseTimeout(step.timeout);
  const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
  let stderr = '';
  let exitCode: number | undefined;
  let failure: string | undefined;
  let secrets: string[] = [];
  try {
    // A clean-up step runs after the deadline too, under its own timeout only.
    const signal = step.always ? undefined : options.signal;
    const argv = step.command.map((arg) => fillPlaceholders(arg, options.placeholders));
    // The values `$NAME` brings in, to mask in the output kept (runCommand masks stderr itself).
    secrets = expandArgv(argv, options.env).secrets;
    const running = runCommand(argv, {
      env: options.env,
      cwd: options.cwd,
      killGraceMs: 5_000,
      ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      ...(signal ? { signal } : {}),
    });
    try {
      for await (const chunk of running.stdout) stdout.add(Buffer.from(chunk));
      exitCode = 0;
    } finally {
      stderr = running.stderrTail();
    }
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    exitCode = error.exitCode;
    stderr = error.stderrTail || stderr;
    if (error.reason !== 'exit') failure = error.message;
  }
  result.durationMs = Math.round(performance.now() - started);
  if (exitCode !== undefined) result.exitCode = exitCode;
  const output = [stdout.text(secrets), stderr].filter((text) => text !== '').join('\n');
  if (output !== '') result.output = output;
  if (failure !== undefined) {
    result.message = failure;
  } else if (exitCode === expected) {
    result.status = 'passed';
  } else {
    result.message = `exited with code ${exitCode}, expected ${expected}`;
  }
  return result;
}

function parseTimeout(text: string): number {
  const seconds = parseDuration(text);
  // The schema has checked it; a step that could never run is refused rather than left unbounded.
  if (seconds === undefined || seconds <= 0)
    throw new Error(`verify step timeout "${text}" is not a duration`);
  return seconds * 1000;
}
