import { encodeBlob } from './blob-codec.ts';
import type { BlobIndex, BlobType, PackContents } from './blob-index.ts';
import { encodeIndex } from './blob-index.ts';
import { objectId, sealedLength } from './crypto.ts';
import { PackWriter } from './pack.ts';
import type { Repository } from './repository.ts';

/** Pack entries per index object, so an interrupted long backup leaves usable indexes behind. */
const PACKS_PER_INDEX = 128;

export interface StoreStats {
  /** Blobs and plain bytes that were new to the repository. */
  blobsAdded: number;
  bytesAdded: number;
  /** Bytes written to storage (packs and indexes). */
  bytesStored: number;
  packsWritten: number;
}

/**
 * Adds blobs to a repository: deduplication against the index and this run, packing, indexing. File data
 * arrives already sealed from the content workers (`addEncoded`); tree blobs are encoded here (`store`).
 */
export class BlobStore {
  readonly repo: Repository;
  readonly index: BlobIndex;
  readonly stats: StoreStats = { blobsAdded: 0, bytesAdded: 0, bytesStored: 0, packsWritten: 0 };
  private readonly pending = new Set<string>();
  private readonly packer: PackWriter;
  private unindexed: PackContents[] = [];
  private readonly indexWrites: Promise<void>[] = [];

  constructor(repo: Repository, index: BlobIndex) {
    this.repo = repo;
    this.index = index;
    this.packer = new PackWriter(repo, (contents, size) => {
      this.index.addPack(contents);
      for (const blob of contents.blobs) this.pending.delete(blob.id);
      this.stats.bytesStored += size;
      this.stats.packsWritten++;
      this.unindexed.push(contents);
      if (this.unindexed.length >= PACKS_PER_INDEX) this.indexWrites.push(this.writeIndex());
    });
  }

  private has(id: string): boolean {
    return this.index.has(id) || this.pending.has(id);
  }

  /** Encodes and stores a blob unless the repository has it; returns its id. */
  async store(type: BlobType, plain: Uint8Array): Promise<string> {
    const id = objectId(this.repo.idKey, plain);
    if (!this.has(id))
      await this.add(type, id, encodeBlob(this.repo.dataKey, this.repo.config.id, id, plain), plain.length);
    return id;
  }

  /**
   * Stores a blob a content worker encoded. Without `sealed`, the worker found the id among those the index
   * held when the backup began; that is checked here, since the worker compared only a prefix.
   */
  async addEncoded(
    type: BlobType,
    id: string,
    rawLength: number,
    sealed: Uint8Array | undefined,
  ): Promise<void> {
    if (this.has(id)) return;
    if (!sealed) {
      throw new Error(
        `blob ${id} was taken for one the repository holds, but the index lacks it (an id prefix collision): nothing was committed; run the backup again`,
      );
    }
    await this.add(type, id, sealed, rawLength);
  }

  private async add(type: BlobType, id: string, sealed: Uint8Array, rawLength: number): Promise<void> {
    this.pending.add(id);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += rawLength;
    await this.packer.add(type, id, sealed, rawLength);
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    const plain = encodeIndex(packs);
    this.stats.bytesStored += sealedLength(plain.length);
    await this.repo.writeSealed('index', 'index', plain);
  }

  /** Writes the last pack and the index. Only after this may a snapshot refer to the blobs. */
  async close(): Promise<void> {
    await this.packer.close();
    await Promise.all(this.indexWrites);
    await this.writeIndex();
  }
}
