import { spawn } from 'node:child_process';

/**
 * A small runner for git's plumbing: arguments as an array (no shell), an environment of our choosing, bytes
 * on stdin, stdout as bytes. The evidence branch needs stdin for nearly everything it does (mktree,
 * cat-file --batch, hash-object --stdin), which is why this is not simple-git (docs/decisions/0016).
 *
 * Secrets never go into argv: credentials reach git through GIT_CONFIG_COUNT/GIT_CONFIG_KEY_n/GIT_CONFIG_VALUE_n
 * in the child's environment (see withConfig), and every message this module builds has them redacted.
 */

export class GitError extends Error {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stderr: string;

  constructor(message: string, args: readonly string[], code: number | null, stderr: string) {
    super(message);
    this.name = 'GitError';
    this.args = args;
    this.code = code;
    this.stderr = stderr;
  }
}

export interface GitObject {
  id: string;
  /** blob, tree, commit or tag */
  type: string;
  content: Buffer;
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: string | Uint8Array;
  /** Exit codes that are not errors (default: 0 only). */
  ok?: readonly number[];
  /** Extra environment for this call only. */
  env?: Record<string, string>;
}

/**
 * Variables git never needs and must not see: the tool's own (passphrases, keys, tokens; RESTORABLE_GIT, the
 * program to run, aside), the Action's inputs (INPUT_*, which hold the same secrets), the job's token and
 * cloud credentials.
 */
const SECRET_VARIABLE =
  /^(RESTORABLE_(?!GIT$).+|INPUT_.+|GITHUB_TOKEN|ACTIONS_RUNTIME_TOKEN|ACTIONS_ID_TOKEN_REQUEST_TOKEN|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN)$/;

/** The path of the git program: `git` on PATH, unless RESTORABLE_GIT names another. */
export function gitProgram(env: NodeJS.ProcessEnv): string {
  return env.RESTORABLE_GIT || 'git';
}

/** Values that must never appear in a message, replaced by `***`. */
function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

export class Git {
  /** The directory git runs in (a work tree or a bare repository). */
  readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly secrets: readonly string[];

  constructor(cwd: string, env: NodeJS.ProcessEnv = process.env, secrets: readonly string[] = []) {
    this.cwd = cwd;
    // No prompts (a CI job would hang), messages in English (some are matched), never another index, and
    // none of the tool's secrets: git gets its credentials through GIT_CONFIG_* (withConfig), nothing else.
    const rest = Object.fromEntries(
      Object.entries(env).filter(([name]) => name !== 'GIT_INDEX_FILE' && !SECRET_VARIABLE.test(name)),
    );
    this.env = { ...rest, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', LANGUAGE: 'C' };
    this.secrets = secrets;
  }

  /** The same repository with more environment (e.g. credentials), keeping the secrets to redact. */
  with(env: Record<string, string>, secrets: readonly string[] = []): Git {
    return new Git(this.cwd, { ...this.env, ...env }, [...this.secrets, ...secrets]);
  }

  /** Runs git; throws GitError (stderr included, secrets redacted) on an exit code not in `ok`. */
  run(args: readonly string[], options: RunOptions = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(gitProgram(this.env), args, {
        cwd: this.cwd,
        env: options.env ? { ...this.env, ...options.env } : this.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.stdin.on('error', () => {
        // git may exit before reading all of stdin (an error); its exit status says what happened.
      });
      child.on('error', (error) => {
        reject(
          new GitError(`cannot run git (${error.message}); is git installed and on PATH?`, args, null, ''),
        );
      });
      child.on('close', (code, signal) => {
        const stderr = redact(Buffer.concat(err).toString('utf8'), this.secrets);
        const status = code ?? -1;
        if ((options.ok ?? [0]).includes(status)) {
          resolve({ code: status, stdout: Buffer.concat(out), stderr });
          return;
        }
        const what = redact(`git ${args.slice(0, 3).join(' ')}${args.length > 3 ? ' …' : ''}`, this.secrets);
        const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
        const detail = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-6).join(' | ')}` : '';
        reject(new GitError(`${what} in ${this.cwd} ${why}${detail}`, args, code, stderr));
      });
      if (options.input !== undefined) child.stdin.end(options.input);
      else child.stdin.end();
    });
  }

  /** stdout as text, without the final newline. */
  async text(args: readonly string[], options: RunOptions = {}): Promise<string> {
    return (await this.run(args, options)).stdout.toString('utf8').replace(/\n$/, '');
  }

  /** The object a revision names, or undefined when it names none. */
  async resolve(revision: string): Promise<string | undefined> {
    const result = await this.run(['rev-parse', '--verify', '--quiet', '--end-of-options', revision], {
      ok: [0, 1, 128],
    });
    return result.code === 0 ? result.stdout.toString('utf8').trim() : undefined;
  }

  /** Whether `ancestor` is `descendant` or one of its ancestors. */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const result = await this.run(['merge-base', '--is-ancestor', ancestor, descendant], { ok: [0, 1] });
    return result.code === 0;
  }

  /** The contents of many objects at once (`cat-file --batch`); missing ones are absent from the map. */
  async readObjects(names: readonly string[]): Promise<Map<string, Buffer>> {
    const objects = await this.catObjects(names);
    return new Map([...objects].map(([name, object]) => [name, object.content]));
  }

  /** Objects by name (an id, or `<rev>:<path>`) with their ids and types, in one `cat-file --batch`. */
  async catObjects(names: readonly string[]): Promise<Map<string, GitObject>> {
    const objects = new Map<string, GitObject>();
    const unique = [...new Set(names)];
    if (unique.length === 0) return objects;
    const bad = unique.find((name) => /[\r\n]/.test(name));
    if (bad !== undefined)
      throw new GitError(`cannot read ${JSON.stringify(bad)}: a line break in an object name`, [], 0, '');
    const { stdout } = await this.run(['cat-file', '--batch'], { input: `${unique.join('\n')}\n` });
    let at = 0;
    for (const name of unique) {
      const end = stdout.indexOf(0x0a, at);
      if (end < 0) throw new GitError(`git cat-file --batch stopped early at ${name}`, ['cat-file'], 0, '');
      const header = stdout.subarray(at, end).toString('utf8');
      at = end + 1;
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) continue;
      const [id, type, sizeText] = header.split(' ');
      const size = Number(sizeText);
      if (!id || !type || !Number.isSafeInteger(size)) {
        throw new GitError(`git cat-file --batch printed "${header}" for ${name}`, ['cat-file'], 0, '');
      }
      objects.set(name, { id, type, content: stdout.subarray(at, at + size) });
      at += size + 1;
    }
    return objects;
  }

  /** Writes a blob; returns its id. */
  async writeBlob(content: string | Uint8Array): Promise<string> {
    return this.text(['hash-object', '-w', '--stdin', '--no-filters'], { input: content });
  }
}

/**
 * Environment that adds git configuration without a command line or a file: GIT_CONFIG_COUNT and
 * GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n, after any the environment already holds.
 */
export function withConfig(
  env: NodeJS.ProcessEnv,
  entries: readonly (readonly [key: string, value: string])[],
): Record<string, string> {
  const existing = Number(env.GIT_CONFIG_COUNT ?? 0);
  const start = Number.isSafeInteger(existing) && existing > 0 ? existing : 0;
  const out: Record<string, string> = { GIT_CONFIG_COUNT: String(start + entries.length) };
  entries.forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${start + i}`] = key;
    out[`GIT_CONFIG_VALUE_${start + i}`] = value;
  });
  return out;
}
