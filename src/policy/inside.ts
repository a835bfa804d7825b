import { realpathSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { fileStart } from './source.ts';
import type { YamlProblem } from './yaml-file.ts';

/**
 * Whether `path` lies outside `root`, by its name or through symbolic links. A pull request can add a link
 * (`.restorable/x.yaml -> /home/runner/...`): `check` reads files from inside the repository only, so that
 * no file of the runner reaches a message on the pull request. A path that does not exist is not outside
 * (the reader says it is missing).
 */
export function outsideRoot(root: string, path: string): boolean {
  const within = (base: string, target: string) => {
    const rel = relative(base, target);
    return !rel.startsWith('..') && !isAbsolute(rel);
  };
  if (!within(root, path)) return true;
  try {
    return !within(realpathSync(root), realpathSync(path));
  } catch {
    return false;
  }
}

/** The problem for a file that links outside the repository: named, and not read. */
export function outsideProblem(file: string, what: 'policy' | 'control' | 'profile'): YamlProblem {
  return {
    ruleId: `${what === 'profile' ? 'config' : what}/outside`,
    message: `${file} leads outside the repository (a symbolic link); ${what} files are read from inside it only`,
    remediation: 'Replace the link with the file itself, inside the repository.',
    location: fileStart(file),
  };
}
