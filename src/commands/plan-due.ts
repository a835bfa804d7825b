import type { EvidenceState } from '../evidence/state.ts';
import { cronPrevious, parseCron } from '../policy/cron.ts';
import { type LastDrills, lastDrillTimes, readDueEvidence, whyNotDue as whyDrillNotDue } from './drill.ts';
import { type PlannedSystem, planSystems } from './plan.ts';

/**
 * `restorable plan`: the backups and drills to run, as a GitHub Actions job matrix (`{"include": [...]}`), so
 * that each runs on its own runner (examples/workflows/scale-out.yml, docs/scale-out.md, decision 0023).
 *
 * The plan needs no repository secret: with `--due` it decides from the evidence branch's state.json alone,
 * never from the repositories. A backup is due when its system has no `schedule` (as `backup --due`), has no
 * successful backup on record, or its schedule fired after the newest successful backup's snapshot; a drill
 * by the rule of `drill --due`. Without an evidence branch (none configured, or unreadable), everything is due.
 */

export const PLAN_COMMANDS = ['backup', 'drill'] as const;
export type PlanCommand = (typeof PLAN_COMMANDS)[number];

export function isPlanCommand(value: string): value is PlanCommand {
  return (PLAN_COMMANDS as readonly string[]).includes(value);
}

/** One entry of the matrix: one job on one runner. */
export interface PlannedJob {
  command: PlanCommand;
  system: string;
  /** The repository the job reads first: a backup's system's first, the drill's own (or that first). */
  repository: string;
  /** A backup: every repository of its system (one pass writes them all); a drill: the one it restores from. */
  repositories: string[];
  /** The policy's metadata.name, and the file that declares it. */
  policy: string;
  file: string;
  /** Why it is planned. */
  reason: string;
}

/** What is not planned, and why (not due, or no drill declared). */
export interface SkippedJob {
  command: PlanCommand;
  system: string;
  policy: string;
  file: string;
  reason: string;
}

export interface PlanJobsOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  /** Only these systems (every one must exist). */
  systems?: readonly string[];
  /** Which kinds of job (default both). */
  commands?: readonly PlanCommand[];
  /** Only what is due by the evidence branch; else every backup and every declared drill. */
  due?: boolean;
  /** The evidence branch's remote (see readState). */
  evidenceRemote?: string | null;
  /** When the schedules are judged (default: now). */
  now?: Date;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface JobPlan {
  /** In policy order: every backup, then every drill. */
  include: PlannedJob[];
  skipped: SkippedJob[];
  due: boolean;
  now: string;
  /** With --due: why the evidence is unknown (then everything is due). */
  unknown?: string;
}

/** The plan as `--json` prints it and the Action's `summary-json` output holds. */
export function planSummary(plan: JobPlan) {
  return {
    command: 'plan' as const,
    due: plan.due,
    now: plan.now,
    count: plan.include.length,
    include: plan.include,
    skipped: plan.skipped,
    ...(plan.unknown !== undefined ? { unknown: plan.unknown } : {}),
  };
}

/** The matrix GitHub takes (`strategy.matrix: ${{ fromJSON(...) }}`): only `include`, optionally one command. */
export function jobMatrix(plan: Pick<JobPlan, 'include'>, command?: PlanCommand): { include: PlannedJob[] } {
  return { include: command ? plan.include.filter((job) => job.command === command) : plan.include };
}

export async function planJobs(options: PlanJobsOptions): Promise<JobPlan> {
  const planned = planSystems(options);
  const commands = new Set(options.commands?.length ? options.commands : PLAN_COMMANDS);
  const now = options.now ?? new Date();
  const due = options.due ?? false;
  let state: EvidenceState | undefined;
  let unknown: string | undefined;
  if (due) {
    const read = await readDueEvidence(options);
    state = read.state;
    unknown = read.unknown;
    // Better a run too many than one skipped: without evidence, everything is due.
    if (unknown !== undefined) options.log(`plan --due: ${unknown}: everything is due`);
    else if (state === undefined)
      options.log(`plan --due: ${read.notice ?? 'no evidence on record yet'}: everything is due`);
  }
  const lastDrills = lastDrillTimes(state);
  const include: PlannedJob[] = [];
  const skipped: SkippedJob[] = [];
  const base = (item: PlannedSystem) => ({
    system: item.system.name,
    policy: item.policy.metadata.name,
    file: item.file,
  });
  const job = (item: PlannedSystem, repository: string, repositories: string[]) => ({
    system: item.system.name,
    repository,
    repositories,
    policy: item.policy.metadata.name,
    file: item.file,
  });
  // Without --due, or without evidence, every job is planned for the same reason.
  const blanket: Verdict | undefined = !due
    ? { due: true, reason: 'planned without --due' }
    : unknown !== undefined
      ? { due: true, reason: 'the last runs are unknown (no evidence branch to read)' }
      : undefined;

  if (commands.has('backup')) {
    for (const item of planned) {
      const { due: isDue, reason } = blanket ?? backupVerdict(item, state, now);
      if (!isDue) {
        skipped.push({ command: 'backup', ...base(item), reason });
        continue;
      }
      const repositories = item.repositories.map((r) => r.name);
      include.push({ command: 'backup', ...job(item, repositories[0]!, repositories), reason });
    }
  }
  if (commands.has('drill')) {
    for (const item of planned) {
      const drill = item.system.drill;
      if (drill === undefined) {
        skipped.push({ command: 'drill', ...base(item), reason: 'declares no drill' });
        continue;
      }
      const { due: isDue, reason } = blanket ?? drillVerdict(item, lastDrills, now);
      if (!isDue) {
        skipped.push({ command: 'drill', ...base(item), reason });
        continue;
      }
      const repository = drill.repository ?? item.repositories[0]!.name;
      include.push({ command: 'drill', ...job(item, repository, [repository]), reason });
    }
  }
  return {
    include,
    skipped,
    due,
    now: now.toISOString(),
    ...(unknown !== undefined ? { unknown } : {}),
  };
}

interface Verdict {
  due: boolean;
  reason: string;
}

/** Due or not, and why, from the newest successful backup on the evidence branch. */
function backupVerdict(item: PlannedSystem, state: EvidenceState | undefined, now: Date): Verdict {
  const schedule = item.system.schedule;
  // As `backup --due`: a system without a schedule (which `check` flags) is backed up on every run.
  if (!schedule) return { due: true, reason: 'no schedule: due on every run (as `backup --due`)' };
  const parsed = parseCron(schedule);
  if (!parsed.ok) return { due: true, reason: `the schedule cannot be read (${parsed.error})` };
  const success = state?.systems[item.system.name]?.backup?.lastSuccess;
  const time = success?.snapshotTime ?? success?.time;
  if (time === undefined) return { due: true, reason: 'no successful backup on record' };
  const fired = cronPrevious(parsed.cron, now);
  if (Date.parse(time) < fired.getTime()) {
    return {
      due: true,
      reason: `the schedule fired at ${fired.toISOString()}, after the newest snapshot (${time})`,
    };
  }
  return {
    due: false,
    reason: `newest snapshot (${time}) is not older than the schedule's last time (${fired.toISOString()})`,
  };
}

/** Due or not, and why, by `drill --due`'s rule (whyNotDue in drill.ts); the reason for a due one is ours. */
function drillVerdict(item: PlannedSystem, last: LastDrills, now: Date): Verdict {
  const notDue = whyDrillNotDue(item, last, now);
  if (notDue !== undefined) return { due: false, reason: notDue };
  const schedule = item.system.drill?.schedule;
  if (!schedule)
    return { due: true, reason: 'the drill has no schedule: due on every run (as `drill --due`)' };
  const parsed = parseCron(schedule);
  if (!parsed.ok) return { due: true, reason: `the drill schedule cannot be read (${parsed.error})` };
  const time = last.times.get(item.system.name);
  if (time === undefined) return { due: true, reason: 'no drill on record' };
  return {
    due: true,
    reason: `the drill schedule fired at ${cronPrevious(parsed.cron, now).toISOString()}, after the last drill (${time})`,
  };
}
