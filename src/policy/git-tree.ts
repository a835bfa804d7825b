import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Git } from '../evidence/git.ts';

/**
 * A commit's files, as they are in that commit, written under a temporary directory so that `check` can read
 * them with the same code it reads the work tree with. The work tree, the index and HEAD are never touched:
 * the files come from `git ls-tree` and `git cat-file --batch`, so no checkout, no filters (LFS, eol) and no
 * export-ignore attribute can change what is read.
 */
export interface CommitTree {
  /** The commit's id. */
  commit: string;
  /** Where the work tree's `root` lies in the written copy. */
  root: string;
  remove(): void;
}

export interface CommitTreeOptions {
  /** A directory inside the work tree (e.g. the Action's working-directory). */
  root: string;
  revision: string;
  /** Fetched from this remote, shallowly, when the commit is not here (a depth-1 checkout). Empty: never. */
  fetchRemote?: string;
  env?: NodeJS.ProcessEnv;
}

/** Reading a commit's blobs stops every this many bytes to write them, so memory stays bounded. */
const BATCH_BYTES = 32 * 1024 * 1024;

/** The reason the commit cannot be read, as an Error whose message says what to do. */
export class CommitUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommitUnavailableError';
  }
}

export async function writeCommitTree(options: CommitTreeOptions): Promise<CommitTree> {
  const git = new Git(options.root, options.env ?? process.env);
  let commit = await git.resolve(`${options.revision}^{commit}`);
  if (commit === undefined && options.fetchRemote && /^[0-9a-f]{40,64}$/i.test(options.revision)) {
    // actions/checkout fetches one commit by default: the base is not here until it is fetched.
    try {
      await git.run(['fetch', '--no-tags', '--depth=1', options.fetchRemote, options.revision]);
    } catch (error) {
      throw new CommitUnavailableError(
        `commit ${options.revision} is not in this clone and fetching it from ${options.fetchRemote} failed (${(error as Error).message}); use actions/checkout with fetch-depth: 0, or fetch the base commit before this step`,
      );
    }
    commit = await git.resolve(`${options.revision}^{commit}`);
  }
  if (commit === undefined) {
    throw new CommitUnavailableError(
      `${options.revision} names no commit in this clone; use actions/checkout with fetch-depth: 0, or fetch it first`,
    );
  }
  const top = await git.text(['rev-parse', '--show-toplevel']);
  const inside = relative(top, options.root).split(sep).join('/');
  const dir = mkdtempSync(join(tmpdir(), 'restorable-base-'));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const listing = await git.run(['ls-tree', '-r', '-z', '-l', '--full-tree', commit, '--', inside || '.']);
    const entries = parseTree(listing.stdout);
    for (const batch of batches(entries)) {
      const blobs = await git.readObjects(batch.map((entry) => entry.id));
      for (const entry of batch) {
        const content = blobs.get(entry.id);
        if (content === undefined) throw new Error(`blob ${entry.id} of ${entry.path} is missing`);
        const target = join(dir, ...entry.path.split('/'));
        mkdirSync(dirname(target), { recursive: true });
        if (entry.mode === '120000') symlinkSync(content.toString('utf8'), target);
        else {
          writeFileSync(target, content);
          if (entry.mode === '100755') chmodSync(target, 0o755);
        }
      }
    }
    const root = join(dir, ...(inside ? inside.split('/') : []));
    mkdirSync(root, { recursive: true });
    return { commit, root, remove };
  } catch (error) {
    remove();
    throw error;
  }
}

interface TreeEntry {
  mode: string;
  id: string;
  size: number;
  path: string;
}

/** `ls-tree -r -z -l` lines: `<mode> SP <type> SP <id> SP+ <size> TAB <path> NUL`; blobs only (no submodules). */
function parseTree(stdout: Buffer): TreeEntry[] {
  const entries: TreeEntry[] = [];
  for (const line of stdout.toString('utf8').split('\0')) {
    if (!line) continue;
    const tab = line.indexOf('\t');
    const [mode, type, id, size] = line.slice(0, tab).split(/ +/);
    const path = line.slice(tab + 1);
    // A path that could leave the directory is not written (git itself refuses to check such a tree out).
    if (type !== 'blob' || !mode || !id || path.split('/').some((part) => part === '..' || part === '.git'))
      continue;
    entries.push({ mode, id, size: Number(size), path });
  }
  return entries;
}

function* batches(entries: readonly TreeEntry[]): Generator<TreeEntry[]> {
  let batch: TreeEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length > 0 && bytes + entry.size > BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.size;
  }
  if (batch.length > 0) yield batch;
}
