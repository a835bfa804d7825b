import { getOctokit } from '@actions/github';

/**
 * The sticky pull-request comment: one comment per pull request, created once and then edited in place on
 * every later run, recognised by a hidden HTML-comment marker on its first line.
 *
 * REST calls (the Issues API, since a pull request is an issue):
 * - `GET /repos/{owner}/{repo}/issues/{issue_number}/comments?per_page=100`, following the `Link: rel="next"`
 *   header page by page and stopping at the first page that holds the marker;
 * - `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` when the marked comment exists and its body
 *   differs (no request at all when it is identical);
 * - `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` when there is none.
 *
 * Two jobs racing on the same pull request can both find no comment and both create one. The next run then
 * sees two marked comments: it updates the oldest (GitHub lists comments oldest first, so that is the first
 * one found) and leaves the others alone, neither editing nor deleting them; deleting would need more
 * permission and could fight a concurrent run.
 *
 * No retries beyond @octokit/core's, which has none (no retry or throttling plugin is loaded by
 * `getOctokit`): a failed request fails the upsert at once, and a request that gets no answer is abandoned
 * after `timeoutMs`. Errors are `StickyCommentError`s whose message says what to do; the token never
 * appears in them.
 */

/** GitHub's limit on a comment body, in characters. */
export const GITHUB_COMMENT_LIMIT = 65_536;

export interface StickyCommentOptions {
  /** The token (`github.token` or a PAT). Never logged nor put into an error message. */
  token: string;
  owner: string;
  repo: string;
  /** The pull request's number (the Issues API addresses it as an issue). */
  issueNumber: number;
  /** The hidden marker, a one-line HTML comment such as `<!-- restorable:check -->`. */
  marker: string;
  /**
   * The comment's Markdown. When its first line does not carry the marker, the marker is put on a line of
   * its own before it. Bodies over GitHub's limit are cut, with a note saying so.
   */
  body: string;
  /** The REST API's base URL; default `GITHUB_API_URL` (set by GitHub Enterprise Server), else https://api.github.com. */
  apiUrl?: string;
  /** Deadline for the whole upsert, all pages included, in milliseconds; default 30 s. */
  timeoutMs?: number;
}

export interface StickyCommentResult {
  /** `unchanged`: the comment already had this exact body, so nothing was written. */
  action: 'created' | 'updated' | 'unchanged';
  /** The comment's id. */
  id: number;
  /** The comment's page (`html_url`). */
  url: string;
}

/** Why an upsert failed. `kind` lets the caller word its warning; `status` is the HTTP status, 0 when none. */
export class StickyCommentError extends Error {
  readonly status: number;
  readonly kind: 'permission' | 'credentials' | 'rate-limit' | 'network' | 'timeout' | 'invalid' | 'other';
  constructor(message: string, status: number, kind: StickyCommentError['kind']) {
    super(message);
    this.name = 'StickyCommentError';
    this.status = status;
    this.kind = kind;
  }
}

const DEFAULT_API_URL = 'https://api.github.com';
const DEFAULT_TIMEOUT_MS = 30_000;
const PER_PAGE = 100;

interface IssueComment {
  id: number;
  body?: string | null;
  html_url: string;
}

/** Creates the pull request's sticky comment, or updates it in place. */
export async function upsertStickyComment(options: StickyCommentOptions): Promise<StickyCommentResult> {
  const { token, owner, repo, issueNumber, marker } = options;
  validate(options);
  const baseUrl = (options.apiUrl || process.env.GITHUB_API_URL || DEFAULT_API_URL).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body = stickyCommentBody(marker, options.body);
  const where = `pull request #${issueNumber} of ${owner}/${repo}`;
  const signal = AbortSignal.timeout(timeoutMs);
  const context: ErrorContext = { token, baseUrl, timeoutMs, signal };

  // Only baseUrl is passed: @actions/github's defaults keep their proxy-aware fetch (HTTPS_PROXY, NO_PROXY).
  const octokit = getOctokit(token, { baseUrl });
  // Per-request options do not survive paginate's follow-up requests; a hook reaches every request.
  octokit.hook.before('request', (request) => {
    request.request = { ...request.request, signal };
  });

  let existing: IssueComment | undefined;
  try {
    const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: issueNumber,
      per_page: PER_PAGE,
    });
    for await (const page of pages) {
      // Oldest first, so the first marked comment is the oldest: the one to keep up to date.
      existing = page.data.find((comment) => carriesMarker(comment.body, marker));
      if (existing) break;
    }
  } catch (error) {
    throw describeError(error, `could not list the comments of ${where}`, context);
  }

  if (existing) {
    if (existing.body === body) return { action: 'unchanged', id: existing.id, url: existing.html_url };
    try {
      const { data } = await octokit.rest.issues.updateComment({
        owner,
        repo,
        comment_id: existing.id,
        body,
      });
      return { action: 'updated', id: data.id, url: data.html_url };
    } catch (error) {
      throw describeError(error, `could not update comment ${existing.id} on ${where}`, context);
    }
  }
  try {
    const { data } = await octokit.rest.issues.createComment({
      owner,
      repo,
      issue_number: issueNumber,
      body,
    });
    return { action: 'created', id: data.id, url: data.html_url };
  } catch (error) {
    throw describeError(error, `could not comment on ${where}`, context);
  }
}

/** True when the comment's first line carries the marker. */
export function carriesMarker(body: string | null | undefined, marker: string): boolean {
  if (!body) return false;
  const end = body.indexOf('\n');
  return (end === -1 ? body : body.slice(0, end)).includes(marker);
}

/**
 * The body as posted: the marker on the first line (prepended on a line of its own unless the first line
 * already has it), cut to GitHub's limit when longer.
 */
export function stickyCommentBody(marker: string, body: string, limit = GITHUB_COMMENT_LIMIT): string {
  const marked = carriesMarker(body, marker) ? body : `${marker}\n${body}`;
  return fitToLimit(marked, limit);
}

/**
 * Cuts a body longer than `limit` characters (UTF-16 code units, which never undercount GitHub's count of
 * characters) at a line end, closes a code fence or `<details>` left open by the cut, and ends it with a
 * note saying it was cut. The first line, with the marker, is always kept.
 */
export function fitToLimit(body: string, limit = GITHUB_COMMENT_LIMIT): string {
  if (body.length <= limit) return body;
  const note = `\n\n> [!NOTE]\n> This comment was cut to fit GitHub's limit of ${limit.toLocaleString('en-US')} characters per comment; the workflow run has the full report.\n`;
  const firstLineEnd = body.indexOf('\n') === -1 ? body.length : body.indexOf('\n');
  let budget = limit - note.length;
  for (;;) {
    let kept = body.slice(0, Math.max(budget, 0));
    if (/[\uD800-\uDBFF]$/.test(kept)) kept = kept.slice(0, -1);
    const lineEnd = kept.lastIndexOf('\n');
    if (lineEnd >= firstLineEnd) kept = kept.slice(0, lineEnd);
    const result = kept + closers(kept) + note;
    if (result.length <= limit || budget <= firstLineEnd) return result;
    budget -= result.length - limit;
  }
}

/** Closes what a cut left open: a fenced code block, then `<details>` elements. */
function closers(text: string): string {
  let out = '';
  const fences = text.match(/^ {0,3}(```|~~~)/gm) ?? [];
  if (fences.length % 2 === 1) out += `\n${fences.at(-1)!.trim()}`;
  const opened = (text.match(/<details\b/gi) ?? []).length - (text.match(/<\/details\s*>/gi) ?? []).length;
  for (let i = 0; i < opened; i++) out += '\n</details>';
  return out;
}

function validate(options: StickyCommentOptions): void {
  if (!options.token)
    throw new StickyCommentError('no token was given for the pull request comment', 0, 'invalid');
  if (!options.owner || !options.repo) {
    throw new StickyCommentError(
      'the pull request comment needs the repository (owner and name)',
      0,
      'invalid',
    );
  }
  if (!Number.isSafeInteger(options.issueNumber) || options.issueNumber < 1) {
    throw new StickyCommentError(
      `the pull request comment needs a pull request number, not ${options.issueNumber}`,
      0,
      'invalid',
    );
  }
  if (!/^<!--[^\r\n]*-->$/.test(options.marker) || options.marker.length > 200) {
    throw new StickyCommentError(
      `the comment marker must be a one-line HTML comment such as "<!-- restorable:check -->" (at most 200 characters), not ${JSON.stringify(options.marker)}`,
      0,
      'invalid',
    );
  }
}

interface ErrorContext {
  token: string;
  baseUrl: string;
  timeoutMs: number;
  signal: AbortSignal;
}

const PERMISSION_ADVICE =
  'The token needs write access to pull requests: give the job "permissions: pull-requests: write". ' +
  'Pull requests from forks run with a read-only token, which cannot comment; the check itself is not affected.';

/** A StickyCommentError for a failed request, with what to do about it and without the token. */
function describeError(error: unknown, doing: string, context: ErrorContext): StickyCommentError {
  const { status, apiMessage, answered } = inspect(error);
  let described: StickyCommentError;
  if (context.signal.aborted) {
    described = new StickyCommentError(
      `${doing}: the GitHub API at ${context.baseUrl} did not answer within ${context.timeoutMs / 1000} s`,
      0,
      'timeout',
    );
  } else if (status === 401) {
    described = new StickyCommentError(
      `${doing}: GitHub rejected the token (401 ${apiMessage || 'Unauthorized'}). ` +
        'Pass a valid token (the default github.token works) and check that it has not expired or been revoked.',
      status,
      'credentials',
    );
  } else if (status === 429 || (status === 403 && /rate limit/i.test(apiMessage))) {
    described = new StickyCommentError(
      `${doing}: GitHub's rate limit was hit (${status} ${apiMessage}); the next run will write the comment`,
      status,
      'rate-limit',
    );
  } else if (status === 403) {
    described = new StickyCommentError(
      `${doing}: GitHub refused (403 ${apiMessage || 'Forbidden'}). ${PERMISSION_ADVICE}`,
      status,
      'permission',
    );
  } else if (status === 404) {
    described = new StickyCommentError(
      `${doing}: GitHub answered 404 ${apiMessage || 'Not Found'}: the repository or pull request does not exist, ` +
        `or the token cannot see it. ${PERMISSION_ADVICE}`,
      status,
      'permission',
    );
  } else if (!answered) {
    // @octokit/request reports a request that got no answer (refused, DNS, TLS) as status 500, no response.
    described = new StickyCommentError(
      `${doing}: could not reach the GitHub API at ${context.baseUrl}: ${(error as Error)?.message ?? String(error)}`,
      0,
      'network',
    );
  } else {
    described = new StickyCommentError(
      `${doing}: the GitHub API answered ${status} ${apiMessage || (error as Error)?.message || ''}`.trimEnd(),
      status,
      'other',
    );
  }
  return redact(described, context.token);
}

function inspect(error: unknown): { status: number; apiMessage: string; answered: boolean } {
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown;
    response?: { data?: unknown };
  };
  const data = record.response?.data;
  let apiMessage = '';
  if (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as { message?: unknown }).message === 'string'
  ) {
    apiMessage = (data as { message: string }).message;
    const errors = (data as { errors?: unknown }).errors;
    if (Array.isArray(errors)) {
      const details = errors
        .map((entry) =>
          typeof entry === 'object' && entry !== null && 'message' in entry
            ? String((entry as { message: unknown }).message)
            : JSON.stringify(entry),
        )
        .join('; ');
      if (details) apiMessage += `: ${details}`;
    }
  } else if (typeof data === 'string') {
    apiMessage = data.slice(0, 200);
  }
  return {
    status: typeof record.status === 'number' ? record.status : 0,
    apiMessage,
    answered: record.response !== undefined,
  };
}

/** Belt and braces: no message leaves this module with the token in it, whatever the server echoed. */
function redact(error: StickyCommentError, token: string): StickyCommentError {
  if (token && error.message.includes(token)) {
    return new StickyCommentError(error.message.replaceAll(token, '***'), error.status, error.kind);
  }
  return error;
}
