import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { SystemData } from '../../src/policy/model.ts';
import { mulberry32 } from './random.ts';
import { S3RVER_CREDENTIALS } from './s3-server.ts';

/**
 * Drill tests: workspaces holding a policy (written as JSON, which is YAML) and a source tree, on a local
 * directory repository or an s3rver bucket, and a way to damage a stored pack on either.
 */

export const PASSPHRASE = 'drill test passphrase';

const made: string[] = [];

/** A fresh temporary directory, removed by cleanTempDirs (read-only directories in it included). */
export function tempDir(prefix = 'restorable-drill-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function cleanTempDirs(): void {
  for (const dir of made.splice(0)) {
    const open = (path: string) => {
      try {
        if (!lstatSync(path).isDirectory()) return;
        chmodSync(path, 0o700);
        for (const name of readdirSync(path)) open(join(path, name));
      } catch {
        // gone already
      }
    };
    open(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PolicySystem {
  name: string;
  source: { paths: string[] } | { command: string[]; filename?: string };
  rto?: string;
  rpo?: string;
  drill?: SystemData['drill'];
}

/** Writes `policy.yaml` (JSON) with one repository, `main`, that every system uses. */
export function writePolicy(root: string, repository: unknown, systems: PolicySystem[]): string {
  const policy = {
    apiVersion: 'restorable/v1',
    kind: 'BackupPolicy',
    metadata: { name: 'drill-test', owner: 'ops@example.com' },
    repositories: { main: repository },
    systems: systems.map((system) => ({ ...system, repositories: ['main'] })),
  };
  writeFileSync(join(root, 'policy.yaml'), `${JSON.stringify(policy, null, 2)}\n`);
  return 'policy.yaml';
}

/** What makeTree writes, by path under the workspace (file sizes and modes, the link's target). */
export const TREE = {
  files: {
    'data/a.txt': { content: 'hello\n', mode: 0o644 },
    'data/sub/b.txt': { content: 'in a subdir\n', mode: 0o644 },
    'data/empty.txt': { content: '', mode: 0o600 },
    'data/private.txt': { content: 'private\n', mode: 0o640 },
    'data/ro/inside.txt': { content: 'read-only dir\n', mode: 0o444 },
  } as Record<string, { content: string; mode: number }>,
  big: { path: 'data/big.bin', size: 4 * 1024 * 1024, mode: 0o644 },
  dirs: { data: 0o750, 'data/sub': 0o755, 'data/ro': 0o555 } as Record<string, number>,
  link: { path: 'data/link', target: 'sub/b.txt' },
};
export const TREE_FILES = Object.keys(TREE.files).length + 1;
export const TREE_BYTES =
  Object.values(TREE.files).reduce((total, file) => total + Buffer.byteLength(file.content), 0) +
  TREE.big.size;

/** Seeded bytes: the same on every run, incompressible, so the 4 MiB file is cut into several chunks. */
export function seededBytes(size: number, seed: number): Buffer {
  const random = mulberry32(seed);
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4) out.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), i);
  return out;
}

/**
 * data/: files in a subdirectory, a symlink, an empty file, a 4 MiB file, a 0640 file and a 0555 directory.
 */
export function makeTree(root: string): void {
  for (const dir of Object.keys(TREE.dirs)) mkdirSync(join(root, dir), { recursive: true });
  for (const [path, { content, mode }] of Object.entries(TREE.files)) {
    writeFileSync(join(root, path), content);
    chmodSync(join(root, path), mode);
  }
  writeFileSync(join(root, TREE.big.path), seededBytes(TREE.big.size, 42));
  chmodSync(join(root, TREE.big.path), TREE.big.mode);
  symlinkSync(TREE.link.target, join(root, TREE.link.path));
  // Deepest first: a 0555 directory is filled before it is closed.
  for (const [dir, mode] of Object.entries(TREE.dirs).reverse()) chmodSync(join(root, dir), mode);
}

export interface DrillBackend {
  name: 'local' | 's3';
  /** The policy's repository for this workspace. */
  repository(root: string): unknown;
  /**
   * XORs 32 bytes of a stored pack from byte `at` (default 32): the pack named, else the largest. Returns the
   * pack's id (its object name's end).
   */
  damagePack(root: string, pack?: string, at?: number): Promise<string>;
}

export const localDrillBackend: DrillBackend = {
  name: 'local',
  repository: () => ({ local: { path: 'repo' } }),
  async damagePack(root, pack, at = 32) {
    const data = join(root, 'repo', 'data');
    let chosen: { path: string; size: number } | undefined;
    for (const dir of readdirSync(data)) {
      for (const name of readdirSync(join(data, dir))) {
        const path = join(data, dir, name);
        const size = lstatSync(path).size;
        if (pack === undefined ? !chosen || size > chosen.size : name === pack) chosen = { path, size };
      }
    }
    if (!chosen) throw new Error(`no pack ${pack ?? ''} under ${data}`);
    const bytes = readFileSync(chosen.path);
    flip(bytes, at);
    writeFileSync(chosen.path, bytes);
    return basename(chosen.path);
  },
};

/** An s3rver bucket; each workspace gets its own prefix (the workspace directory's name). */
export function s3DrillBackend(endpoint: () => string, bucket: string): DrillBackend {
  const prefix = (root: string) => `${basename(root)}/`;
  return {
    name: 's3',
    repository: (root) => ({
      s3: {
        bucket,
        region: 'us-east-1',
        prefix: prefix(root),
        endpoint: endpoint(),
        forcePathStyle: true,
        checksums: 'when-required',
      },
    }),
    async damagePack(root, pack, at = 32) {
      const client = new S3Client({
        region: 'us-east-1',
        endpoint: endpoint(),
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      try {
        const listed = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix(root)}data/` }),
        );
        const found = (listed.Contents ?? []).reduce<{ Key?: string; Size?: number } | undefined>(
          (best, object) =>
            pack !== undefined
              ? object.Key?.endsWith(`/${pack}`)
                ? object
                : best
              : !best || (object.Size ?? 0) > (best.Size ?? 0)
                ? object
                : best,
          undefined,
        );
        if (!found?.Key) throw new Error(`no pack ${pack ?? ''} under s3://${bucket}/${prefix(root)}data/`);
        const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: found.Key }));
        const bytes = Buffer.from(await got.Body!.transformToByteArray());
        flip(bytes, at);
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: found.Key, Body: bytes }));
        // The damage is really stored.
        const again = await client.send(new GetObjectCommand({ Bucket: bucket, Key: found.Key }));
        const stored = Buffer.from(await again.Body!.transformToByteArray());
        if (!stored.equals(bytes)) throw new Error(`s3rver did not store the damaged ${found.Key}`);
        return basename(found.Key);
      } finally {
        client.destroy();
      }
    },
  };
}

function flip(bytes: Buffer, at: number): void {
  if (bytes.length < at + 32)
    throw new Error(`a pack of ${bytes.length} bytes has no bytes ${at}–${at + 31}`);
  for (let i = at; i < at + 32; i++) bytes[i] = bytes[i]! ^ 0xff;
}
