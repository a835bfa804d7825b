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

/**
 * Room for a pack and the blob that takes it past the target. Largest data blob: an 8 MiB chunk, sealed.
 * Larger blobs (only listing blobs can be) get a buffer of their own.
 */
const PACK_BUFFER_BYTES = PACK_TARGET_BYTES + 8 * 1024 * 1024 + 64 * 1024;

/**
 * Collects sealed blobs; `flush` writes them as one pack. At most one pack is being written at a time.
 *
 * Blobs are copied into one of two pack buffers, kept for the writer's life, and their own memory is freed at
 * once. Holding the sealed blobs themselves until their pack was written made long-lived allocations of
 * chunk size between the short-lived ones of the same size, and glibc's arenas fragmented to about twice the
 * memory actually in use.
 */
export class PackWriter {
  private readonly repo: Repository;
  private buffer: Uint8Array | undefined;
  private readonly spare: Uint8Array[] = [];
  private blobs: PackedBlob[] = [];
  private bytes = 0;
  private writing: Promise<void> = Promise.resolve();
  private readonly onPack: (contents: PackContents, size: number) => void;

  constructor(repo: Repository, onPack: (contents: PackContents, size: number) => void) {
    this.repo = repo;
    this.onPack = onPack;
  }

  /**
   * Adds a sealed blob; starts writing the pack once it reaches the target size. The blob's bytes are copied:
   * a caller that owns the whole buffer behind `sealed` gives it up (it is freed here).
   */
  async add(type: BlobType, id: string, sealed: Uint8Array, rawLength: number): Promise<void> {
    if (this.buffer && this.bytes + sealed.length > this.buffer.length) await this.flush();
    if (!this.buffer) this.takeBuffer(sealed.length);
    this.buffer!.set(sealed, this.bytes);
    this.blobs.push({ type, id, offset: this.bytes, length: sealed.length, rawLength });
    this.bytes += sealed.length;
    release(sealed);
    if (this.bytes >= PACK_TARGET_BYTES) await this.flush();
  }

  /**
   * The spare pack buffer, or a new one. Two exist at most: `flush` waits for the previous pack's write, which
   * hands its buffer back, before it starts the next.
   */
  private takeBuffer(atLeast: number): void {
    this.buffer =
      atLeast > PACK_BUFFER_BYTES
        ? new Uint8Array(atLeast)
        : (this.spare.pop() ?? new Uint8Array(PACK_BUFFER_BYTES));
  }

  async flush(): Promise<void> {
    if (this.blobs.length === 0) return this.writing;
    const buffer = this.buffer!;
    const blobs = this.blobs;
    const body = buffer.subarray(0, this.bytes);
    this.buffer = undefined;
    this.blobs = [];
    this.bytes = 0;
    const header = this.repo.seal('pack-header', encodeHeader(blobs));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(header.length);
    const size = body.length + header.length + trailer.length;
    const id = packId(header, trailer);
    // Wait for the previous pack before the next, so that at most two packs are held in memory.
    await this.writing;
    this.writing = this.repo.backend.write(packName(id), [body, header, trailer]).then(() => {
      if (buffer.length === PACK_BUFFER_BYTES) this.spare.push(buffer);
      this.onPack({ pack: id, blobs }, size);
    });
    // Not awaited: the next pack fills while this one is written. A failure surfaces at the next flush or close.
    this.writing.catch(() => {});
  }

  async close(): Promise<void> {
    await this.flush();
    await this.writing;
    this.spare.length = 0;
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
