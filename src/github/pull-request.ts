import { readFileSync } from 'node:fs';

/** The pull request an Action run belongs to, as read from the event payload. */
export interface PullRequestRef {
  /** Owner of the repository the pull request targets (the base repository, also for fork PRs). */
  owner: string;
  /** Name of that repository. */
  repo: string;
  /** The pull request's number, which is also its issue number (comments go through the Issues API). */
  number: number;
  /** The base branch's commit the run compares against. */
  baseSha: string;
  /** The pull request head's commit. */
  headSha: string;
}

/** The events whose payload carries a `pull_request` object the comment belongs to. */
export const PULL_REQUEST_EVENTS: readonly string[] = ['pull_request', 'pull_request_target'];

/**
 * The pull request of this run, from `GITHUB_EVENT_NAME`, `GITHUB_EVENT_PATH` and `GITHUB_REPOSITORY`
 * (`owner/repo`).
 *
 * Returns `undefined` when the run is not a pull request at all: another event (push, schedule,
 * workflow_dispatch…), or no event name / event path (a run outside Actions). That is the ordinary
 * "nothing to comment on" case.
 *
 * Throws an Error with a message naming the file when the event *is* a pull request event but its payload
 * cannot be read, is not JSON, or lacks the pull request's number: the run should have had a comment and
 * the caller should say why it has none (as a warning) instead of silently skipping it.
 *
 * The repository comes from `GITHUB_REPOSITORY` (the base repository, which is where a fork PR's comments
 * live); the payload's `repository.full_name` is the fallback when it is unset or malformed.
 */
export function pullRequestFromEvent(
  eventName: string | undefined,
  eventPath: string | undefined,
  repository: string | undefined,
): PullRequestRef | undefined {
  if (!eventName || !PULL_REQUEST_EVENTS.includes(eventName)) return undefined;
  if (!eventPath) return undefined;

  let text: string;
  try {
    text = readFileSync(eventPath, 'utf8');
  } catch (error) {
    throw new Error(
      `${eventName} event: cannot read the event payload ${eventPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `${eventName} event: the event payload ${eventPath} is not JSON: ${(error as Error).message}`,
    );
  }
  const root = asRecord(payload);
  const pr = asRecord(root?.pull_request);
  if (!root || !pr) {
    throw new Error(`${eventName} event: the event payload ${eventPath} has no "pull_request" object`);
  }
  const number = positiveInteger(pr.number) ?? positiveInteger(root.number);
  if (number === undefined) {
    throw new Error(`${eventName} event: the event payload ${eventPath} has no pull request number`);
  }

  const [owner, repo] = splitRepository(repository) ??
    splitRepository(stringField(asRecord(root.repository)?.full_name)) ?? [undefined, undefined];
  if (!owner || !repo) {
    throw new Error(
      `${eventName} event: cannot tell the repository: GITHUB_REPOSITORY is ${repository ? `"${repository}", not "owner/repo"` : 'unset'} and the event payload names none`,
    );
  }
  return {
    owner,
    repo,
    number,
    baseSha: stringField(asRecord(pr.base)?.sha) ?? '',
    headSha: stringField(asRecord(pr.head)?.sha) ?? '',
  };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function splitRepository(value: string | undefined): [string, string] | undefined {
  const match = value?.trim().match(/^([^/\s]+)\/([^/\s]+)$/);
  return match ? [match[1]!, match[2]!] : undefined;
}
