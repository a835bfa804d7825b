import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for the parts of GitHub's REST API the pull-request comment uses (GitHub itself cannot
 * be reached from the tests), speaking the same paths, payloads, status codes and Link-header pagination:
 *
 * - `GET  /repos/{owner}/{repo}/issues/{issue_number}/comments` (`per_page` default 30, max 100; `page`),
 *   and the `/repositories/{repository_id}/...` form GitHub puts into its Link headers;
 * - `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` → 201 with the comment;
 * - `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}` → 200 with the comment;
 * - `GET  /repos/{owner}/{repo}/issues/comments/{comment_id}` → 200 with the comment.
 *
 * Comments live in memory per issue, oldest first. Every request is recorded, without the token: the
 * record says only which scheme the authorization header used and whether its token was the expected one.
 */

export interface FakeUser {
  login: string;
  type: 'User' | 'Bot' | 'Organization';
}

export interface FakeComment {
  id: number;
  node_id: string;
  url: string;
  html_url: string;
  issue_url: string;
  body: string;
  user: FakeUser & { id: number };
  created_at: string;
  updated_at: string;
  author_association: string;
}

export interface RecordedRequest {
  method: string;
  /** The path without the query string, e.g. `/repos/o/r/issues/7/comments`. */
  path: string;
  /** The query parameters, e.g. `{ per_page: '100', page: '2' }`. */
  query: Record<string, string>;
  /** Request headers, lower-cased, without `authorization`. */
  headers: Record<string, string>;
  auth: {
    /** The authorization header's scheme (`token`, `bearer`, lower-cased), undefined without the header. */
    scheme: string | undefined;
    /** True when the header carried the expected token. */
    valid: boolean;
  };
  /** The body parsed as JSON (the raw text when it is not JSON; undefined when empty). */
  body: unknown;
  /** The status the fake answered with. */
  status: number;
}

export interface SeedComment {
  body: string;
  /** Default: another person, `octocat` (a `User`). */
  user?: Partial<FakeUser>;
}

export interface GitHubApiOptions {
  /** The token requests must carry (`token X` or `Bearer X`); anything else gets 401 Bad credentials. */
  token: string;
  owner?: string;
  repo?: string;
  /** The repository's numeric id, used in Link headers as GitHub does (`/repositories/{id}/...`). */
  repositoryId?: number;
  /** Who the token acts as; default `github-actions[bot]`, a Bot, like `github.token`. */
  actor?: FakeUser;
  /** Writes answer 403 "Resource not accessible by integration", like a fork pull request's token. */
  readOnly?: boolean;
  /** Comments present before the test, per issue number, oldest first. */
  seed?: Record<number, SeedComment[]>;
  /** Host of the `html_url`s; default https://github.com. */
  htmlBaseUrl?: string;
  /** Delay every answer by this many milliseconds (to exercise the caller's deadline). */
  delayMs?: number;
}

export interface FakeGitHubApi {
  /** The base URL, `http://127.0.0.1:<port>` (pass as `apiUrl` / `GITHUB_API_URL`). */
  url: string;
  /** Every request so far, in order; a live array (empty it with `requests.length = 0`). */
  requests: RecordedRequest[];
  /** A copy of an issue's comments, oldest first. */
  comments(issue: number): FakeComment[];
  /** Adds a comment, as if someone had posted it now. */
  addComment(issue: number, comment: SeedComment): FakeComment;
  /** Switches the read-only mode (403 on writes). */
  setReadOnly(readOnly: boolean): void;
  /** Answers the next matching request (method, and a path test) with this status and message, once. */
  failNext(method: string, path: RegExp, status: number, message: string): void;
  close(): Promise<void>;
}

const MAX_BODY = 65_536;
const DOCS = 'https://docs.github.com/rest';

export async function startGitHubApi(options: GitHubApiOptions): Promise<FakeGitHubApi> {
  const owner = options.owner ?? 'octo-org';
  const repo = options.repo ?? 'octo-repo';
  const repositoryId = options.repositoryId ?? 1296269;
  const actor: FakeUser = options.actor ?? { login: 'github-actions[bot]', type: 'Bot' };
  const htmlBase = (options.htmlBaseUrl ?? 'https://github.com').replace(/\/+$/, '');
  let readOnly = options.readOnly ?? false;
  const failures: { method: string; path: RegExp; status: number; message: string }[] = [];
  const requests: RecordedRequest[] = [];
  const byIssue = new Map<number, FakeComment[]>();
  const byId = new Map<number, { issue: number; comment: FakeComment }>();
  let nextId = 1_000_001;
  // A clock that moves one second per write, so creation order and timestamps agree.
  let clock = Date.parse('2025-01-01T00:00:00Z');
  const tick = () => {
    clock += 1000;
    return new Date(clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  };
  const userIds = new Map<string, number>();
  const userOf = (user: FakeUser) => {
    if (!userIds.has(user.login)) userIds.set(user.login, 41898282 + userIds.size);
    return { login: user.login, id: userIds.get(user.login)!, type: user.type };
  };

  let url = '';
  const issueComments = (issue: number) => {
    let list = byIssue.get(issue);
    if (!list) {
      list = [];
      byIssue.set(issue, list);
    }
    return list;
  };
  const addComment = (issue: number, seed: SeedComment, by?: FakeUser): FakeComment => {
    const id = nextId++;
    const user = by ?? { login: seed.user?.login ?? 'octocat', type: seed.user?.type ?? 'User' };
    const now = tick();
    const comment: FakeComment = {
      id,
      node_id: `IC_kwDO${Buffer.from(`IssueComment:${id}`).toString('base64url')}`,
      url: `${url}/repos/${owner}/${repo}/issues/comments/${id}`,
      html_url: `${htmlBase}/${owner}/${repo}/pull/${issue}#issuecomment-${id}`,
      issue_url: `${url}/repos/${owner}/${repo}/issues/${issue}`,
      body: seed.body,
      user: userOf(user),
      created_at: now,
      updated_at: now,
      author_association: user.type === 'Bot' ? 'CONTRIBUTOR' : 'MEMBER',
    };
    issueComments(issue).push(comment);
    byId.set(id, { issue, comment });
    return comment;
  };

  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const answer = () => handle(req, res, Buffer.concat(chunks).toString('utf8'));
      if (!options.delayMs) return answer();
      const timer = setTimeout(() => {
        pending.delete(timer);
        answer();
      }, options.delayMs);
      pending.add(timer);
    });
  });

  function send(res: ServerResponse, record: RecordedRequest, status: number, data: unknown, headers = {}) {
    record.status = status;
    const text = JSON.stringify(data);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-github-media-type': 'github.v3; format=json',
      'x-ratelimit-limit': '1000',
      'x-ratelimit-remaining': String(Math.max(0, 1000 - requests.length)),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(requests.length),
      'x-ratelimit-resource': 'core',
      ...headers,
    });
    res.end(text);
  }

  const error = (message: string, status: number, documentation = DOCS) => ({
    message,
    documentation_url: documentation,
    status: String(status),
  });

  function handle(req: IncomingMessage, res: ServerResponse, text: string) {
    const parsed = new URL(req.url ?? '/', url);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name !== 'authorization' && value !== undefined) headers[name] = String(value);
    }
    const authorization = req.headers.authorization;
    const authMatch = authorization?.match(/^(\S+)\s+(.+)$/);
    const scheme = authMatch ? authMatch[1]!.toLowerCase() : authorization ? 'unknown' : undefined;
    const valid =
      !!authMatch && (scheme === 'token' || scheme === 'bearer') && authMatch[2]!.trim() === options.token;
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers,
      auth: { scheme, valid },
      body,
      status: 0,
    };
    requests.push(record);

    const failure = failures.findIndex((f) => f.method === record.method && f.path.test(record.path));
    if (failure !== -1) {
      const [f] = failures.splice(failure, 1);
      return send(res, record, f!.status, error(f!.message, f!.status));
    }
    if (!valid) return send(res, record, 401, error('Bad credentials', 401));

    const route = matchRoute(record.method, parsed.pathname);
    if (!route) return send(res, record, 404, error('Not Found', 404));

    if (route.kind === 'list') {
      const list = issueComments(route.issue);
      const perPage = clampPerPage(parsed.searchParams.get('per_page'));
      const page = Math.max(1, Number.parseInt(parsed.searchParams.get('page') ?? '1', 10) || 1);
      const lastPage = Math.max(1, Math.ceil(list.length / perPage));
      const link = linkHeader(parsed, route.issue, page, lastPage);
      return send(res, record, 200, list.slice((page - 1) * perPage, page * perPage), link ? { link } : {});
    }
    if (route.kind === 'get') {
      const found = byId.get(route.id);
      return found ? send(res, record, 200, found.comment) : send(res, record, 404, error('Not Found', 404));
    }

    // Writes.
    if (readOnly) {
      const doc =
        route.kind === 'create'
          ? `${DOCS}/issues/comments#create-an-issue-comment`
          : `${DOCS}/issues/comments#update-an-issue-comment`;
      return send(res, record, 403, error('Resource not accessible by integration', 403, doc));
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return send(res, record, 400, error('Problems parsing JSON', 400));
    }
    const newBody = (body as { body?: unknown }).body;
    if (typeof newBody !== 'string') {
      return send(res, record, 422, error('Invalid request.\n\n"body" wasn\'t supplied.', 422));
    }
    if ([...newBody].length > MAX_BODY) {
      return send(res, record, 422, {
        message: 'Validation Failed',
        errors: [
          {
            resource: 'IssueComment',
            code: 'custom',
            field: 'body',
            message: `body is too long (maximum is ${MAX_BODY} characters)`,
          },
        ],
        documentation_url: `${DOCS}/issues/comments`,
        status: '422',
      });
    }
    if (route.kind === 'create') {
      const comment = addComment(route.issue, { body: newBody }, actor);
      return send(res, record, 201, comment, { location: comment.url });
    }
    const found = byId.get(route.id);
    if (!found) return send(res, record, 404, error('Not Found', 404));
    found.comment.body = newBody;
    found.comment.updated_at = tick();
    return send(res, record, 200, found.comment);
  }

  type Route =
    | { kind: 'list'; issue: number }
    | { kind: 'create'; issue: number }
    | { kind: 'update'; id: number }
    | { kind: 'get'; id: number };

  function matchRoute(method: string, path: string): Route | undefined {
    const repoPrefix = `/repos/${owner}/${repo}`;
    let rest: string | undefined;
    if (path.toLowerCase().startsWith(`${repoPrefix.toLowerCase()}/`)) rest = path.slice(repoPrefix.length);
    else if (path.startsWith(`/repositories/${repositoryId}/`))
      rest = path.slice(`/repositories/${repositoryId}`.length);
    if (rest === undefined) return undefined;
    const issue = rest.match(/^\/issues\/(\d+)\/comments\/?$/);
    if (issue) {
      if (method === 'GET') return { kind: 'list', issue: Number(issue[1]) };
      if (method === 'POST') return { kind: 'create', issue: Number(issue[1]) };
      return undefined;
    }
    const comment = rest.match(/^\/issues\/comments\/(\d+)\/?$/);
    if (comment) {
      if (method === 'PATCH') return { kind: 'update', id: Number(comment[1]) };
      if (method === 'GET') return { kind: 'get', id: Number(comment[1]) };
    }
    return undefined;
  }

  /** GitHub's Link header: prev, next, last, first, with the repository-id path and the request's query. */
  function linkHeader(request: URL, issue: number, page: number, lastPage: number): string | undefined {
    if (lastPage <= 1 && page <= 1) return undefined;
    const pageUrl = (n: number) => {
      const target = new URL(`/repositories/${repositoryId}/issues/${issue}/comments`, url);
      for (const [name, value] of request.searchParams)
        if (name !== 'page') target.searchParams.append(name, value);
      target.searchParams.set('page', String(n));
      return target.toString();
    };
    const links: string[] = [];
    if (page > 1) links.push(`<${pageUrl(Math.min(page - 1, lastPage))}>; rel="prev"`);
    if (page < lastPage) {
      links.push(`<${pageUrl(page + 1)}>; rel="next"`, `<${pageUrl(lastPage)}>; rel="last"`);
    }
    if (page > 1) links.push(`<${pageUrl(1)}>; rel="first"`);
    return links.join(', ');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const [issue, list] of Object.entries(options.seed ?? {})) {
    for (const seed of list) addComment(Number(issue), seed);
  }

  return {
    url,
    requests,
    comments: (issue) => issueComments(issue).map((comment) => ({ ...comment, user: { ...comment.user } })),
    addComment: (issue, comment) => addComment(issue, comment),
    setReadOnly: (value) => {
      readOnly = value;
    },
    failNext: (method, path, status, message) => {
      failures.push({ method: method.toUpperCase(), path, status, message });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function clampPerPage(value: string | null): number {
  const n = Number.parseInt(value ?? '', 10);
  if (!Number.isFinite(n) || n < 1) return 30;
  return Math.min(n, 100);
}
