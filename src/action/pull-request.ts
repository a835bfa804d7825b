import * as core from '@actions/core';
import type { CheckOptions } from '../commands/check.ts';
import { changesSinceBase, withChanges } from '../commands/check-base.ts';
import { type CheckReport, FAIL_SCOPES, type FailScope } from '../controls/result.ts';
import { type PullRequestRef, pullRequestFromEvent } from '../github/pull-request.ts';
import { upsertStickyComment } from '../github/sticky-comment.ts';
import { CHECK_COMMENT_MARKER, renderCheckComment } from '../report/comment.ts';
import { maskSecret } from './evidence.ts';

/**
 * `check` on a pull request: what the change does (against the base commit) and the sticky comment. Neither
 * may fail a check that would otherwise pass for a reason of its own (a base that cannot be fetched, a
 * read-only token): each warns and the check goes on, judged on the whole state.
 */

/** The pull request of this run, or undefined (with a warning when the payload is unreadable). */
function pullRequest(): PullRequestRef | undefined {
  try {
    return pullRequestFromEvent(
      process.env.GITHUB_EVENT_NAME,
      process.env.GITHUB_EVENT_PATH,
      process.env.GITHUB_REPOSITORY,
    );
  } catch (error) {
    core.warning((error as Error).message);
    return undefined;
  }
}

export function failScopeInput(): FailScope {
  const scope = core.getInput('fail-on-scope') || 'all';
  if (!(FAIL_SCOPES as readonly string[]).includes(scope)) {
    throw new Error(`input "fail-on-scope": must be all or new, not "${scope}"`);
  }
  return scope as FailScope;
}

/** The check with its changes since the base (the `base` input, else a pull request's base commit). */
export async function compareWithBase(
  options: CheckOptions,
  checked: CheckReport,
  scope: FailScope,
): Promise<CheckReport> {
  const input = core.getInput('base');
  const revision = input === 'none' ? undefined : input || pullRequest()?.baseSha || undefined;
  if (revision === undefined) {
    if (scope === 'new') {
      core.warning(
        'fail-on-scope is `new` but there is no base to compare with (not a pull request, and no `base` input): every failure counts',
      );
    }
    return checked;
  }
  try {
    const changes = await changesSinceBase(options, checked, { revision, fetchRemote: 'origin' });
    return withChanges(checked, changes, scope);
  } catch (error) {
    core.warning(
      `the policies could not be compared with the base ${revision}: ${(error as Error).message}; the check reports the whole state${scope === 'new' ? ', and every failure counts' : ''}`,
    );
    return checked;
  }
}

/** With `comment: true` on a pull request: creates or updates the one comment this tool keeps there. */
export async function commentOnPullRequest(report: CheckReport): Promise<void> {
  core.setOutput('comment-url', '');
  if (core.getInput('comment') === '' || !core.getBooleanInput('comment')) return;
  const pr = pullRequest();
  if (!pr) {
    core.info('comment: this run is not for a pull request, so there is nothing to comment on');
    return;
  }
  const token = core.getInput('github-token') || process.env.GITHUB_TOKEN || '';
  if (!token) {
    core.warning('comment: no token (the `github-token` input is empty); no comment was written');
    return;
  }
  maskSecret(token);
  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
  const runUrl =
    process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
      ? `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined;
  try {
    const result = await upsertStickyComment({
      token,
      owner: pr.owner,
      repo: pr.repo,
      issueNumber: pr.number,
      marker: CHECK_COMMENT_MARKER,
      body: renderCheckComment(report, { runUrl, headSha: pr.headSha || undefined }),
    });
    core.setOutput('comment-url', result.url);
    core.info(`comment ${result.action}: ${result.url}`);
  } catch (error) {
    core.warning(`comment: ${(error as Error).message}`);
  }
}
