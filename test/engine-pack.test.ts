import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PackContents } from '../src/engine/blob-index.ts';
import { newMasterKey } from '../src/engine/crypto.ts';
import { decodePackHeader, PACK_TARGET_BYTES, PackWriter, packName } from '../src/engine/pack.ts';
import { newConfig, Repository, sha256Hex, writeConfig } from '../src/engine/repository.ts';
import { LocalBackend } from '../src/storage/local.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newRepository(): Promise<Repository> {
  const dir = mkdtempSync(join(tmpdir(), 'restorable-pack-'));
  dirs.push(dir);
  const backend = new LocalBackend(join(dir, 'repo'));
  const config = newConfig();
  await writeConfig(backend, config);
  return new Repository(backend, config, newMasterKey());
}

/** Writes the blobs through one PackWriter; returns what it reported and every pack's bytes by blob id. */
async function writeAll(repo: Repository, blobs: Uint8Array[]) {
  const packs: { contents: PackContents; size: number }[] = [];
  const writer = new PackWriter(repo, (contents, size) => packs.push({ contents, size }));
  // Copies: the writer frees the buffers it is given.
  for (const blob of blobs) await writer.add('data', sha256Hex(blob), new Uint8Array(blob), blob.length);
  await writer.close();
  const stored = new Map<string, Uint8Array>();
  for (const { contents, size } of packs) {
    const bytes = await repo.backend.read(packName(contents.pack));
    expect(bytes.length).toBe(size);
    const header = decodePackHeader(repo, packName(contents.pack), bytes);
    expect(header.map((blob) => [blob.id, blob.offset, blob.length])).toEqual(
      contents.blobs.map((blob) => [blob.id, blob.offset, blob.length]),
    );
    for (const blob of header) stored.set(blob.id, bytes.subarray(blob.offset, blob.offset + blob.length));
  }
  return { packs, stored };
}

describe('PackWriter', () => {
  it('writes every blob intact across many packs while reusing its two buffers', async () => {
    const repo = await newRepository();
    // 70 MiB in sizes from 1 byte to 8 MiB: several packs, some closed by a blob that crosses the target.
    const sizes = [1, 3 * MiB, 8 * MiB, 5 * MiB, 700, 8 * MiB, 8 * MiB, 2 * MiB, 8 * MiB, 8 * MiB];
    sizes.push(8 * MiB, 6 * MiB, 4 * MiB, 1);
    const blobs = sizes.map((size) => new Uint8Array(randomBytes(size)));
    const { packs, stored } = await writeAll(repo, blobs);
    expect(packs.length).toBeGreaterThanOrEqual(4);
    for (const { contents } of packs.slice(0, -1)) {
      const body = contents.blobs.reduce((sum, blob) => sum + blob.length, 0);
      expect(body).toBeGreaterThanOrEqual(PACK_TARGET_BYTES);
      expect(body - contents.blobs.at(-1)!.length).toBeLessThan(PACK_TARGET_BYTES);
    }
    for (const blob of blobs) expect(Buffer.compare(stored.get(sha256Hex(blob))!, blob)).toBe(0);
  });

  it('gives a blob larger than its buffers a pack of its own', async () => {
    const repo = await newRepository();
    const blobs = [randomBytes(MiB), randomBytes(30 * MiB), randomBytes(MiB)].map((b) => new Uint8Array(b));
    const { packs, stored } = await writeAll(repo, blobs);
    expect(packs.map((pack) => pack.contents.blobs.length)).toEqual([1, 1, 1]);
    for (const blob of blobs) expect(Buffer.compare(stored.get(sha256Hex(blob))!, blob)).toBe(0);
  });
});
