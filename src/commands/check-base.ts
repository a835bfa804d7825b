import type { CheckReport, FailScope } from '../controls/result.ts';
import { writeCommitTree } from '../policy/git-tree.ts';
import { type CheckChanges, compareChecks, readTerms } from '../report/changes.ts';
import { type CheckOptions, fails, runCheck } from './check.ts';

export interface BaseOptions {
  /** The base commit (a pull request's `base.sha`) or any revision git can resolve. */
  revision: string;
  /** Remote to fetch the base commit from when the clone lacks it (default: none). */
  fetchRemote?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Checks the policies as they are on the base commit, with that commit's own profile and the same paths, and
 * compares the result with `head` (the check of the work tree). Reads the base through git only: the work
 * tree, index and HEAD are left as they are.
 */
export async function changesSinceBase(
  options: CheckOptions,
  head: CheckReport,
  base: BaseOptions,
): Promise<CheckChanges> {
  const tree = await writeCommitTree({
    root: options.root,
    revision: base.revision,
    fetchRemote: base.fetchRemote,
    env: base.env,
  });
  try {
    const baseReport = runCheck({ ...options, root: tree.root });
    return compareChecks({
      base: {
        revision: base.revision,
        commit: tree.commit,
        report: baseReport,
        terms: readTerms(tree.root, baseReport),
      },
      head: { report: head, terms: readTerms(options.root, head) },
    });
  } finally {
    tree.remove();
  }
}

/**
 * The report with its changes, judged by scope: `all` fails on any failing finding at or above failOn (as
 * without a base); `new` only on a new one, or on any problem with the files (a file that cannot be read
 * cannot be compared).
 */
export function withChanges(report: CheckReport, changes: CheckChanges, scope: FailScope): CheckReport {
  const failed =
    scope === 'all'
      ? report.failed
      : changes.newFailures.some((c) => fails(c.finding.severity, report.failOn)) ||
        report.findings.some((f) => f.kind === 'problem' && fails(f.severity, report.failOn));
  return { ...report, changes, failScope: scope, failed };
}
