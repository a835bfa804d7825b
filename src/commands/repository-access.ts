import type { Repository } from '../engine/repository.ts';
import { backendFor, openRepository, repositoryLocation } from './open-repository.ts';
import { type PlannedSystem, planSystems } from './plan.ts';

export interface AccessOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  env: NodeJS.ProcessEnv;
}

/** A repository as named in a policy, opened with the credentials of a system that uses it. */
export interface OpenedRepository {
  name: string;
  repo: Repository;
  systems: string[];
}

/** The repository of one system: `repository` by name, else the system's first. Never creates one. */
export async function openSystemRepository(
  options: AccessOptions & { system: string; repository?: string },
): Promise<{ item: PlannedSystem; name: string; repo: Repository }> {
  const [item] = planSystems({ ...options, systems: [options.system] });
  const chosen =
    options.repository === undefined
      ? item!.repositories[0]!
      : item!.repositories.find((ref) => ref.name === options.repository);
  if (!chosen) {
    throw new Error(
      `system "${options.system}" does not use a repository named "${options.repository}"; it uses ${item!.repositories.map((r) => r.name).join(', ')}`,
    );
  }
  const repo = await openRepository(await backendFor(options.root, chosen.data), {
    root: options.root,
    system: item!.system,
    env: options.env,
    create: false,
  });
  return { item: item!, name: chosen.name, repo };
}

/**
 * Every repository the policies name (once each, however many systems share it), or only those of the given
 * systems, each opened with the first system's credentials.
 */
export async function openRepositories(
  options: AccessOptions & {
    systems?: readonly string[];
    repository?: string;
    /**
     * Given: a repository that cannot be opened is reported here and left out, as long as another opens
     * (an offsite copy still lists when the primary is gone). Without it, or when none opens, it throws.
     */
    onUnavailable?: (name: string, error: Error) => void;
  },
): Promise<OpenedRepository[]> {
  const planned = planSystems(options);
  const seen = new Map<
    string,
    { name: string; item: PlannedSystem; data: PlannedSystem['repositories'][0]['data']; systems: string[] }
  >();
  for (const item of planned) {
    for (const ref of item.repositories) {
      if (options.repository !== undefined && ref.name !== options.repository) continue;
      const key = repositoryLocation(options.root, ref.data);
      const known = seen.get(key);
      if (known) known.systems.push(item.system.name);
      else seen.set(key, { name: ref.name, item, data: ref.data, systems: [item.system.name] });
    }
  }
  if (seen.size === 0) throw new Error(`no repository named "${options.repository}" in the policies`);
  const opened: OpenedRepository[] = [];
  const failed: { name: string; error: Error }[] = [];
  for (const { name, item, data, systems } of seen.values()) {
    try {
      const repo = await openRepository(await backendFor(options.root, data), {
        root: options.root,
        system: item.system,
        env: options.env,
        create: false,
      });
      opened.push({ name, repo, systems });
    } catch (error) {
      if (!options.onUnavailable) throw error;
      failed.push({ name, error: error as Error });
    }
  }
  if (opened.length === 0 && failed.length > 0) throw failed[0]!.error;
  for (const { name, error } of failed) options.onUnavailable?.(name, error);
  return opened;
}
