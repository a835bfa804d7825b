import { createHash } from 'node:crypto';
import type { BlobType, PackContents, PackedBlob } from './blob-index.ts';
import { release } from './memory.ts';
import { type Repository, RepositoryError } from './repository.ts';

/**
 * Packs: sealed blobs back to back, then a sealed header listing them, then the header's length (u32 LE).
 * The header lets `repo verify` and an index rebuild read a pack without any index.
 */
export const PACK_TARGET_BYTES = 16 * 1024 * 1024;
const HEADER_ENTRY_BYTES = 1 + 32 + 4 + 4;
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

export function packName(id: string): string {
  return `data/${id.slice(0, 2)}/${id}`;
}

/**
 * A pack is named by the SHA-256 of its sealed header and trailer: unique (the seal has a random nonce),
 * cheap (no second pass over 16 MiB), and binding, since the authenticated header fixes every blob's id and
 * length, and each blob is itself authenticated with its id.
 */
export function packId(header: Uint8Array, trailer: Uint8Array): string {
  return createHash('sha256').update(header).update(trailer).digest('hex');
}

/** The sealed header and trailer at the end of a pack, or undefined when the trailer is implausible. */
export function packTail(pack: Uint8Array): { header: Uint8Array; trailer: Uint8Array } | undefined {
  if (pack.length < 4) return undefined;
  const headerLength = Buffer.from(pack.buffer, pack.byteOffset, pack.length).readUInt32LE(pack.length - 4);
  if (headerLength > MAX_HEADER_BYTES || headerLength + 4 > pack.length) return undefined;
  return {
    header: pack.subarray(pack.length - 4 - headerLength, pack.length - 4),
    trailer: pack.subarray(pack.length - 4),
  };
}

/** Collects sealed blobs; `flush` writes them as one pack. At most one pack is being written at a time. */
export class PackWriter {
  private readonly repo: Repository;
  private parts: Uint8Array[] = [];
  private blobs: PackedBlob[] = [];
  private bytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly onPack: (contents: PackContents, size: number) => void;

  constructor(repo: Repository, onPack: (contents: PackContents, size: number) => void) {
    this.repo = repo;
    this.onPack = onPack;
  }

  /** Adds a sealed blob; starts writing the pack once it reaches the target size. */
  async add(type: BlobType, id: string, sealed: Uint8Array, rawLength: number): Promise<void> {
    this.blobs.push({ type, id, offset: this.bytes, length: sealed.length, rawLength });
    this.parts.push(sealed);
    this.bytes += sealed.length;
    if (this.bytes >= PACK_TARGET_BYTES) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.blobs.length === 0) return this.writing;
    const blobs = this.blobs;
    const parts = this.parts;
    this.blobs = [];
    this.parts = [];
    this.bytes = 0;
    const header = this.repo.seal('pack-header', encodeHeader(blobs));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(header.length);
    const data = [...parts, header, trailer];
    const size = data.reduce((sum, part) => sum + part.length, 0);
    const id = packId(header, trailer);
    const previous = this.writing;
    // Wait for the previous pack before the next, so that at most two packs are held in memory.
    await previous;
    this.writing = this.repo.backend.write(packName(id), data).then(() => {
      // Written: the sealed blobs are needed no more, and 16 MiB should not wait for a collection.
      for (const part of parts) release(part);
      this.onPack({ pack: id, blobs }, size);
    });
    // Not awaited: the next pack fills while this one is written. A failure surfaces at the next flush or close.
    this.writing.catch(() => {});
  }

  async close(): Promise<void> {
    await this.flush();
    await this.writing;
  }
}

function encodeHeader(blobs: PackedBlob[]): Uint8Array {
  const out = Buffer.alloc(blobs.length * HEADER_ENTRY_BYTES);
  let at = 0;
  for (const blob of blobs) {
    out[at++] = blob.type === 'tree' ? 1 : 0;
    at += out.write(blob.id, at, 'hex');
    at = out.writeUInt32LE(blob.length, at);
    at = out.writeUInt32LE(blob.rawLength, at);
  }
  return out;
}

/** Reads a pack's own header (for verify and index rebuilds); offsets follow from the lengths. */
export function decodePackHeader(repo: Repository, name: string, pack: Uint8Array): PackedBlob[] {
  const bad = (what: string) => new RepositoryError(`${repo.location}: ${name} is damaged: ${what}`);
  const tail = packTail(pack);
  if (!tail) throw bad('its trailer gives an impossible header length');
  const header = Buffer.from(repo.open('pack-header', name, tail.header));
  if (header.length % HEADER_ENTRY_BYTES !== 0) throw bad('header has a partial entry');
  const blobs: PackedBlob[] = [];
  let offset = 0;
  for (let at = 0; at < header.length; at += HEADER_ENTRY_BYTES) {
    const length = header.readUInt32LE(at + 33);
    blobs.push({
      type: header[at] === 1 ? 'tree' : 'data',
      id: header.toString('hex', at + 1, at + 33),
      offset,
      length,
      rawLength: header.readUInt32LE(at + 37),
    });
    offset += length;
  }
  if (offset !== pack.length - 4 - tail.header.length) throw bad('header does not account for the pack body');
  return blobs;
}
