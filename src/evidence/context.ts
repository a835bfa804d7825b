import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Git } from './git.ts';
import type { PolicyEntry, RunContext } from './record.ts';

/** The run's context: the GitHub Actions job from GITHUB_* and RUNNER_*, or this machine. */
export function runContext(env: NodeJS.ProcessEnv): RunContext {
  const value = (name: string, max: number) => {
    const text = env[name];
    return text ? text.slice(0, max) : undefined;
  };
  const inActions = env.GITHUB_ACTIONS === 'true';
  const sha =
    env.GITHUB_SHA && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(env.GITHUB_SHA) ? env.GITHUB_SHA : undefined;
  const context: RunContext = {
    ci: inActions ? 'github-actions' : 'none',
    repository: value('GITHUB_REPOSITORY', 256),
    serverUrl: value('GITHUB_SERVER_URL', 256),
    workflow: value('GITHUB_WORKFLOW', 1024),
    workflowRef: value('GITHUB_WORKFLOW_REF', 1024),
    job: value('GITHUB_JOB', 256),
    runId: value('GITHUB_RUN_ID', 64),
    runAttempt: value('GITHUB_RUN_ATTEMPT', 16),
    event: value('GITHUB_EVENT_NAME', 64),
    actor: value('GITHUB_ACTOR', 256),
    ref: value('GITHUB_REF', 1024),
    sha,
    runner: {
      name: value('RUNNER_NAME', 256) ?? (inActions ? undefined : hostname().slice(0, 256)),
      os: value('RUNNER_OS', 64) ?? process.platform,
      arch: value('RUNNER_ARCH', 64) ?? process.arch,
      environment: value('RUNNER_ENVIRONMENT', 64),
    },
  };
  return JSON.parse(JSON.stringify(context)) as RunContext;
}

/** The git blob id of `content`, computed as git does for a SHA-1 repository (no filters). */
function blobId(content: Uint8Array, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${content.length}\0`).update(content).digest('hex');
}

/**
 * The policy entries for files read by a run (paths relative to `root`, with `/`): each file's blob id and,
 * in a git repository, HEAD and whether the file differs from its version there. Outside git, the blob id
 * is computed the way git would (SHA-1) and there is no commit.
 */
export async function policyEntries(
  root: string,
  files: readonly { file: string; name?: string }[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<PolicyEntry[]> {
  const git = new Git(root, env);
  let commit: string | undefined;
  let algorithm: 'sha1' | 'sha256' = 'sha1';
  let inGit = false;
  try {
    const format = await git.text(['rev-parse', '--show-object-format']);
    inGit = true;
    algorithm = format === 'sha256' ? 'sha256' : 'sha1';
    commit = await git.resolve('HEAD^{commit}');
  } catch {
    // not a git repository (or no git): blob ids are computed here
  }
  const committed = new Map<string, string>();
  const listable = files.filter(({ file }) => !/[\n\r]/.test(file));
  if (inGit && commit && listable.length > 0) {
    // One process for all files: `HEAD:./path` is the path relative to `root`.
    const { stdout } = await git.run(['cat-file', '--batch-check=%(objectname) %(objecttype)'], {
      input: `${listable.map(({ file }) => `${commit}:./${file}`).join('\n')}\n`,
    });
    stdout
      .toString('utf8')
      .split('\n')
      .slice(0, listable.length)
      .forEach((line, i) => {
        const [id, type] = line.split(' ');
        if (type === 'blob' && id) committed.set(listable[i]!.file, id);
      });
  }
  const entries: PolicyEntry[] = [];
  for (const { file, name } of files) {
    const blob = blobId(await readFile(join(root, file)), algorithm);
    const entry: PolicyEntry = { file, blob };
    if (name !== undefined) entry.name = name;
    if (commit) {
      entry.commit = commit;
      entry.modified = committed.get(file) !== blob;
    }
    entries.push(entry);
  }
  return entries;
}
