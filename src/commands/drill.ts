import { drillSystem, type SystemDrill } from '../drill/drill.ts';
import { checkSeed, newSeed } from '../drill/select.ts';
import type { RestoreTotals } from '../engine/restorer.ts';
import type { EvidenceState } from '../evidence/state.ts';
import { readState } from '../evidence/status.ts';
import { DEFAULT_EVIDENCE_BRANCH, loadConfig } from '../policy/config.ts';
import { cronPrevious, parseCron } from '../policy/cron.ts';
import { commandEnvironment } from './backup.ts';
import { backendFor, openRepository } from './open-repository.ts';
import { type PlannedSystem, planSystems } from './plan.ts';

export interface DrillCommandOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  systems?: readonly string[];
  /** Only systems whose drill schedule has come round since their last drill on the evidence branch. */
  due?: boolean;
  /** The evidence branch's remote, for --due (see readState). */
  evidenceRemote?: string | null;
  /** Repeat a draw: the seed a drill recorded (16 hex digits). Default: a fresh one per system. */
  seed?: string;
  scratch?: string;
  keepScratch?: boolean;
  env: NodeJS.ProcessEnv;
  now?: Date;
  log: (line: string) => void;
  onProgress?: (system: string, totals: RestoreTotals, expected: number) => void;
  /** Called with each system's result as soon as it is known (e.g. to append its evidence record). */
  onResult?: (result: DrillRun) => Promise<void>;
}

export type DrillRun =
  | (SystemDrill & { policy: string; file: string })
  | { system: string; policy: string; file: string; status: 'not-due'; message: string };

/**
 * `restorable drill`: the drill of every planned system that declares one (or those due). Systems named with
 * --system must declare one. One drill's failure does not stop the others.
 */
export async function runDrill(options: DrillCommandOptions): Promise<DrillRun[]> {
  const named = (options.systems ?? []).length > 0;
  const planned = planSystems(options).filter((item) => {
    if (item.system.drill !== undefined) return true;
    if (named) {
      throw new Error(
        `system "${item.system.name}" declares no drill (${item.file}): add a \`drill\` section to its policy`,
      );
    }
    return false;
  });
  if (planned.length === 0) throw new Error('no system in the policies declares a drill');
  if (options.seed !== undefined) checkSeed(options.seed);
  const now = () => options.now ?? new Date();
  const last = options.due ? await lastDrills(options) : undefined;
  const results: DrillRun[] = [];
  for (const item of planned) {
    const base = { system: item.system.name, policy: item.policy.metadata.name, file: item.file };
    const notDue = last ? whyNotDue(item, last, now()) : undefined;
    const result: DrillRun = notDue
      ? { ...base, status: 'not-due', message: notDue }
      : { ...base, ...(await drillOne(item, options, now)) };
    results.push(result);
    await options.onResult?.(result);
  }
  return results;
}

function drillOne(item: PlannedSystem, options: DrillCommandOptions, now: () => Date): Promise<SystemDrill> {
  return drillSystem(item.system, {
    root: options.root,
    repositories: item.repositories.map(({ name, data }) => ({
      name,
      open: async () =>
        openRepository(await backendFor(options.root, data), {
          root: options.root,
          system: item.system,
          env: options.env,
          create: false,
        }),
    })),
    env: commandEnvironment(options.env, item),
    seed: options.seed ?? newSeed(),
    now,
    ...(options.scratch !== undefined ? { scratch: options.scratch } : {}),
    ...(options.keepScratch ? { keepScratch: true } : {}),
    log: options.log,
    ...(options.onProgress
      ? { onRestoreProgress: (totals, expected) => options.onProgress!(item.system.name, totals, expected) }
      : {}),
  });
}

export interface LastDrills {
  /** Per system: when its newest drill record (passed or not) was written; empty when unknown. */
  times: Map<string, string>;
}

/** What `--due` knows from the evidence branch: its state.json, or why the last runs are unknown. */
export interface DueEvidence {
  state?: EvidenceState;
  /** Why nothing is known (no evidence branch configured, or it cannot be read): then everything is due. */
  unknown?: string;
  /** Said by readState, e.g. that the remote has no evidence branch yet. */
  notice?: string;
}

/** Reads the evidence branch's state.json for `--due` (drill, plan); never throws for an unreadable branch. */
export async function readDueEvidence(
  options: Pick<DrillCommandOptions, 'root' | 'config' | 'evidenceRemote' | 'env'>,
): Promise<DueEvidence> {
  const config = loadConfig(options.root, options.config);
  const evidence = config.data.evidence;
  if (evidence === undefined) {
    return {
      unknown:
        'no evidence branch is configured (the `evidence` section of the profile), so the last runs are unknown',
    };
  }
  const branch = evidence.branch ?? DEFAULT_EVIDENCE_BRANCH;
  try {
    const read = await readState(options.root, branch, options.evidenceRemote, options.env);
    return {
      ...(read.state !== undefined ? { state: read.state } : {}),
      ...(read.notice !== undefined ? { notice: read.notice } : {}),
    };
  } catch (error) {
    return { unknown: `the evidence branch ${branch} cannot be read (${(error as Error).message})` };
  }
}

/** The newest drill of each system in a state.json (none when there is none). */
export function lastDrillTimes(state: EvidenceState | undefined): LastDrills {
  const times = new Map<string, string>();
  for (const [name, kinds] of Object.entries(state?.systems ?? {})) {
    const time = kinds.drill?.last.time;
    if (time !== undefined) times.set(name, time);
  }
  return { times };
}

/** The newest drill of each system, from the evidence branch's state.json. */
async function lastDrills(options: DrillCommandOptions): Promise<LastDrills> {
  const read = await readDueEvidence(options);
  // Better a drill too many than one skipped: an unknown or unreadable branch makes every drill due.
  if (read.unknown !== undefined) options.log(`drill --due: ${read.unknown}: every drill is due`);
  return lastDrillTimes(read.state);
}

/** Undefined when the drill is due: no schedule, no drill yet, or the schedule fired after the last drill. */
export function whyNotDue(item: PlannedSystem, last: LastDrills, now: Date): string | undefined {
  const schedule = item.system.drill?.schedule;
  if (!schedule) return undefined;
  const parsed = parseCron(schedule);
  if (!parsed.ok) return undefined;
  const time = last.times.get(item.system.name);
  if (time === undefined) return undefined;
  const fired = cronPrevious(parsed.cron, now);
  if (Date.parse(time) < fired.getTime()) return undefined;
  return `last drill (${time}) is not older than the drill schedule's last time (${fired.toISOString()})`;
}
