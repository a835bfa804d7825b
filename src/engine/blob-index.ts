import { pack as compress, unpack } from './compress.ts';
import type { Repository } from './repository.ts';
import { RepositoryError } from './repository.ts';

/** Where each blob lives: pack, offset and sealed length, plus its plain length (for sizes and limits). */
export type BlobType = 'data' | 'tree';

export interface BlobLocation {
  type: BlobType;
  pack: string;
  offset: number;
  length: number;
  rawLength: number;
}

export interface PackedBlob {
  type: BlobType;
  id: string;
  offset: number;
  length: number;
  rawLength: number;
}

export interface PackContents {
  pack: string;
  blobs: PackedBlob[];
}

const ENTRY_BYTES = 1 + 32 + 4 + 4 + 4;
const INDEX_VERSION = 1;
/** An index lists at most this many bytes before compression; bounds what a hostile index can make us allocate. */
const MAX_INDEX_BYTES = 256 * 1024 * 1024;

export class BlobIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** Index objects that were loaded, so verify can tell which pack each came from. */
  readonly packs = new Set<string>();

  get size(): number {
    return this.blobs.size;
  }

  ids(): IterableIterator<string> {
    return this.blobs.keys();
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  get(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  addPack(contents: PackContents): void {
    this.packs.add(contents.pack);
    for (const blob of contents.blobs) {
      if (!this.blobs.has(blob.id)) {
        this.blobs.set(blob.id, {
          type: blob.type,
          pack: contents.pack,
          offset: blob.offset,
          length: blob.length,
          rawLength: blob.rawLength,
        });
      }
    }
  }

  entries(): IterableIterator<[string, BlobLocation]> {
    return this.blobs.entries();
  }
}

export function encodeIndex(packs: PackContents[]): Uint8Array {
  let size = 1;
  for (const pack of packs) size += 32 + 4 + pack.blobs.length * ENTRY_BYTES;
  const out = Buffer.alloc(size);
  out[0] = INDEX_VERSION;
  let at = 1;
  for (const pack of packs) {
    at += out.write(pack.pack, at, 'hex');
    at = out.writeUInt32LE(pack.blobs.length, at);
    for (const blob of pack.blobs) {
      out[at++] = blob.type === 'tree' ? 1 : 0;
      at += out.write(blob.id, at, 'hex');
      at = out.writeUInt32LE(blob.offset, at);
      at = out.writeUInt32LE(blob.length, at);
      at = out.writeUInt32LE(blob.rawLength, at);
    }
  }
  return compress(out);
}

export function decodeIndex(framed: Uint8Array, name: string): PackContents[] {
  const data = Buffer.from(unpack(framed, MAX_INDEX_BYTES));
  const bad = (what: string) => new RepositoryError(`${name} is damaged: ${what}`);
  if (data[0] !== INDEX_VERSION) throw bad(`unknown index version ${data[0]}`);
  const packs: PackContents[] = [];
  let at = 1;
  while (at < data.length) {
    if (at + 36 > data.length) throw bad('truncated pack entry');
    const pack = data.toString('hex', at, at + 32);
    const count = data.readUInt32LE(at + 32);
    at += 36;
    if (at + count * ENTRY_BYTES > data.length) throw bad('truncated blob list');
    const blobs: PackedBlob[] = [];
    for (let i = 0; i < count; i++) {
      const type = data[at] === 1 ? 'tree' : 'data';
      blobs.push({
        type,
        id: data.toString('hex', at + 1, at + 33),
        offset: data.readUInt32LE(at + 33),
        length: data.readUInt32LE(at + 37),
        rawLength: data.readUInt32LE(at + 41),
      });
      at += ENTRY_BYTES;
    }
    packs.push({ pack, blobs });
  }
  return packs;
}

/** Loads every index object. A damaged index is reported through `onProblem` and skipped, not fatal. */
export async function loadIndex(
  repo: Repository,
  onProblem?: (object: string, message: string) => void,
): Promise<BlobIndex> {
  const index = new BlobIndex();
  const objects = await repo.backend.list('index/');
  await Promise.all(
    objects.map(async (object) => {
      const id = object.name.slice('index/'.length);
      try {
        const plain = await repo.readSealed('index', 'index', id);
        for (const pack of decodeIndex(plain, `${repo.location}: ${object.name}`)) index.addPack(pack);
      } catch (error) {
        if (!onProblem) throw error;
        onProblem(object.name, (error as Error).message);
      }
    }),
  );
  return index;
}
