import type { BlobReader } from './blob-reader.ts';
import type { BlobStore } from './blob-store.ts';
import { Chunker } from './chunker.ts';
import { RepositoryError } from './repository.ts';

/**
 * A snapshot's listing: one JSON line per node, in walk order, cut into `tree` blobs by the content-defined
 * chunker, so an unchanged tree deduplicates against the previous snapshot's listing.
 */
export type NodeType = 'file' | 'dir' | 'symlink';

export interface Node {
  /** Relative, `/`-separated, no `.` or `..` segments. */
  path: string;
  type: NodeType;
  /** Permission bits, st_mode & 0o7777. */
  mode: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exact beyond 2^53). */
  mtime: string;
  uid: number;
  gid: number;
  /** Files: size in bytes and the ids of the data blobs that make it, in order. */
  size?: number;
  content?: string[];
  /** Symlinks: the target as stored in the link. */
  target?: string;
  /** Change detection only (not restored): `dev:ino` and ctime in nanoseconds. */
  inode?: string;
  ctime?: string;
}

const FLUSH_BYTES = 1024 * 1024;

export class ListingWriter {
  private readonly store: BlobStore;
  private readonly chunker: Chunker;
  private readonly ids: string[] = [];
  private buffered: string[] = [];
  private bufferedBytes = 0;

  constructor(store: BlobStore) {
    this.store = store;
    this.chunker = new Chunker(store.repo.gear);
  }

  async add(node: Node): Promise<void> {
    const line = `${JSON.stringify(node)}\n`;
    this.buffered.push(line);
    this.bufferedBytes += line.length;
    if (this.bufferedBytes >= FLUSH_BYTES) await this.push();
  }

  private async push(): Promise<void> {
    const bytes = Buffer.from(this.buffered.join(''), 'utf8');
    this.buffered = [];
    this.bufferedBytes = 0;
    for (const chunk of this.chunker.push(bytes)) this.ids.push(await this.store.store('tree', chunk));
  }

  /** The ids of the listing's tree blobs. */
  async finish(): Promise<string[]> {
    await this.push();
    const last = this.chunker.finish();
    if (last) this.ids.push(await this.store.store('tree', last));
    return this.ids;
  }
}

/**
 * The listing's nodes, streamed blob by blob. Without `onDamage` a damaged tree blob is an error; with it, the
 * blob is reported and reading resumes at the next whole line, so one damaged blob loses only its own nodes.
 */
export async function* readListing(
  reader: BlobReader,
  tree: readonly string[],
  onDamage?: (message: string) => void,
): AsyncGenerator<Node> {
  // Bytes, not text: a blob boundary can fall inside a multi-byte character.
  let rest: Buffer = Buffer.alloc(0);
  let resync = false;
  reader.prefetch(tree.slice(0, 4));
  for (let i = 0; i < tree.length; i++) {
    if (i + 4 < tree.length) reader.prefetch([tree[i + 4]!]);
    let data: Uint8Array;
    try {
      data = await reader.read(tree[i]!);
    } catch (error) {
      if (!onDamage) throw error;
      onDamage(`${(error as Error).message}; the files listed in it are not restored`);
      rest = Buffer.alloc(0);
      resync = true;
      continue;
    }
    let bytes = Buffer.concat([rest, data]);
    if (resync) {
      const first = bytes.indexOf(10);
      if (first < 0) continue;
      bytes = bytes.subarray(first + 1);
      resync = false;
    }
    const end = bytes.lastIndexOf(10);
    rest = Buffer.from(bytes.subarray(end + 1));
    if (end < 0) continue;
    for (const line of bytes.toString('utf8', 0, end).split('\n')) yield parseNode(line);
  }
  if (rest.length > 0) throw new RepositoryError('snapshot listing ends in the middle of a line');
}

function parseNode(line: string): Node {
  let node: Node;
  try {
    node = JSON.parse(line) as Node;
  } catch {
    throw new RepositoryError('snapshot listing holds a line that is not JSON');
  }
  if (typeof node.path !== 'string' || !['file', 'dir', 'symlink'].includes(node.type)) {
    throw new RepositoryError(`snapshot listing holds a malformed node: ${line.slice(0, 200)}`);
  }
  return node;
}
