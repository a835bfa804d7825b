import { type Git, withConfig } from './git.ts';

/**
 * Credentials for pushing and fetching the evidence branch.
 *
 * - A repository cloned by actions/checkout already holds an `http.<server>/.extraheader` with the job's
 *   token (in .git/config, written by checkout, not by us): git uses it as it is.
 * - Otherwise, a token in the environment (RESTORABLE_EVIDENCE_TOKEN, else GITHUB_TOKEN) is handed to git
 *   as the same header through GIT_CONFIG_COUNT/GIT_CONFIG_KEY_0/GIT_CONFIG_VALUE_0 in the child's
 *   environment: never on a command line (visible to every user in `ps`), never in .git/config. It is
 *   only sent to the GitHub server (GITHUB_SERVER_URL, default https://github.com), and only over https
 *   (http for a loopback server, for tests).
 */

export const TOKEN_ENV = ['RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_TOKEN'] as const;

function serverOrigin(env: NodeJS.ProcessEnv): URL | undefined {
  try {
    return new URL(env.GITHUB_SERVER_URL || 'https://github.com');
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** The remote's URL as git resolves it (insteadOf applied), or undefined when there is no such remote. */
export async function remoteUrl(git: Git, remote: string): Promise<string | undefined> {
  const result = await git.run(['remote', 'get-url', '--', remote], { ok: [0, 2, 128] });
  return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
}

/**
 * `git` with the environment's token added for `url` when one is needed and allowed; otherwise `git`
 * itself. The token (and the header made from it) are redacted from every message the result builds.
 */
export async function withCredentials(git: Git, url: string, env: NodeJS.ProcessEnv): Promise<Git> {
  const tokenVar = TOKEN_ENV.find((name) => env[name]);
  if (!tokenVar) return git;
  const token = env[tokenVar]!;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return git; // a path or scp-like address: no HTTP, no header
  }
  const server = serverOrigin(env);
  const secure = target.protocol === 'https:' || (target.protocol === 'http:' && isLoopback(target.hostname));
  if (!server || !secure || target.host !== server.host || target.protocol !== server.protocol) return git;
  // actions/checkout's persisted header wins: two Authorization headers would be refused.
  const configured = await git.run(['config', '--get-urlmatch', 'http.extraheader', url], { ok: [0, 1] });
  if (configured.code === 0) return git;
  const basic = Buffer.from(`x-access-token:${token}`, 'utf8').toString('base64');
  const header = `AUTHORIZATION: basic ${basic}`;
  return git.with(withConfig(env, [[`http.${server.origin}/.extraheader`, header]]), [token, basic]);
}
