import type { Git } from './git.ts';

/**
 * Builds a new tree from an existing one plus a few files, with `ls-tree` and `mktree` on the directories
 * on the changed paths only: adding a record to a branch of any size reads and writes the root, `records/`
 * and one shard directory, never the whole tree, and needs no index or work tree.
 */

export interface TreeChange {
  /** Path of a file, with `/`. */
  path: string;
  /** The blob it should hold (already written). */
  blob: string;
  /** The file must not exist yet (records are never replaced). */
  create?: boolean;
}

interface Entry {
  mode: string;
  type: string;
  id: string;
}

export class TreeConflictError extends Error {}

/** Reads a tree object's entries (git's binary tree format: `<mode> <name>\0<raw id>`). */
export function parseTree(bytes: Uint8Array, idLength: number): Map<string, Entry> {
  const entries = new Map<string, Entry>();
  const raw = idLength / 2;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < buffer.length) {
    const space = buffer.indexOf(0x20, at);
    const nul = buffer.indexOf(0, space);
    if (space < 0 || nul < 0 || nul + 1 + raw > buffer.length) throw new Error('malformed tree object');
    const mode = buffer.subarray(at, space).toString('latin1');
    const name = buffer.subarray(space + 1, nul).toString('utf8');
    const id = buffer.subarray(nul + 1, nul + 1 + raw).toString('hex');
    const type = mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob';
    entries.set(name, { mode: mode === '40000' ? '040000' : mode, type, id });
    at = nul + 1 + raw;
  }
  return entries;
}

/** The directories on the changed paths (`''` for the root), each once. */
function directories(changes: readonly TreeChange[]): string[] {
  const dirs = new Set<string>(['']);
  for (const { path } of changes) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  return [...dirs];
}

/**
 * Writes the tree of `base` (a commit or tree id; undefined for an empty branch) with `changes` applied;
 * returns its id. The existing directories on the changed paths are read in one `cat-file --batch`.
 */
export async function writeTree(
  git: Git,
  base: string | undefined,
  changes: readonly TreeChange[],
): Promise<string> {
  const dirs = directories(changes);
  const trees = new Map<string, Map<string, Entry>>();
  if (base) {
    const names = dirs.map((dir) => (dir === '' ? `${base}^{tree}` : `${base}:${dir}`));
    const objects = await git.catObjects(names);
    dirs.forEach((dir, i) => {
      const object = objects.get(names[i]!);
      if (object?.type === 'tree') trees.set(dir, parseTree(object.content, object.id.length));
      else if (object) trees.set(dir, new Map([['', { mode: '', type: object.type, id: object.id }]]));
    });
  }
  return build(git, trees, '', changes);
}

async function build(
  git: Git,
  trees: Map<string, Map<string, Entry>>,
  prefix: string,
  changes: readonly TreeChange[],
): Promise<string> {
  const dir = prefix.replace(/\/$/, '');
  const existing = trees.get(dir);
  if (existing?.has('')) {
    throw new TreeConflictError(`${dir} is a file on the branch, where a directory is expected`);
  }
  const entries = new Map(existing ?? []);
  const nested = new Map<string, TreeChange[]>();
  for (const change of changes) {
    const slash = change.path.indexOf('/');
    const name = slash < 0 ? change.path : change.path.slice(0, slash);
    if (name === '' || name === '.' || name === '..' || name.includes('\0')) {
      throw new TreeConflictError(`"${prefix}${change.path}" is not a valid path in a git tree`);
    }
    if (slash < 0) {
      const current = entries.get(name);
      if (current && (change.create || current.type !== 'blob')) {
        throw new TreeConflictError(`${prefix}${name} already exists on the branch; it is never replaced`);
      }
      entries.set(name, { mode: '100644', type: 'blob', id: change.blob });
    } else {
      const list = nested.get(name) ?? [];
      list.push({ ...change, path: change.path.slice(slash + 1) });
      nested.set(name, list);
    }
  }
  await Promise.all(
    [...nested].map(async ([name, list]) => {
      const current = entries.get(name);
      if (current && current.type !== 'tree') {
        throw new TreeConflictError(
          `${prefix}${name} is a file on the branch, where a directory is expected`,
        );
      }
      entries.set(name, {
        mode: '040000',
        type: 'tree',
        id: await build(git, trees, `${prefix}${name}/`, list),
      });
    }),
  );
  const input = [...entries].map(([name, e]) => `${e.mode} ${e.type} ${e.id}\t${name}\0`).join('');
  return git.text(['mktree', '-z'], { input });
}
