import { setTimeout as sleep } from 'node:timers/promises';
import { VERSION } from '../assets.ts';
import { DEFAULT_EVIDENCE_BRANCH } from '../policy/config.ts';
import { runContext } from './context.ts';
import { remoteUrl, withCredentials } from './credentials.ts';
import { Git, GitError, type GitObject } from './git.ts';
import {
  buildRecord,
  type ChainPosition,
  type EvidenceRecord,
  MAX_RECORD_BYTES,
  MAX_SEQUENCE,
  parseRecordPath,
  RECORDS_DIR,
  type RecordDraft,
  recordBytes,
  recordHash,
  recordPath,
  shardPath,
  signaturePath,
} from './record.ts';
import { recordSchemaProblems } from './schema.ts';
import { normalizeFingerprint, type Signer } from './signing.ts';
import { type EvidenceState, nextState, parseState, STATE_FILE, stateBytes } from './state.ts';
import { parseTree, type TreeChange, writeTree } from './tree.ts';

/**
 * The evidence branch writer. One append = one commit on an orphan branch that adds a record, its signature,
 * and rewrites state.json (plus the public key and any pages the caller renders), built with plumbing on the
 * tip's tree: no checkout, no index, cost independent of the number of records.
 *
 * With a remote, the commit is pushed without force, so a push that lost a race to another writer is refused
 * (non-fast-forward); the writer then fetches the new tip, re-chains the record on it (new sequence, new
 * `previous`, new signature, since the bytes change) and tries again, a bounded number of times.
 * See docs/evidence-format.md.
 */

export const KEYS_DIR = 'keys';

/** Files the writer owns; a pages hook may not write them. */
const RESERVED = [RECORDS_DIR, KEYS_DIR, STATE_FILE];

export class EvidenceError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EvidenceError';
  }
}

/** The remote could not be reached or refused for a reason of its own (a 503, a reset): worth another try. */
export class EvidenceTransportError extends EvidenceError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EvidenceTransportError';
  }
}

/** Transport failures one append rides out (each followed by a backoff) before it reports the last. */
const TRANSPORT_RETRIES = 4;

/** What a pages hook is given to render files (README.md …) into the same commit as the record. */
export interface PagesInput {
  record: EvidenceRecord;
  /** Path of the record on the branch. */
  file: string;
  sha256: string;
  /** The state after this record. */
  state: EvidenceState;
  /** The state before it; undefined for the first record (or when the tip's state.json had to be rebuilt). */
  previousState?: EvidenceState;
  /** The evidence branch's name. */
  branch: string;
  /**
   * Reads a file as it is on the tip the record is added to (undefined when absent or on a new branch).
   * Reads started in the same tick (e.g. under one Promise.all) share one `git cat-file --batch`.
   */
  read(path: string): Promise<Buffer | undefined>;
  /** The names in a directory on that tip (undefined when there is none); batched with the reads. */
  list(path: string): Promise<string[] | undefined>;
}

/** Files (path → content) to write at the branch's root or below, beside records/, keys/ and state.json. */
export type PagesHook = (input: PagesInput) => Promise<Record<string, string | Uint8Array>>;

export interface AppendOptions {
  /** The repository: a work tree, or a bare repository. */
  root: string;
  /** Default: restorable-evidence. */
  branch?: string;
  /**
   * The remote to push to. A name: fetch, append, push, retry on a race. null: local mode, only the
   * branch in `root` is updated. Default: `origin` when `root` has one, else local mode.
   */
  remote?: string | null;
  signer: Signer;
  /** The pinned fingerprint (`evidence.signingKey.fingerprint`): a signer with another key is refused. */
  fingerprint?: string;
  /** Default: process.env. Holds the token, when one is used (see credentials.ts). */
  env?: NodeJS.ProcessEnv;
  /** Appends tried before giving up on a busy branch (default 20). */
  maxAttempts?: number;
  now?: () => Date;
  log?: (line: string) => void;
  pages?: PagesHook;
}

export interface AppendResult {
  record: EvidenceRecord;
  /** The exact bytes stored (and signed). */
  bytes: Uint8Array;
  file: string;
  sha256: string;
  signature: string;
  commit: string;
  branch: string;
  /** Where the branch was written: the remote's name, or null for local mode. */
  remote: string | null;
  /** 1 when the first try landed. */
  attempts: number;
}

interface Tip {
  commit: string | undefined;
  /** The local branch before this append (remote mode: the tip this repository last wrote or saw). */
  known: string | undefined;
  /** The tip's state.json, read with the tip. */
  stateBlob: Buffer | undefined;
}

interface Target {
  git: Git;
  env: NodeJS.ProcessEnv;
  branch: string;
  remote: string | null;
  /** The ref the tip is read from: the remote-tracking ref, or the branch itself. */
  tipRef: string;
  /**
   * A shallow clone (actions/checkout's default): the branch is fetched with --depth=1, the tip and its tree
   * being all an append needs, instead of its whole history.
   */
  shallow: boolean;
}

const BRANCH_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)[A-Za-z0-9._/-]{1,200}(?<!\.lock)(?<![./])$/;

export function checkBranchName(branch: string): string {
  if (!BRANCH_NAME.test(branch)) throw new EvidenceError(`"${branch}" is not a valid evidence branch name`);
  return branch;
}

/** Appends one record to the evidence branch; returns where it landed. */
export async function appendRecord(draft: RecordDraft, options: AppendOptions): Promise<AppendResult> {
  const env = options.env ?? process.env;
  const branch = checkBranchName(options.branch ?? DEFAULT_EVIDENCE_BRANCH);
  const signer = options.signer;
  if (options.fingerprint !== undefined) {
    const pinned = normalizeFingerprint(options.fingerprint, 'evidence.signingKey.fingerprint');
    if (pinned !== signer.fingerprint) {
      throw new EvidenceError(
        `the evidence signing key is ${signer.fingerprint}, but the configuration pins ${pinned}: records it signs would not verify. Use the pinned key, or pin this one in .restorable/config.yaml.`,
      );
    }
  }
  const base = new Git(options.root, env);
  const [target] = await Promise.all([
    openTarget(base, branch, options.remote, env),
    refuseCheckedOut(base, branch),
  ]);
  const now = options.now ?? (() => new Date());
  const defaults = { time: now(), run: draft.run ?? runContext(env), toolVersion: VERSION };
  const maxAttempts = options.maxAttempts ?? 20;

  // A push whose answer was lost may have landed: before building again, look for the last commit built.
  let pending: Built | undefined;
  let transportFailures = 0;
  const landed = (built: Built, attempt: number): AppendResult => ({
    ...built,
    branch,
    remote: target.remote,
    attempts: attempt,
  });
  for (let attempt = 1; ; attempt++) {
    const moved = true;
    try {
      const tip = await fetchTip(target);
      if (pending && (await holdsRecord(target, tip, pending))) return landed(pending, attempt);
      pending = await buildCommit(target, tip, draft, defaults, signer, options.pages);
      if (await publish(target, tip, pending.commit)) return landed(pending, attempt);
    } catch (error) {
      if (!(error instanceof EvidenceTransportError) || ++transportFailures > TRANSPORT_RETRIES) throw error;
      options.log?.(
        `evidence: ${error.message}; trying again (${transportFailures} of ${TRANSPORT_RETRIES})`,
      );
    }
    if (attempt >= maxAttempts) {
      const what = pending
        ? `the record (${pending.record.kind} ${pending.record.systems.map((s) => s.name).join(', ') || 'of no system'})`
        : 'the record';
      throw new EvidenceError(
        `could not append to ${where(target)}: other writers moved it during each of ${attempt} attempts; ${what} was not written. Run again later.`,
      );
    }
    if (moved) {
      options.log?.(
        `evidence: ${where(target)} moved while appending (attempt ${attempt}); re-chaining on the new tip`,
      );
    }
    // Jittered exponential backoff, so writers that collided do not collide again in step.
    await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
  }
}

/**
 * Whether the branch at `tip` already holds `built`'s record, byte for byte (its push landed though its
 * answer was lost). Compared by the record file's blob, which a shallow fetch has too.
 */
async function holdsRecord(target: Target, tip: Tip, built: Built): Promise<boolean> {
  if (tip.commit === undefined) return false;
  if (tip.commit === built.commit) return true;
  const names = [`${built.commit}:${built.file}`, `${tip.commit}:${built.file}`];
  const objects = await target.git.catObjects(names);
  const mine = objects.get(names[0]!)?.id;
  return mine !== undefined && mine === objects.get(names[1]!)?.id;
}

function where(target: Target): string {
  return target.remote === null ? `branch ${target.branch}` : `${target.remote}/${target.branch}`;
}

async function openTarget(
  base: Git,
  branch: string,
  remote: string | null | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Target> {
  const local = { git: base, env, branch, remote: null, tipRef: `refs/heads/${branch}`, shallow: false };
  if (remote === null) return local;
  const name = remote ?? 'origin';
  const [url, shallow] = await Promise.all([remoteUrl(base, name), isShallow(base)]);
  if (url === undefined && remote === undefined) return local;
  if (url === undefined) {
    throw new EvidenceError(`${base.cwd} has no remote "${name}" to push the evidence branch to`);
  }
  return {
    git: await withCredentials(base, url, env),
    env,
    branch,
    remote: name,
    tipRef: `refs/remotes/${name}/${branch}`,
    shallow,
  };
}

/** Whether `branch` is checked out in the work tree of `git` (moving its ref would leave the files behind). */
export async function isCheckedOut(git: Git, branch: string): Promise<boolean> {
  const [head, bare] = await Promise.all([
    git.run(['symbolic-ref', '--quiet', 'HEAD'], { ok: [0, 1, 128] }),
    git.text(['rev-parse', '--is-bare-repository']),
  ]);
  return head.code === 0 && head.stdout.toString('utf8').trim() === `refs/heads/${branch}` && bare !== 'true';
}

/** The writer never touches a work tree: a branch that is checked out is refused. */
async function refuseCheckedOut(git: Git, branch: string): Promise<void> {
  if (await isCheckedOut(git, branch)) {
    throw new EvidenceError(
      `${branch} is checked out in ${git.cwd}; the evidence branch is written without a work tree, so check out another branch`,
    );
  }
}

/**
 * The tip to build on: fetched from the remote (remote mode), or the local branch; read in one
 * `cat-file --batch` together with the local branch and the tip's state.json.
 */
async function fetchTip(target: Target): Promise<Tip> {
  const { git, branch, remote } = target;
  const local = `refs/heads/${branch}^{commit}`;
  if (remote !== null) {
    const fetched = await git.run(
      [
        'fetch',
        '--quiet',
        '--no-tags',
        ...(target.shallow ? ['--depth=1'] : []),
        '--',
        remote,
        `+refs/heads/${branch}:${target.tipRef}`,
      ],
      { ok: [0, 1, 128] },
    );
    if (fetched.code !== 0) {
      if (!/couldn't find remote ref/i.test(fetched.stderr)) {
        throw new EvidenceTransportError(
          `cannot fetch ${branch} from ${remote}: ${fetched.stderr.trim() || `git fetch exited with ${fetched.code}`}`,
        );
      }
      // The remote has no evidence branch yet. One this repository knows of must not silently restart.
      const known = await git.resolve(local);
      if (known !== undefined) {
        throw new EvidenceError(
          `${remote} has no branch ${branch}, but this repository has one (at ${known.slice(0, 12)}): refusing to start a new chain. Was the branch deleted on ${remote}? Push the local one back (git push ${remote} ${branch}) or delete it locally.`,
        );
      }
      await git.run(['update-ref', '-d', target.tipRef]);
      return { commit: undefined, known: undefined, stateBlob: undefined };
    }
  }
  const names = [`${target.tipRef}^{commit}`, local, `${target.tipRef}:${STATE_FILE}`];
  const objects = await git.catObjects(names);
  const tip = objects.get(names[0]!);
  const known = objects.get(names[1]!)?.id;
  if (tip === undefined) return { commit: undefined, known, stateBlob: undefined };
  const commit = tip.id;
  if (
    remote !== null &&
    known !== undefined &&
    known !== commit &&
    !(await contains(target, commit, known))
  ) {
    throw new EvidenceError(
      `${remote}/${branch} (at ${commit.slice(0, 12)}) does not contain the tip this repository last saw (${known.slice(0, 12)}): the evidence branch was rewritten or reset. Run \`restorable evidence verify --known-tip ${known}\` to see what changed; nothing was written.`,
    );
  }
  return { commit, known, stateBlob: objects.get(names[2]!)?.content };
}

/** Whether shallow clones are what `git` works in. */
export async function isShallow(git: Git): Promise<boolean> {
  return (await git.text(['rev-parse', '--is-shallow-repository'])) === 'true';
}

/**
 * Whether the branch at `tip` still contains what this repository saw at `known`: `known` is an ancestor or,
 * in a shallow clone (where the history between them may not be here), the record that was the head at
 * `known` is still on the branch, byte for byte.
 */
async function contains(target: Target, tip: string, known: string): Promise<boolean> {
  const { git } = target;
  if (await git.isAncestor(known, tip)) return true;
  if (!target.shallow) return false;
  const stateName = `${known}:${STATE_FILE}`;
  const state = parseState((await git.readObjects([stateName])).get(stateName) ?? Buffer.alloc(0));
  if (!state) return false;
  const names = [`${known}:${state.head.file}`, `${tip}:${state.head.file}`];
  const objects = await git.catObjects(names);
  const before = objects.get(names[0]!)?.id;
  return before !== undefined && before === objects.get(names[1]!)?.id;
}

interface Built {
  record: EvidenceRecord;
  bytes: Uint8Array;
  file: string;
  sha256: string;
  signature: string;
  commit: string;
}

async function buildCommit(
  target: Target,
  tip: Tip,
  draft: RecordDraft,
  defaults: Parameters<typeof buildRecord>[2],
  signer: Signer,
  pages: PagesHook | undefined,
): Promise<Built> {
  const { git } = target;
  const { position, state } = await chainHead(git, tip, signer.fingerprint);
  if (position.sequence > MAX_SEQUENCE) {
    throw new EvidenceError(`${where(target)} is full: it holds ${MAX_SEQUENCE + 1} records`);
  }
  const record = buildRecord(draft, position, defaults);
  const problems = recordSchemaProblems(record);
  if (problems.length > 0) {
    throw new EvidenceError(`the ${record.kind} record is not valid evidence: ${problems.join('; ')}`);
  }
  const bytes = recordBytes(record);
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new EvidenceError(
      `the ${record.kind} record is ${bytes.length} bytes; records are limited to ${MAX_RECORD_BYTES}`,
    );
  }
  const sha256 = recordHash(bytes);
  const file = recordPath(record);
  const signature = await signer.sign(bytes);
  const newState = nextState(state, record, file, sha256, signer.fingerprint);
  const files: Record<string, string | Uint8Array> = {};
  if (pages) {
    const rendered = await pages({
      record,
      file,
      sha256,
      state: newState,
      ...(state ? { previousState: state } : {}),
      branch: target.branch,
      ...batchedReader(git, tip.commit),
    });
    for (const [path, content] of Object.entries(rendered)) {
      if (RESERVED.some((reserved) => path === reserved || path.startsWith(`${reserved}/`))) {
        throw new EvidenceError(
          `a page may not be written to ${path}: the writer owns ${RESERVED.join(', ')}`,
        );
      }
      files[path] = content;
    }
  }
  files[`${KEYS_DIR}/${signer.fingerprint}.asc`] = signer.publicKey;
  files[STATE_FILE] = stateBytes(newState);
  const written = [
    { path: file, content: bytes, create: true },
    { path: signaturePath(file), content: signature, create: true },
    ...Object.entries(files).map(([path, content]) => ({ path, content, create: false })),
  ];
  const changes: TreeChange[] = await Promise.all(
    written.map(async ({ path, content, create }) => ({ path, blob: await git.writeBlob(content), create })),
  );
  const tree = await writeTree(git, tip.commit, changes);
  const subject = record.systems.length === 1 ? ` ${record.systems[0]!.name}` : '';
  const message = [
    `evidence ${record.sequence}: ${record.kind}${subject} (${record.outcome})`,
    '',
    `Record: ${file}`,
    `Record-SHA256: ${sha256}`,
    `Previous-SHA256: ${record.previous ?? 'none'}`,
    '',
  ].join('\n');
  const commit = await git.text(['commit-tree', tree, ...(tip.commit ? ['-p', tip.commit] : [])], {
    input: message,
    env: identity(target.env),
  });
  return { record, bytes, file, sha256, signature, commit };
}

/**
 * Readers of files and directories on `commit` that gather the reads started in one tick into one
 * `cat-file --batch`, so a pages hook that reads a few dozen pages at once costs one git process, not dozens.
 */
function batchedReader(git: Git, commit: string | undefined): Pick<PagesInput, 'read' | 'list'> {
  type Waiter = { resolve(object: GitObject | undefined): void; reject(error: unknown): void };
  let pending: Map<string, Waiter[]> | undefined;
  const flush = async () => {
    const batch = pending!;
    pending = undefined;
    try {
      const objects = await git.catObjects([...batch.keys()].map((path) => `${commit}:${path}`));
      for (const [path, waiters] of batch)
        for (const w of waiters) w.resolve(objects.get(`${commit}:${path}`));
    } catch (error) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(error);
    }
  };
  const object = (path: string): Promise<GitObject | undefined> => {
    if (commit === undefined || path === '' || /[\r\n]/.test(path)) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      if (pending === undefined) {
        pending = new Map();
        queueMicrotask(() => void flush());
      }
      const waiters = pending.get(path) ?? [];
      waiters.push({ resolve, reject });
      pending.set(path, waiters);
    });
  };
  return {
    read: async (path) => {
      const found = await object(path);
      return found?.type === 'blob' ? found.content : undefined;
    },
    list: async (path) => {
      const found = await object(path.replace(/\/+$/, ''));
      return found?.type === 'tree' ? [...parseTree(found.content, found.id.length).keys()] : undefined;
    },
  };
}

/** The commit's author and committer: the environment's GIT_AUTHOR_* / GIT_COMMITTER_*, else Restorable. */
function identity(env: NodeJS.ProcessEnv): Record<string, string> {
  const name = 'Restorable';
  const email = 'evidence@restorable.invalid';
  return {
    GIT_AUTHOR_NAME: env.GIT_AUTHOR_NAME || name,
    GIT_AUTHOR_EMAIL: env.GIT_AUTHOR_EMAIL || email,
    GIT_COMMITTER_NAME: env.GIT_COMMITTER_NAME || env.GIT_AUTHOR_NAME || name,
    GIT_COMMITTER_EMAIL: env.GIT_COMMITTER_EMAIL || env.GIT_AUTHOR_EMAIL || email,
  };
}

/**
 * The next record's place in the chain, from the tip's state.json, checked cheaply against the records (the
 * head it names exists with that hash, and no record follows it). When state.json is missing or wrong it is
 * rebuilt from every record (slow, but only then).
 */
async function chainHead(
  git: Git,
  tip: Tip,
  fingerprint: string,
): Promise<{ position: ChainPosition; state: EvidenceState | undefined }> {
  if (!tip.commit) return { position: { sequence: 0, previous: null }, state: undefined };
  const state = tip.stateBlob ? parseState(tip.stateBlob) : undefined;
  // state.json is data on the branch, not trusted: its head must name a record file of its own sequence.
  if (state && parseRecordPath(state.head.file)?.sequence === state.head.sequence) {
    const next = state.head.sequence + 1;
    const headName = `${tip.commit}:${state.head.file}`;
    const shardName = `${tip.commit}:${shardPath(next)}`;
    const objects = await git.catObjects([headName, shardName]);
    const head = objects.get(headName);
    const shard = objects.get(shardName);
    const prefix = `${String(next).padStart(8, '0')}-`;
    const following =
      shard?.type === 'tree' &&
      [...parseTree(shard.content, shard.id.length).keys()].some((name) => name.startsWith(prefix));
    if (head?.type === 'blob' && recordHash(head.content) === state.head.sha256 && !following) {
      return { position: { sequence: next, previous: state.head.sha256 }, state };
    }
  }
  return rebuildHead(git, tip.commit, fingerprint);
}

/** Reads every record of `commit` to find the head and rebuild the state. */
async function rebuildHead(
  git: Git,
  commit: string,
  fingerprint: string,
): Promise<{ position: ChainPosition; state: EvidenceState | undefined }> {
  const listing = await git.run(['ls-tree', '-r', '-z', '--full-tree', commit, '--', `${RECORDS_DIR}/`]);
  const records = listing.stdout
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      return { path: line.slice(tab + 1), id: line.slice(0, tab).split(' ')[2]! };
    })
    .map((entry) => ({ ...entry, parsed: parseRecordPath(entry.path) }))
    .filter((entry) => entry.parsed !== undefined)
    .sort((a, b) => a.parsed!.sequence - b.parsed!.sequence);
  if (records.length === 0) return { position: { sequence: 0, previous: null }, state: undefined };
  const contents = await git.readObjects(records.map((r) => r.id));
  let state: EvidenceState | undefined;
  for (const entry of records) {
    const bytes = contents.get(entry.id);
    if (!bytes) throw new EvidenceError(`${entry.path} on the evidence branch cannot be read`);
    let record: EvidenceRecord | undefined;
    try {
      record = JSON.parse(bytes.toString('utf8')) as EvidenceRecord;
    } catch {
      record = undefined;
    }
    if (record === undefined || recordSchemaProblems(record).length > 0) {
      throw new EvidenceError(
        `${entry.path} on the evidence branch is not a valid record, so the chain's head cannot be found; run \`restorable evidence verify\``,
      );
    }
    state = nextState(
      state,
      { ...record, sequence: entry.parsed!.sequence },
      entry.path,
      recordHash(bytes),
      fingerprint,
    );
  }
  return { position: { sequence: state!.head.sequence + 1, previous: state!.head.sha256 }, state };
}

/**
 * Moves the branch to `commit` if it is still at `tip`: a push without force (remote mode) or a
 * compare-and-swap of the ref (local mode). False when another writer got there first; throws on any
 * other failure.
 */
/**
 * Remembers a pushed tip: the remote-tracking ref, and the local branch (what a later writer or `evidence
 * verify` compares a fetched tip with). Compare-and-swap: another writer may have moved them.
 */
async function rememberTip(target: Target, tip: Tip, commit: string): Promise<void> {
  const { git, branch } = target;
  await Promise.all([
    git.run(['update-ref', target.tipRef, commit], { ok: [0, 1, 128] }),
    git.run(
      [
        'update-ref',
        '-m',
        'restorable: evidence record pushed',
        `refs/heads/${branch}`,
        commit,
        tip.known ?? '',
      ],
      { ok: [0, 1, 128] },
    ),
  ]);
}

async function publish(target: Target, tip: Tip, commit: string): Promise<boolean> {
  const { git, branch, remote } = target;
  if (remote === null) {
    const result = await git.run(
      ['update-ref', '-m', 'restorable: evidence record', `refs/heads/${branch}`, commit, tip.commit ?? ''],
      { ok: [0, 1, 128] },
    );
    if (result.code === 0) return true;
    const now = await git.resolve(`refs/heads/${branch}^{commit}`);
    if (now !== tip.commit) return false;
    throw new EvidenceError(`cannot update branch ${branch} in ${git.cwd}: ${result.stderr.trim()}`);
  }
  const pushed = await git.run(
    ['push', '--porcelain', '--no-verify', '--', remote, `${commit}:refs/heads/${branch}`],
    { ok: [0, 1, 128] },
  );
  if (pushed.code === 0) {
    await rememberTip(target, tip, commit);
    return true;
  }
  const output = `${pushed.stdout.toString('utf8')}\n${pushed.stderr}`;
  if (
    /\[rejected\]|non-fast-forward|fetch first|failed to update ref|cannot lock ref|stale info|incorrect old value/i.test(
      output,
    )
  ) {
    return false;
  }
  // Any other refusal is still a lost race when the remote's branch is no longer where it was.
  const listed = await git.run(['ls-remote', '--', remote, `refs/heads/${branch}`], { ok: [0, 2, 128] });
  if (listed.code === 0) {
    const now = listed.stdout.toString('utf8').split('\t')[0]?.trim() || undefined;
    if (now === commit) {
      // It landed; only the answer was lost.
      await rememberTip(target, tip, commit);
      return true;
    }
    if (now !== tip.commit) return false;
  }
  throw new EvidenceTransportError(
    `cannot push the evidence branch to ${remote}: ${pushed.stderr.trim() || output.trim()}`,
    { cause: new GitError('git push failed', ['push'], pushed.code, pushed.stderr) },
  );
}
