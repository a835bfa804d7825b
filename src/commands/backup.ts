import type { ArchiveEntry, ArchiveProgress } from '../engine/archiver.ts';
import { type BackupInput, type BackupResult, backupSystem } from '../engine/backup.ts';
import { CREDENTIAL_ENV } from '../engine/keyring.ts';
import type { Repository } from '../engine/repository.ts';
import { listSnapshots } from '../engine/snapshot.ts';
import { TOKEN_ENV } from '../evidence/credentials.ts';
import { SIGNING_ENV } from '../evidence/signing.ts';
import { cronPrevious, parseCron } from '../policy/cron.ts';
import { parseDuration } from '../policy/duration.ts';
import { runCommand } from '../sources/command.ts';
import { walkPaths } from '../sources/paths.ts';
import type { SourceEntry, SourceProblem } from '../sources/source.ts';
import { backendFor, openRepository, passphraseVariable } from './open-repository.ts';
import { type PlannedSystem, planSystems } from './plan.ts';

export interface BackupCommandOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  systems?: readonly string[];
  /** Only systems whose schedule has come round since their newest snapshot. */
  due?: boolean;
  env: NodeJS.ProcessEnv;
  now?: Date;
  log: (line: string) => void;
  onProgress?: (system: string, progress: ArchiveProgress) => void;
  /** Called with each system's result as soon as it is known (e.g. to append its evidence record). */
  onResult?: (result: SystemBackup) => Promise<void>;
}

export interface SystemBackup {
  system: string;
  policy: string;
  file: string;
  status: 'ok' | 'partial' | 'failed' | 'not-due';
  /** Why it failed, or why it was not due. */
  message?: string;
  repositories: (BackupResult & { name: string })[];
  problems: { path: string; message: string }[];
  /** When the system's run started and ended (ISO 8601, UTC). */
  startedAt: string;
  finishedAt: string;
}

/**
 * `restorable backup`: every planned system (or those due) into each of its repositories. One system's failure
 * does not stop the others; each result says what happened.
 */
export async function runBackup(options: BackupCommandOptions): Promise<SystemBackup[]> {
  const planned = planSystems(options);
  const results: SystemBackup[] = [];
  for (const item of planned) {
    const result = await backupOne(item, options);
    results.push(result);
    await options.onResult?.(result);
  }
  return results;
}

async function backupOne(item: PlannedSystem, options: BackupCommandOptions): Promise<SystemBackup> {
  const clock = () => options.now ?? new Date();
  const startedAt = clock().toISOString();
  const base = { system: item.system.name, policy: item.policy.metadata.name, file: item.file };
  const finish = (result: Omit<SystemBackup, 'startedAt' | 'finishedAt'>): SystemBackup => ({
    ...result,
    startedAt,
    finishedAt: clock().toISOString(),
  });
  // A command whose output nobody reads never ends: a backup that fails before (or while) reading it stops it.
  const abandon = new AbortController();
  try {
    const repos = await Promise.all(
      item.repositories.map(async ({ data }) =>
        openRepository(await backendFor(options.root, data), {
          root: options.root,
          system: item.system,
          env: options.env,
          create: true,
          log: options.log,
        }),
      ),
    );
    if (options.due) {
      const notDue = await whyNotDue(item, repos[0]!, clock());
      if (notDue)
        return finish({ ...base, status: 'not-due', message: notDue, repositories: [], problems: [] });
    }
    const walkProblems: SourceProblem[] = [];
    const backups = await backupSystem(
      repos,
      () => sourceInput(item, options, walkProblems, abandon.signal),
      {
        system: item.system.name,
        policy: item.policy.metadata.name,
        onProgress: (progress) => options.onProgress?.(item.system.name, progress),
        ...(options.now ? { now: () => options.now! } : {}),
      },
    );
    // The snapshots list the walk's problems and the archiver's (backupSystem merges them).
    const problems = backups[0]?.problems ?? [];
    return finish({
      ...base,
      status: problems.length > 0 ? 'partial' : 'ok',
      repositories: backups.map((backup, i) => ({ ...backup, name: item.repositories[i]!.name })),
      problems,
    });
  } catch (error) {
    abandon.abort();
    return finish({
      ...base,
      status: 'failed',
      message: (error as Error).message,
      repositories: [],
      problems: [],
    });
  }
}

function sourceInput(
  item: PlannedSystem,
  options: BackupCommandOptions,
  problems: SourceProblem[],
  signal: AbortSignal,
): BackupInput {
  const source = item.system.source;
  if (source.command) {
    const timeout = source.timeout ? parseDuration(source.timeout) : undefined;
    const running = runCommand(source.command, {
      env: commandEnvironment(options.env, item),
      cwd: options.root,
      signal,
      ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
    });
    return {
      kind: 'command',
      command: source.command,
      filename: source.filename ?? `${item.system.name}.out`,
      stdout: running.stdout,
      done: running.done,
    };
  }
  const paths = source.paths ?? [];
  return {
    kind: 'paths',
    paths,
    problems,
    entries: archiveEntries(
      walkPaths(options.root, paths, {
        exclude: source.exclude ?? [],
        followSymlinks: source.followSymlinks ?? false,
        onProblem: (problem) => problems.push(problem),
      }),
    ),
  };
}

/**
 * The command's environment: the runner's, less the repository's own secrets and the evidence signing key
 * and token (the command never needs them).
 */
export function commandEnvironment(env: NodeJS.ProcessEnv, item: PlannedSystem): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const name of [
    ...Object.values(CREDENTIAL_ENV),
    passphraseVariable(item.system),
    ...Object.values(SIGNING_ENV),
    TOKEN_ENV[0],
  ])
    delete out[name];
  return out;
}

async function* archiveEntries(entries: AsyncIterable<SourceEntry>): AsyncGenerator<ArchiveEntry> {
  for await (const entry of entries) yield archiveEntry(entry);
}

/** A walked entry as the archiver takes it; `inode` lets the reader check it opens the file the walk saw. */
export function archiveEntry(entry: SourceEntry): ArchiveEntry {
  return {
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    mtime: entry.mtimeNs.toString(),
    ctime: entry.ctimeNs.toString(),
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
    inode: `${entry.dev}:${entry.ino}`,
    ...(entry.target !== undefined ? { target: entry.target } : {}),
    absolute: entry.absolute,
  };
}

/** Undefined when a backup is due: no snapshot yet, or the schedule fired after the newest one began. */
async function whyNotDue(item: PlannedSystem, repo: Repository, now: Date): Promise<string | undefined> {
  const schedule = item.system.schedule;
  if (!schedule) return undefined;
  const parsed = parseCron(schedule);
  if (!parsed.ok) return undefined;
  const mine = (await listSnapshots(repo, () => {})).filter(
    (ref) => ref.snapshot.system === item.system.name,
  );
  const newest = mine[mine.length - 1];
  if (!newest) return undefined;
  const fired = cronPrevious(parsed.cron, now);
  if (new Date(newest.snapshot.time) < fired) return undefined;
  return `newest snapshot ${newest.id.slice(0, 8)} (${newest.snapshot.time}) is not older than the schedule's last time (${fired.toISOString()})`;
}
