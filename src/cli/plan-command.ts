import { resolve } from 'node:path';
import { isPlanCommand, jobMatrix, PLAN_COMMANDS, planJobs, planSummary } from '../commands/plan-due.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

const OPTIONS = {
  root: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  system: { type: 'string', multiple: true },
  command: { type: 'string' },
  due: { type: 'boolean' },
  now: { type: 'string' },
  'evidence-remote': { type: 'string' },
} as const;

/**
 * `restorable plan [paths...] [--system NAME]... [--command backup|drill] [--due] [--now ISO]
 * [--evidence-remote NAME] [--json]`: the jobs to run as a GitHub Actions matrix, one line of JSON
 * (`{"include":[...]}`) on stdout; what is not planned, and why, on stderr. Needs no repository secret.
 * Exit 0 (also when nothing is due), 1 on a policy problem, 2 on a usage error.
 */
export async function planCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const command = values.command;
  if (command !== undefined && !isPlanCommand(command)) {
    throw new UsageError(`--command must be one of ${PLAN_COMMANDS.join(', ')}, not "${command}"`);
  }
  let now: Date | undefined;
  if (values.now !== undefined) {
    now = new Date(values.now);
    if (!/^\d{4}-\d\d-\d\dT/.test(values.now) || Number.isNaN(now.getTime())) {
      throw new UsageError(`--now takes an ISO 8601 time such as 2025-01-31T05:00:00Z, not "${values.now}"`);
    }
  }
  const plan = await planJobs({
    root: resolve(values.root ?? '.'),
    paths: positionals,
    ...(values.config !== undefined ? { config: values.config } : {}),
    systems: values.system ?? [],
    ...(command !== undefined ? { commands: [command] } : {}),
    due: values.due ?? false,
    ...(values['evidence-remote'] !== undefined ? { evidenceRemote: values['evidence-remote'] } : {}),
    ...(now !== undefined ? { now } : {}),
    env: io.env,
    log: io.err,
  });
  for (const job of plan.skipped) io.err(`${job.command} ${job.system}: not planned: ${job.reason}`);
  const count = (name: string) => plan.include.filter((job) => job.command === name).length;
  io.err(
    `plan${plan.due ? ' --due' : ''}: ${plan.include.length} job${plan.include.length === 1 ? '' : 's'} (${count('backup')} backup, ${count('drill')} drill) at ${plan.now}`,
  );
  if (values.json) {
    io.out.write(`${JSON.stringify(planSummary(plan), null, 2)}\n`);
  } else {
    io.out.write(`${JSON.stringify(jobMatrix(plan))}\n`);
  }
  return 0;
}
