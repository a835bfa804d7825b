import type { Repository } from '../engine/repository.ts';
import { type PruneOptions, pruneRepository, type RepositoryPrune } from '../prune/prune.ts';
import { parseRetention } from '../prune/select.ts';
import { backendFor, openRepository, repositoryLocation } from './open-repository.ts';
import { type PlannedSystem, planSystems } from './plan.ts';

export interface PruneCommandOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  systems?: readonly string[];
  repository?: string;
  env: NodeJS.ProcessEnv;
  dryRun?: boolean;
  repackThreshold?: number;
  now?: Date;
  log: (line: string) => void;
  /** Overrides for tests: how long and how often to wait for backups' locks. */
  lockWaitMs?: number;
  lockPollMs?: number;
}

/** One repository's prune, or why it failed. */
export interface RepositoryPruneRun {
  name: string;
  location: string;
  systems: string[];
  /** Each system's policy (its `metadata.name`) and file, for the evidence record. */
  policies: { system: string; policy: string; file: string }[];
  startedAt: string;
  finishedAt: string;
  status: 'ok' | 'failed';
  message?: string;
  result?: RepositoryPrune;
}

/**
 * `restorable prune`: for every repository the planned systems use, selects each system's snapshots by its
 * retention and prunes them, then the repository's unused data. Every retention is checked before anything is
 * opened: a policy prune cannot honour stops the whole run. One repository's failure does not stop the others.
 */
export async function runPrune(options: PruneCommandOptions): Promise<RepositoryPruneRun[]> {
  const planned = planSystems(options);
  for (const item of planned) {
    try {
      parseRetention(item.system.retention);
    } catch (error) {
      throw new Error(`${item.file}: system "${item.system.name}": ${(error as Error).message}`);
    }
  }
  const groups = new Map<
    string,
    {
      name: string;
      first: PlannedSystem;
      data: PlannedSystem['repositories'][0]['data'];
      items: PlannedSystem[];
    }
  >();
  for (const item of planned) {
    for (const ref of item.repositories) {
      if (options.repository !== undefined && ref.name !== options.repository) continue;
      const key = repositoryLocation(options.root, ref.data);
      const group = groups.get(key);
      if (group) group.items.push(item);
      else groups.set(key, { name: ref.name, first: item, data: ref.data, items: [item] });
    }
  }
  if (groups.size === 0) {
    throw new Error(
      options.repository === undefined
        ? 'no system to prune'
        : `no planned system uses a repository named "${options.repository}"`,
    );
  }
  const runs: RepositoryPruneRun[] = [];
  for (const [location, { name, first, data, items }] of groups) {
    const systems = items.map((item) => item.system.name);
    const policies = items.map((item) => ({
      system: item.system.name,
      policy: item.policy.metadata.name,
      file: item.file,
    }));
    const startedAt = new Date().toISOString();
    const done = (run: { status: 'ok'; result: RepositoryPrune } | { status: 'failed'; message: string }) =>
      runs.push({
        name,
        location,
        systems,
        policies,
        startedAt,
        finishedAt: new Date().toISOString(),
        ...run,
      });
    try {
      const repo: Repository = await openRepository(await backendFor(options.root, data), {
        root: options.root,
        system: first.system,
        env: options.env,
        create: false,
      });
      const pruneOptions: PruneOptions = {
        dryRun: options.dryRun ?? false,
        log: options.log,
        ...(options.repackThreshold !== undefined ? { repackThreshold: options.repackThreshold } : {}),
        ...(options.now ? { now: () => options.now! } : {}),
        ...(options.lockWaitMs !== undefined ? { lockWaitMs: options.lockWaitMs } : {}),
        ...(options.lockPollMs !== undefined ? { lockPollMs: options.lockPollMs } : {}),
      };
      const result = await pruneRepository(
        repo,
        items.map((item) => ({ system: item.system.name, retention: item.system.retention })),
        pruneOptions,
      );
      done({ status: 'ok', result });
    } catch (error) {
      done({ status: 'failed', message: (error as Error).message });
    }
  }
  return runs;
}
