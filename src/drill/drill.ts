import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadIndex } from '../engine/blob-index.ts';
import { BlobReader } from '../engine/blob-reader.ts';
import { type Node, readListing } from '../engine/listing.ts';
import { holdLocks } from '../engine/lock.ts';
import type { Repository } from '../engine/repository.ts';
import { type RestoreProblem, type RestoreTotals, restoreTree } from '../engine/restorer.ts';
import { listSnapshots } from '../engine/snapshot.ts';
import { setLongTimeout } from '../long-timeout.ts';
import { formatDuration, parseDuration } from '../policy/duration.ts';
import type { SystemData } from '../policy/model.ts';
import { type IntegrityReport, ReadBack } from './integrity.ts';
import { type Selection, selectSnapshot } from './select.ts';
import { runSteps, type StepResult, stepName } from './steps.ts';

/**
 * One drill of one system: choose a snapshot, restore it into scratch space, read the restore back against
 * the snapshot (integrity and completeness), run the policy's verify steps, and measure the whole against
 * the RTO, all under the drill's deadline (its timeout, by default the RTO). The scratch space is removed
 * afterwards, whatever happened.
 */

export type DrillStatus = 'passed' | 'failed';

export interface DrillMeasurements {
  /** From the start of the drill (opening the repository) to the end of the last verify step that is not clean-up. */
  restoreDurationMs?: number;
  /** The restore alone, and reading it back. */
  restoreMs?: number;
  integrityMs?: number;
  /** Whether every file, directory and symlink of the snapshot was restored as recorded. */
  verified: boolean;
  rtoSeconds?: number;
  rpoSeconds?: number;
  /** The snapshot's age when the drill began. */
  snapshotAgeSeconds?: number;
  timeoutSeconds?: number;
  files?: number;
  dirs?: number;
  symlinks?: number;
  bytes?: number;
}

export interface SystemDrill {
  system: string;
  status: DrillStatus;
  /** Every reason the drill failed, the first being the one reported. */
  failures: string[];
  repository?: string;
  snapshot?: { id: string; time: string };
  selection?: Omit<Selection, 'chosen'>;
  /** A random 8-hex-digit id of this run (the `{drill.id}` placeholder). */
  drillId: string;
  restoreProblems: RestoreProblem[];
  integrityProblems: IntegrityReport['problems'];
  steps: StepResult[];
  measurements: DrillMeasurements;
  startedAt: string;
  finishedAt: string;
}

export interface DrillOptions {
  root: string;
  /** The system's repositories, opened: the drill restores from its `drill.repository` (default the first). */
  repositories: { name: string; open: () => Promise<Repository> }[];
  /** The verify steps' environment (the runner's, less the tool's own secrets). */
  env: NodeJS.ProcessEnv;
  seed: string;
  now?: () => Date;
  /** Where scratch directories are made (default the system's temporary directory). */
  scratch?: string;
  /** Keep the scratch directory (for a look after a failure); its path is logged. */
  keepScratch?: boolean;
  log: (line: string) => void;
  onRestoreProgress?: (totals: RestoreTotals, expected: number) => void;
}

/** Problems listed in a drill's result; more are counted, not listed. */
export const MAX_LISTED_PROBLEMS = 20;

export async function drillSystem(system: SystemData, options: DrillOptions): Promise<SystemDrill> {
  const clock = options.now ?? (() => new Date());
  const started = clock();
  const drill = system.drill ?? {};
  const rto = system.rto === undefined ? undefined : parseDuration(system.rto);
  const rpo = system.rpo === undefined ? undefined : parseDuration(system.rpo);
  const timeout = (drill.timeout === undefined ? undefined : parseDuration(drill.timeout)) ?? rto;
  const result: SystemDrill = {
    system: system.name,
    status: 'failed',
    failures: [],
    drillId: randomBytes(4).toString('hex'),
    restoreProblems: [],
    integrityProblems: [],
    steps: [],
    measurements: { verified: false },
    startedAt: started.toISOString(),
    finishedAt: started.toISOString(),
  };
  const m = result.measurements;
  if (rto !== undefined) m.rtoSeconds = rto;
  if (rpo !== undefined) m.rpoSeconds = rpo;
  if (timeout !== undefined) m.timeoutSeconds = timeout;
  const fail = (why: string) => result.failures.push(why);

  // The clock runs from the start, as in an incident: opening the repository and finding the snapshot
  // are part of recovering. The deadline counts from the same moment, so the two always agree.
  const t0 = performance.now();
  const deadline = new AbortController();
  let phase = 'opening the repository';
  const timer =
    timeout === undefined
      ? undefined
      : setLongTimeout(() => deadline.abort(new DrillTimeout(phase)), timeout * 1000);
  let scratch: string | undefined;
  let placeholders: Record<string, string> | undefined;
  const timedOut = () => deadline.signal.aborted && deadline.signal.reason instanceof DrillTimeout;
  try {
    try {
      const wanted = drill.repository ?? options.repositories[0]?.name;
      const source = options.repositories.find((r) => r.name === wanted);
      if (!source)
        throw new Error(`the drill names repository "${wanted}", which ${system.name} does not use`);
      result.repository = source.name;
      const repo = await source.open();
      deadline.signal.throwIfAborted();

      phase = 'choosing a snapshot';
      const refs = (
        await listSnapshots(repo, (id, message) =>
          options.log(`${system.name}: snapshot ${id.slice(0, 8)} left out: ${message}`),
        )
      ).filter((ref) => ref.snapshot.system === system.name);
      const windowSeconds =
        drill.select?.window === undefined ? undefined : parseDuration(drill.select.window);
      const selection = selectSnapshot(
        refs,
        {
          algorithm: drill.select?.algorithm ?? 'latest',
          ...(windowSeconds !== undefined ? { windowSeconds } : {}),
        },
        started,
        options.seed,
        system.name,
      );
      const { chosen, ...recorded } = selection;
      result.selection = recorded;
      result.snapshot = { id: chosen.id, time: chosen.snapshot.time };
      m.snapshotAgeSeconds = Math.max(
        0,
        Math.round((started.getTime() - Date.parse(chosen.snapshot.time)) / 1000),
      );
      options.log(
        `${system.name}: drilling snapshot ${chosen.id.slice(0, 8)} of ${chosen.snapshot.time} from ${source.name} (${selection.algorithm}${selection.algorithm === 'random-within' ? `, 1 of ${selection.candidates}, seed ${selection.seed}` : ''})`,
      );

      scratch = mkdtempSync(join(resolve(options.scratch ?? tmpdir()), `restorable-drill-${system.name}-`));
      placeholders = {
        'restore.path': scratch,
        'snapshot.id': chosen.id,
        'snapshot.time': chosen.snapshot.time,
        'system.name': system.name,
        'repository.name': source.name,
        'drill.id': result.drillId,
      };
      if (chosen.snapshot.source.kind === 'command') {
        placeholders['restore.file'] = join(scratch, chosen.snapshot.source.filename);
      }
      phase = 'restoring';
      await restoreAndReadBack(repo, chosen.snapshot.tree, chosen.snapshot.summary.bytes, scratch, result, {
        signal: deadline.signal,
        onReadBack: () => {
          phase = 'reading the restore back';
        },
        ...(options.onRestoreProgress ? { onProgress: options.onRestoreProgress } : {}),
      });
    } catch (error) {
      if (!timedOut()) fail((error as Error).message);
    }

    // Once there is a restore to look at, the steps run; after a failure, only the clean-up ones.
    if (placeholders !== undefined) {
      phase = 'running the verify steps';
      result.steps = await runSteps(drill.verify ?? [], {
        env: {
          ...options.env,
          RESTORABLE_RESTORE_PATH: placeholders['restore.path']!,
          RESTORABLE_SNAPSHOT_ID: placeholders['snapshot.id']!,
          RESTORABLE_DRILL_ID: result.drillId,
        },
        cwd: options.root,
        placeholders,
        signal: deadline.signal,
        blocked: !m.verified || result.failures.length > 0 || timedOut(),
        onStart: (name) => {
          phase = `running verify step "${name}"`;
        },
      });
    } else {
      result.steps = (drill.verify ?? []).map((step, i) => ({
        name: stepName(step, i),
        command: step.command,
        status: 'skipped',
      }));
    }
    // To verified data: clean-up steps (`always`) do not count.
    m.restoreDurationMs = Math.round(
      performance.now() -
        t0 -
        result.steps.reduce(
          (total, step, i) => total + (drill.verify?.[i]?.always ? (step.durationMs ?? 0) : 0),
          0,
        ),
    );
    for (const step of result.steps) {
      if (step.status === 'failed') {
        fail(
          `verify step "${step.name}" failed: ${step.message}${step.output ? `; output: ${oneLine(step.output)}` : ''}`,
        );
      }
    }
  } finally {
    timer?.clear();
    if (scratch !== undefined) {
      if (options.keepScratch) options.log(`${system.name}: scratch directory kept: ${scratch}`);
      else {
        try {
          removeScratch(scratch);
        } catch (error) {
          // The drill's result stands; what is left behind is said, for whoever cleans the runner.
          options.log(
            `${system.name}: scratch directory ${scratch} could not be removed: ${(error as Error).message}`,
          );
        }
      }
    }
  }
  if (timedOut()) {
    const reason = deadline.signal.reason as DrillTimeout;
    result.failures.unshift(
      `the drill ran past its timeout of ${formatDuration(timeout!)}${drill.timeout === undefined ? ' (the RTO)' : ''} while ${reason.phase}: stopped after ${seconds(m.restoreDurationMs ?? timeout! * 1000)}`,
    );
  } else if (rto !== undefined && m.restoreDurationMs !== undefined && m.restoreDurationMs > rto * 1000) {
    fail(
      `restoring and verifying took ${seconds(m.restoreDurationMs)}, longer than the RTO of ${formatDuration(rto)}`,
    );
  }
  if (
    rpo !== undefined &&
    result.selection?.algorithm === 'latest' &&
    m.snapshotAgeSeconds !== undefined &&
    m.snapshotAgeSeconds > rpo
  ) {
    fail(
      `the newest snapshot was ${formatDuration(m.snapshotAgeSeconds)} old, older than the RPO of ${formatDuration(rpo)}`,
    );
  }
  result.status = result.failures.length === 0 ? 'passed' : 'failed';
  result.restoreProblems = result.restoreProblems.slice(0, MAX_LISTED_PROBLEMS);
  result.integrityProblems = result.integrityProblems.slice(0, MAX_LISTED_PROBLEMS);
  result.finishedAt = clock().toISOString();
  return result;
}

/** Restores the snapshot into `scratch` under a shared lock, then reads it back; fills in `result`. */
async function restoreAndReadBack(
  repo: Repository,
  tree: readonly string[],
  expected: number,
  scratch: string,
  result: SystemDrill,
  options: {
    signal: AbortSignal;
    onReadBack: () => void;
    onProgress?: (totals: RestoreTotals, expected: number) => void;
  },
): Promise<void> {
  const m = result.measurements;
  const started = performance.now();
  const locks = await holdLocks([repo], 'shared', { purpose: `drill ${result.system}` });
  let integrity: IntegrityReport;
  let readBack: ReadBack | undefined;
  let reader: BlobReader | undefined;
  try {
    const index = await loadIndex(repo);
    reader = new BlobReader(repo, index, { decodeThread: true });
    readBack = new ReadBack({
      target: scratch,
      idKey: repo.idKey,
      chunkLength: (id) => index.get(id)?.rawLength,
      signal: options.signal,
    });
    const restored = await restoreTree(reader, tree, scratch, {
      signal: options.signal,
      onFileRestored: (node: Node) => readBack!.add(node),
      ...(options.onProgress
        ? { onProgress: (totals: RestoreTotals) => options.onProgress!(totals, expected) }
        : {}),
    });
    m.restoreMs = Math.round(performance.now() - started);
    Object.assign(m, restored.totals);
    result.restoreProblems = restored.problems;
    options.onReadBack();
    integrity = await readBack.complete(readListing(reader, tree));
  } finally {
    await Promise.all([locks.release(), readBack?.close(), reader?.close()]);
  }
  m.integrityMs = integrity.durationMs;
  result.integrityProblems = integrity.problems;
  m.verified = integrity.problems.length === 0 && result.restoreProblems.length === 0;
  if (result.restoreProblems.length > 0) {
    result.failures.push(`the restore failed for ${describeProblems(result.restoreProblems)}`);
  }
  if (integrity.problems.length > 0) {
    result.failures.push(
      `the restored data differs from the snapshot: ${describeProblems(integrity.problems)}`,
    );
  }
}

class DrillTimeout extends Error {
  readonly phase: string;
  constructor(phase: string) {
    super(`the drill ran out of time while ${phase}`);
    this.name = 'DrillTimeout';
    this.phase = phase;
  }
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s*\r?\n\s*/g, ' ⏎ ');
  return flat.length > 300 ? `…${flat.slice(-300)}` : flat;
}

function describeProblems(problems: readonly { path: string; message: string }[]): string {
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
  return `${problems.length === 1 ? '1 path' : `${problems.length} paths`}: ${first!.path}: ${first!.message}${more}`;
}

/**
 * Removes the scratch directory, making read-only directories of the restored tree writable first (a
 * restore keeps modes such as 0555, under which their entries cannot be removed by a non-root user).
 */
export function removeScratch(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch {
    // EACCES under a read-only directory: open them up, then remove.
  }
  const open = (dir: string) => {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir)) {
      const child = join(dir, entry);
      if (lstatSync(child).isDirectory()) open(child);
    }
  };
  open(path);
  rmSync(path, { recursive: true, force: true });
}
