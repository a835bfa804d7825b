import { loadConfig } from '../policy/config.ts';
import { discoverPolicyFiles } from '../policy/discover.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import type { PolicyData, RepositoryData, SystemData } from '../policy/model.ts';
import { formatRange } from '../policy/source.ts';
import type { YamlProblem } from '../policy/yaml-file.ts';

/** One system as the runner sees it: where it came from, and its repositories by name. */
export interface PlannedSystem {
  file: string;
  policy: PolicyData;
  system: SystemData;
  repositories: { name: string; data: RepositoryData }[];
}

/** A policy problem that stops a run: every line names file:line:col, as `check` does. */
export class PlanError extends Error {
  readonly problems: YamlProblem[];

  constructor(problems: YamlProblem[]) {
    super(
      `the policies have ${problems.length} problem${problems.length === 1 ? '' : 's'}; nothing was run:\n${problems
        .map((p) => `  ${formatRange(p.location)}: ${p.message} [${p.ruleId}]`)
        .join('\n')}`,
    );
    this.name = 'PlanError';
    this.problems = problems;
  }
}

export interface PlanOptions {
  root: string;
  paths: readonly string[];
  config?: string;
  /** Only these systems (by name); every one must exist. */
  systems?: readonly string[];
}

/**
 * Reads the policies as `check` does and lists the systems to run. Any problem in any policy stops the run
 * before anything executes: a runner never acts on a policy that `check` would reject as malformed.
 */
export function planSystems(options: PlanOptions): PlannedSystem[] {
  const config = loadConfig(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths, config.data.policies);
  const problems = [...config.problems, ...discovered.problems];
  const planned: PlannedSystem[] = [];
  problems.push(
    ...loadPolicies(options.root, discovered.files, (loaded, valid) => {
      if (!valid) return;
      for (const system of loaded.data.systems) {
        planned.push({
          file: loaded.file,
          policy: loaded.data,
          system,
          repositories: system.repositories.map((name) => ({ name, data: loaded.data.repositories![name]! })),
        });
      }
    }),
  );
  if (problems.length > 0) throw new PlanError(problems);
  if (planned.length === 0) {
    throw new Error(
      options.paths.length === 0
        ? 'no policy found: give policy files or directories, or list them under `policies` in .restorable/config.yaml'
        : `no policy found in ${options.paths.join(', ')}`,
    );
  }
  const names = new Map<string, PlannedSystem>();
  for (const item of planned) {
    const other = names.get(item.system.name);
    if (other) {
      throw new Error(
        `system "${item.system.name}" is declared in both ${other.file} and ${item.file}; names must be unique`,
      );
    }
    names.set(item.system.name, item);
  }
  if (!options.systems || options.systems.length === 0) return planned;
  return options.systems.map((name) => {
    const item = names.get(name);
    if (!item) {
      throw new Error(
        `no system named "${name}"; the policies declare: ${[...names.keys()].sort().join(', ')}`,
      );
    }
    return item;
  });
}
