import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pullRequestFromEvent } from '../src/github/pull-request.ts';
import {
  carriesMarker,
  fitToLimit,
  GITHUB_COMMENT_LIMIT,
  StickyCommentError,
  type StickyCommentOptions,
  stickyCommentBody,
  upsertStickyComment,
} from '../src/github/sticky-comment.ts';
import { type FakeGitHubApi, type GitHubApiOptions, startGitHubApi } from './helpers/github-api.ts';

const TOKEN = 'ghs_fakeTokenOfTheLoopbackServer000001';
const MARKER = '<!-- restorable:check -->';
const OWNER = 'octo-org';
const REPO = 'octo-repo';
const PR = 7;

const servers: FakeGitHubApi[] = [];
async function api(options: Partial<GitHubApiOptions> = {}): Promise<FakeGitHubApi> {
  const server = await startGitHubApi({ token: TOKEN, owner: OWNER, repo: REPO, ...options });
  servers.push(server);
  return server;
}
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

function upsert(server: FakeGitHubApi, body: string, extra: Partial<StickyCommentOptions> = {}) {
  return upsertStickyComment({
    token: TOKEN,
    owner: OWNER,
    repo: REPO,
    issueNumber: PR,
    marker: MARKER,
    body,
    apiUrl: server.url,
    ...extra,
  });
}

function marked(server: FakeGitHubApi, issue = PR) {
  return server.comments(issue).filter((comment) => carriesMarker(comment.body, MARKER));
}

function others(count: number, login = 'octocat') {
  return Array.from({ length: count }, (_, i) => ({ body: `comment ${i + 1}`, user: { login } }));
}

async function rejection(promise: Promise<unknown>): Promise<StickyCommentError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StickyCommentError);
    return error as StickyCommentError;
  }
  throw new Error('expected the upsert to fail');
}

describe('upsertStickyComment', () => {
  it('creates the comment on the first push, then updates it in place across three pushes', async () => {
    const server = await api({ seed: { [PR]: others(2, 'reviewer') } });
    const bodies = [
      '## Restorable\n\nfirst push',
      '## Restorable\n\nsecond push',
      '## Restorable\n\nthird push',
    ];

    const first = await upsert(server, bodies[0]!);
    expect(first.action).toBe('created');
    expect(first.url).toBe(`https://github.com/${OWNER}/${REPO}/pull/${PR}#issuecomment-${first.id}`);
    const second = await upsert(server, bodies[1]!);
    const third = await upsert(server, bodies[2]!);
    expect([second.action, third.action]).toEqual(['updated', 'updated']);
    expect(second.id).toBe(first.id);
    expect(third.id).toBe(first.id);

    const all = server.comments(PR);
    expect(all).toHaveLength(3);
    const mine = marked(server);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.id).toBe(first.id);
    expect(mine[0]!.body).toBe(`${MARKER}\n${bodies[2]}`);
    expect(mine[0]!.user).toMatchObject({ login: 'github-actions[bot]', type: 'Bot' });
    expect(mine[0]!.updated_at > mine[0]!.created_at).toBe(true);

    const writes = server.requests.filter((r) => r.method !== 'GET');
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual([
      `POST /repos/${OWNER}/${REPO}/issues/${PR}/comments`,
      `PATCH /repos/${OWNER}/${REPO}/issues/comments/${first.id}`,
      `PATCH /repos/${OWNER}/${REPO}/issues/comments/${first.id}`,
    ]);
    expect(writes.map((r) => r.body)).toEqual(bodies.map((body) => ({ body: `${MARKER}\n${body}` })));
    expect(writes.map((r) => r.status)).toEqual([201, 200, 200]);
    const lists = server.requests.filter((r) => r.method === 'GET');
    expect(lists).toHaveLength(3);
    for (const list of lists) {
      expect(list.path).toBe(`/repos/${OWNER}/${REPO}/issues/${PR}/comments`);
      expect(list.query).toEqual({ per_page: '100' });
    }
    for (const request of server.requests) {
      expect(request.auth).toEqual({ scheme: 'token', valid: true });
      expect(request.headers.accept).toBe('application/vnd.github.v3+json');
      expect(JSON.stringify(request)).not.toContain(TOKEN);
    }

    // A fourth run with the same report writes nothing.
    const fourth = await upsert(server, bodies[2]!);
    expect(fourth).toEqual({ action: 'unchanged', id: first.id, url: third.url });
    expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(3);
  });

  it('finds the marked comment on page 3 by following the Link header', async () => {
    const server = await api({
      seed: {
        [PR]: [
          ...others(250),
          { body: `${MARKER}\nold report`, user: { login: 'github-actions[bot]', type: 'Bot' } },
          ...others(20, 'late'),
        ],
      },
    });
    const result = await upsert(server, 'new report');
    expect(result.action).toBe('updated');

    const lists = server.requests.filter((r) => r.method === 'GET');
    expect(lists.map((r) => r.query)).toEqual([
      { per_page: '100' },
      { per_page: '100', page: '2' },
      { per_page: '100', page: '3' },
    ]);
    // The follow-up pages are the Link header's URLs, which name the repository by id as GitHub does.
    expect(lists.slice(1).map((r) => r.path)).toEqual([
      `/repositories/1296269/issues/${PR}/comments`,
      `/repositories/1296269/issues/${PR}/comments`,
    ]);
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
    expect(marked(server)).toHaveLength(1);
    expect(marked(server)[0]!.body).toBe(`${MARKER}\nnew report`);
    expect(server.comments(PR)).toHaveLength(271);
  });

  it('stops paging once the marked comment is found', async () => {
    const server = await api({ seed: { [PR]: [{ body: `${MARKER}\nold` }, ...others(250)] } });
    expect((await upsert(server, 'new')).action).toBe('updated');
    expect(server.requests.filter((r) => r.method === 'GET')).toHaveLength(1);
  });

  it('reads every page before creating the comment when none carries the marker', async () => {
    const server = await api({ seed: { [PR]: others(201) } });
    expect((await upsert(server, 'report')).action).toBe('created');
    const lists = server.requests.filter((r) => r.method === 'GET');
    expect(lists.map((r) => r.query.page)).toEqual([undefined, '2', '3']);
    expect(server.comments(PR)).toHaveLength(202);
  });

  it('does not PATCH when the body is unchanged', async () => {
    const body = '## Restorable\n\nall controls pass';
    const server = await api({ seed: { [PR]: [{ body: stickyCommentBody(MARKER, body) }] } });
    const [seeded] = server.comments(PR);
    const result = await upsert(server, body);
    expect(result).toEqual({ action: 'unchanged', id: seeded!.id, url: seeded!.html_url });
    expect(server.requests.map((r) => r.method)).toEqual(['GET']);
    expect(server.comments(PR)[0]!.updated_at).toBe(seeded!.updated_at);
  });

  it('updates the oldest of two marked comments and leaves the other alone', async () => {
    const server = await api({
      seed: {
        [PR]: [
          { body: 'hello' },
          { body: `${MARKER}\nfrom job A` },
          { body: 'lgtm' },
          { body: `${MARKER}\nfrom job B` },
        ],
      },
    });
    const [, oldest, , newer] = server.comments(PR);
    const result = await upsert(server, 'third run');
    expect(result).toMatchObject({ action: 'updated', id: oldest!.id });
    const after = server.comments(PR);
    expect(after.find((c) => c.id === oldest!.id)!.body).toBe(`${MARKER}\nthird run`);
    expect(after.find((c) => c.id === newer!.id)).toEqual(newer);
    expect(server.requests.filter((r) => r.method !== 'GET')).toHaveLength(1);
  });

  it('takes only a comment whose first line carries the marker', async () => {
    const server = await api({ seed: { [PR]: [{ body: `Why does the bot write\n${MARKER}\n?` }] } });
    expect((await upsert(server, 'report')).action).toBe('created');
    expect(server.comments(PR)).toHaveLength(2);
  });

  it('keeps a marker the body already has on its first line, and adds it otherwise', () => {
    expect(stickyCommentBody(MARKER, `${MARKER}\n## Report`)).toBe(`${MARKER}\n## Report`);
    expect(stickyCommentBody(MARKER, `## Report ${MARKER}\ntext`)).toBe(`## Report ${MARKER}\ntext`);
    expect(stickyCommentBody(MARKER, `## Report\n${MARKER}`)).toBe(`${MARKER}\n## Report\n${MARKER}`);
  });

  it('turns a read-only token (fork pull request) into a clear error without the token', async () => {
    const server = await api({ readOnly: true });
    const error = await rejection(upsert(server, 'report'));
    expect(error.status).toBe(403);
    expect(error.kind).toBe('permission');
    expect(error.message).toContain(`could not comment on pull request #${PR} of ${OWNER}/${REPO}`);
    expect(error.message).toContain('Resource not accessible by integration');
    expect(error.message).toContain('permissions: pull-requests: write');
    expect(error.message).toMatch(/fork/);
    expect(error.message).not.toContain(TOKEN);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect(error.cause).toBeUndefined();
    expect(server.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 200', 'POST 403']);
  });

  it('reports a read-only token when updating too', async () => {
    const server = await api({ seed: { [PR]: [{ body: `${MARKER}\nold` }] }, readOnly: true });
    const error = await rejection(upsert(server, 'new'));
    expect(error.message).toMatch(
      /^could not update comment \d+ on pull request #7 of octo-org\/octo-repo: /,
    );
    expect(error.kind).toBe('permission');
  });

  it('turns a 404 into the same advice', async () => {
    const server = await api();
    const error = await rejection(upsert(server, 'report', { repo: 'private-repo' }));
    expect(error.status).toBe(404);
    expect(error.kind).toBe('permission');
    expect(error.message).toContain('404 Not Found');
    expect(error.message).toContain('pull-requests: write');
  });

  it('turns bad credentials into a clear error without the token', async () => {
    const server = await api({ token: 'the-right-token' });
    const error = await rejection(upsert(server, 'report'));
    expect(error.status).toBe(401);
    expect(error.kind).toBe('credentials');
    expect(error.message).toContain('401 Bad credentials');
    expect(error.message).toContain('valid token');
    expect(error.message).not.toContain(TOKEN);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.auth).toEqual({ scheme: 'token', valid: false });
  });

  it('never puts the token into a message, even when the server echoes it', async () => {
    const server = await api();
    server.failNext('GET', /comments$/, 422, `token ${TOKEN} is odd`);
    const error = await rejection(upsert(server, 'report'));
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).toContain('token *** is odd');
  });

  it('does not retry a server error', async () => {
    const server = await api({ seed: { [PR]: [{ body: `${MARKER}\nold` }] } });
    server.failNext('PATCH', /\/issues\/comments\/\d+$/, 502, 'Server Error');
    const error = await rejection(upsert(server, 'new'));
    expect(error.status).toBe(502);
    expect(error.kind).toBe('other');
    expect(error.message).toContain('502 Server Error');
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'PATCH']);
  });

  it('calls a rate limit a rate limit', async () => {
    const server = await api();
    server.failNext('GET', /comments$/, 403, 'API rate limit exceeded for installation ID 1.');
    const error = await rejection(upsert(server, 'report'));
    expect(error.kind).toBe('rate-limit');
    expect(error.message).not.toContain('pull-requests: write');
  });

  it('gives up after its deadline instead of hanging', async () => {
    const server = await api({ delayMs: 3_000 });
    const started = Date.now();
    const error = await rejection(upsert(server, 'report', { timeoutMs: 200 }));
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(error.kind).toBe('timeout');
    expect(error.message).toContain('did not answer within 0.2 s');
  });

  it('says so when the API cannot be reached', async () => {
    const server = await api();
    const url = server.url;
    await server.close();
    servers.splice(servers.indexOf(server), 1);
    const error = await rejection(
      upsertStickyComment({
        token: TOKEN,
        owner: OWNER,
        repo: REPO,
        issueNumber: PR,
        marker: MARKER,
        body: 'x',
        apiUrl: url,
      }),
    );
    expect(error.kind).toBe('network');
    expect(error.message).toContain(`could not reach the GitHub API at ${url}`);
  });

  it('cuts a body over the limit, keeping the marker, and GitHub accepts it', async () => {
    const server = await api();
    const line = `| control | ${'x'.repeat(90)} |\n`;
    const body = `## Restorable\n\n${line.repeat(1_000)}`;
    expect(body.length).toBeGreaterThan(GITHUB_COMMENT_LIMIT);
    const result = await upsert(server, body);
    expect(result.action).toBe('created');
    const [stored] = server.comments(PR);
    expect(stored!.body.length).toBeLessThanOrEqual(GITHUB_COMMENT_LIMIT);
    expect(stored!.body.startsWith(`${MARKER}\n## Restorable\n`)).toBe(true);
    expect(stored!.body).toContain("cut to fit GitHub's limit of 65,536 characters");
    // Cut at a line end: no half table row.
    expect(stored!.body).toMatch(/\| control \| x{90} \|\n\n> \[!NOTE\]/);
    // The next run with the same long body sees an identical body and writes nothing.
    expect((await upsert(server, body)).action).toBe('unchanged');
  });

  it('closes a code fence and <details> the cut left open, and never splits a surrogate pair', () => {
    const fenced = fitToLimit(
      `${MARKER}\n<details>\n\n\`\`\`diff\n${'+ line\n'.repeat(100)}\`\`\`\n</details>`,
      300,
    );
    expect(fenced.length).toBeLessThanOrEqual(300);
    expect(fenced).toMatch(/\+ line\n```\n<\/details>\n\n> \[!NOTE\]/);
    const emoji = fitToLimit(`${MARKER}\n${'🙂'.repeat(300)}`, 300);
    expect(emoji.length).toBeLessThanOrEqual(300);
    expect(emoji.startsWith(MARKER)).toBe(true);
    expect(emoji).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(fitToLimit('short', 300)).toBe('short');
  });

  it('uses GITHUB_API_URL when no apiUrl is given', async () => {
    const server = await api();
    vi.stubEnv('GITHUB_API_URL', server.url);
    const result = await upsertStickyComment({
      token: TOKEN,
      owner: OWNER,
      repo: REPO,
      issueNumber: PR,
      marker: MARKER,
      body: 'report',
    });
    expect(result.action).toBe('created');
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  it('prefers apiUrl over GITHUB_API_URL, and accepts a trailing slash', async () => {
    const server = await api();
    vi.stubEnv('GITHUB_API_URL', 'http://127.0.0.1:9');
    expect((await upsert(server, 'report', { apiUrl: `${server.url}/` })).action).toBe('created');
  });

  it('refuses a marker that is not a one-line HTML comment, before any request', async () => {
    const server = await api();
    for (const marker of ['restorable', '<!-- a\nb -->', '']) {
      const error = await rejection(upsert(server, 'report', { marker }));
      expect(error.kind).toBe('invalid');
    }
    expect((await rejection(upsert(server, 'report', { issueNumber: 0 }))).kind).toBe('invalid');
    expect((await rejection(upsert(server, 'report', { token: '' }))).kind).toBe('invalid');
    expect(server.requests).toHaveLength(0);
  });
});

describe('the fake GitHub API', () => {
  it('pages like GitHub: per_page defaults to 30, is capped at 100, and Link names prev/next/last/first', async () => {
    const server = await api({ seed: { 3: others(250) } });
    const get = (query: string) =>
      fetch(`${server.url}/repos/${OWNER}/${REPO}/issues/3/comments${query}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
    const first = await get('');
    expect(((await first.json()) as unknown[]).length).toBe(30);
    const base = `${server.url}/repositories/1296269/issues/3/comments`;
    expect(first.headers.get('link')).toBe(`<${base}?page=2>; rel="next", <${base}?page=9>; rel="last"`);
    const middle = await get('?per_page=500&page=2');
    const items = (await middle.json()) as { body: string }[];
    expect(items).toHaveLength(100);
    expect(items[0]!.body).toBe('comment 101');
    expect(middle.headers.get('link')).toBe(
      `<${base}?per_page=500&page=1>; rel="prev", <${base}?per_page=500&page=3>; rel="next", ` +
        `<${base}?per_page=500&page=3>; rel="last", <${base}?per_page=500&page=1>; rel="first"`,
    );
    const last = await get('?per_page=100&page=3');
    expect(((await last.json()) as unknown[]).length).toBe(50);
    expect(last.headers.get('link')).not.toContain('rel="next"');
    expect(server.requests.map((r) => r.auth)).toEqual(Array(3).fill({ scheme: 'bearer', valid: true }));
  });

  it('answers 401 without or with a wrong token, and 404 on unknown routes', async () => {
    const server = await api();
    const missing = await fetch(`${server.url}/repos/${OWNER}/${REPO}/issues/1/comments`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ message: 'Bad credentials' });
    const unknown = await fetch(`${server.url}/repos/${OWNER}/${REPO}/pulls/1`, {
      headers: { authorization: `token ${TOKEN}` },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: 'Not Found' });
    expect(server.requests.map((r) => r.auth.scheme)).toEqual([undefined, 'token']);
  });

  it('refuses a body over 65,536 characters as GitHub does', async () => {
    const server = await api();
    const response = await fetch(`${server.url}/repos/${OWNER}/${REPO}/issues/1/comments`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'x'.repeat(65_537) }),
    });
    expect(response.status).toBe(422);
    expect(await response.json()).toMatchObject({ message: 'Validation Failed' });
  });
});

describe('pullRequestFromEvent', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'restorable-event-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const event = (name: string, payload: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof payload === 'string' ? payload : JSON.stringify(payload));
    return path;
  };
  const payload = {
    action: 'synchronize',
    number: 42,
    pull_request: {
      number: 42,
      base: { sha: 'b'.repeat(40), ref: 'main' },
      head: { sha: 'h'.repeat(40), ref: 'feature', repo: { full_name: 'forker/octo-repo' } },
    },
    repository: { full_name: 'octo-org/octo-repo' },
  };
  const expected = {
    owner: 'octo-org',
    repo: 'octo-repo',
    number: 42,
    baseSha: 'b'.repeat(40),
    headSha: 'h'.repeat(40),
  };

  it('reads a pull_request event', () => {
    expect(pullRequestFromEvent('pull_request', event('pr.json', payload), 'octo-org/octo-repo')).toEqual(
      expected,
    );
  });

  it('reads a pull_request_target event', () => {
    expect(
      pullRequestFromEvent('pull_request_target', event('prt.json', payload), 'octo-org/octo-repo'),
    ).toEqual(expected);
  });

  it('falls back to the payload repository when GITHUB_REPOSITORY is unset', () => {
    expect(pullRequestFromEvent('pull_request', event('pr2.json', payload), undefined)).toEqual(expected);
  });

  it('is undefined for other events and outside Actions', () => {
    const path = event('push.json', { ref: 'refs/heads/main', after: 'a'.repeat(40) });
    expect(pullRequestFromEvent('push', path, 'octo-org/octo-repo')).toBeUndefined();
    expect(pullRequestFromEvent('schedule', path, 'octo-org/octo-repo')).toBeUndefined();
    expect(pullRequestFromEvent(undefined, path, 'octo-org/octo-repo')).toBeUndefined();
    expect(pullRequestFromEvent('pull_request', undefined, 'octo-org/octo-repo')).toBeUndefined();
  });

  it('throws a clear error for a pull request event whose payload is malformed', () => {
    const bad = event('bad.json', '{"pull_request": ');
    expect(() => pullRequestFromEvent('pull_request', bad, 'o/r')).toThrow(
      new RegExp(`^pull_request event: the event payload ${bad.replace(/[\\.]/g, '\\$&')} is not JSON`),
    );
    expect(() => pullRequestFromEvent('pull_request', join(dir, 'missing.json'), 'o/r')).toThrow(
      /cannot read the event payload .*missing\.json: ENOENT/,
    );
    expect(() => pullRequestFromEvent('pull_request', event('nopr.json', { action: 'x' }), 'o/r')).toThrow(
      /has no "pull_request" object/,
    );
    expect(() =>
      pullRequestFromEvent('pull_request', event('nonum.json', { pull_request: { number: 'x' } }), 'o/r'),
    ).toThrow(/has no pull request number/);
    expect(() =>
      pullRequestFromEvent('pull_request', event('norepo.json', { pull_request: { number: 1 } }), 'bad'),
    ).toThrow(/GITHUB_REPOSITORY is "bad", not "owner\/repo"/);
  });
});
