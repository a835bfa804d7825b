import { existsSync, globSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DEFAULT_CONFIG_PATH, DEFAULT_CONTROLS_PATH, DEFAULT_POLICY_GLOBS } from './config.ts';
import { fileStart } from './source.ts';
import type { YamlProblem } from './yaml-file.ts';

/**
 * Finds policy files: the given paths (files, directories, globs) or else the configured globs. Returns
 * paths relative to root with forward slashes, sorted, each once.
 */
export function discoverPolicyFiles(
  root: string,
  requested: readonly string[],
  configured: readonly string[] | undefined,
): { files: string[]; problems: YamlProblem[] } {
  const problems: YamlProblem[] = [];
  const found = new Set<string>();
  const add = (path: string) => found.add(path.split(sep).join('/'));

  if (requested.length === 0) {
    // The configured globs come from the profile, which a pull request can change: never outside the root.
    const patterns = (configured ?? DEFAULT_POLICY_GLOBS).filter((pattern) => {
      const outside = isAbsolute(pattern) || pattern.split(/[\\/]/).includes('..');
      if (outside) problems.push(outsidePattern(pattern));
      return !outside;
    });
    for (const file of globYaml(root, patterns)) {
      if (file === DEFAULT_CONFIG_PATH || file.startsWith(`${DEFAULT_CONTROLS_PATH}/`)) continue;
      add(file);
    }
    return { files: [...found].sort(), problems };
  }
  for (const item of requested) {
    const absolute = resolve(root, item);
    if (/[*?[{]/.test(item)) {
      const matches = globYaml(root, [item]);
      if (matches.length === 0) problems.push(notFound(item, 'matches no file'));
      matches.forEach(add);
    } else if (!existsSync(absolute)) {
      problems.push(notFound(item, 'does not exist'));
    } else if (statSync(absolute).isDirectory()) {
      const prefix = relative(root, absolute).split(sep).join('/');
      const base = prefix === '' ? '' : `${prefix}/`;
      globYaml(root, [`${base}**/*.yml`, `${base}**/*.yaml`]).forEach(add);
    } else {
      add(relative(root, absolute));
    }
  }
  return { files: [...found].sort(), problems };
}

function globYaml(root: string, patterns: readonly string[]): string[] {
  return globSync([...patterns], { cwd: root })
    .map((p) => p.split(sep).join('/'))
    .filter((p) => /\.ya?ml$/.test(p) && !p.split('/').includes('node_modules'));
}

function outsidePattern(pattern: string): YamlProblem {
  return {
    ruleId: 'policy/not-found',
    message: `${pattern} reaches outside the repository; policies are read from inside it only`,
    remediation: 'Name policies by globs relative to the repository root, such as `.restorable/**/*.yaml`.',
    location: fileStart(pattern),
  };
}

function notFound(item: string, what: string): YamlProblem {
  return {
    ruleId: 'policy/not-found',
    message: `${item} ${what}`,
    remediation: 'Give a policy file, a directory of policies, or a glob such as `.restorable/**/*.yaml`.',
    location: fileStart(item),
  };
}
