import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { archiveEntry } from '../src/commands/backup.ts';
import type { ArchiveEntry } from '../src/engine/archiver.ts';
import { type BackupInput, backupSystem } from '../src/engine/backup.ts';
import { decodeIndex, encodeIndex, loadIndex } from '../src/engine/blob-index.ts';
import { BlobReader } from '../src/engine/blob-reader.ts';
import { BlobStore } from '../src/engine/blob-store.ts';
import { checkRepository } from '../src/engine/checker.ts';
import { defaultWorkerCount } from '../src/engine/content-pool.ts';
import { newMasterKey } from '../src/engine/crypto.ts';
import { ListingWriter, readListing } from '../src/engine/listing.ts';
import { decodePackHeader, packName } from '../src/engine/pack.ts';
import { newConfig, Repository, writeConfig } from '../src/engine/repository.ts';
import { restoreTree } from '../src/engine/restorer.ts';
import { listSnapshots, writeSnapshot } from '../src/engine/snapshot.ts';
import { runCommand } from '../src/sources/command.ts';
import { walkPaths } from '../src/sources/paths.ts';
import type { Backend } from '../src/storage/backend.ts';
import { LocalBackend } from '../src/storage/local.ts';
import { S3Backend } from '../src/storage/s3.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './helpers/s3-server.ts';
import { workspace } from './helpers/workspace.ts';

const MiB = 1024 * 1024;
const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'restorable-engine-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function newRepository(backend: Backend): Promise<Repository> {
  const config = newConfig();
  await writeConfig(backend, config);
  return new Repository(backend, config, newMasterKey());
}

function pathsInput(root: string, paths: string[]): BackupInput {
  async function* entries(): AsyncGenerator<ArchiveEntry> {
    for await (const entry of walkPaths(root, paths, { onProblem: () => {} })) yield archiveEntry(entry);
  }
  return { kind: 'paths', paths, entries: entries() };
}

/** Restores the repository's first (oldest) snapshot into a new temporary directory, and returns the directory. */
async function restoreFirst(repo: Repository): Promise<string> {
  const [ref] = await listSnapshots(repo, () => {});
  const target = tempDir();
  await restoreTree(new BlobReader(repo, await loadIndex(repo)), ref!.snapshot.tree, target);
  return target;
}

/** path → what a restore must reproduce: type, mode, mtime (µs), size, content hash or link target. */
function manifest(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (relative: string) => {
    const absolute = join(dir, relative);
    const info = lstatSync(absolute, { bigint: true });
    const mtime = info.mtimeNs / 1000n;
    if (info.isSymbolicLink()) out.set(relative, `link ${readlinkSync(absolute)}`);
    else if (info.isDirectory()) {
      out.set(relative, `dir ${(info.mode & 0o7777n).toString(8)} ${mtime}`);
      for (const name of readdirSync(absolute)) walk(relative === '' ? name : `${relative}/${name}`);
    } else {
      const hash = createHash('sha256').update(readFileSync(absolute)).digest('hex');
      out.set(relative, `file ${(info.mode & 0o7777n).toString(8)} ${mtime} ${info.size} ${hash}`);
    }
  };
  walk('');
  out.delete('');
  return out;
}

function makeTree(root: string): void {
  const data = join(root, 'data');
  mkdirSync(join(data, 'deep/a/b/c/d/e'), { recursive: true });
  mkdirSync(join(data, 'empty-dir'));
  writeFileSync(join(data, 'empty'), '');
  writeFileSync(join(data, 'ünïcødé 名前.txt'), 'unicode\n');
  writeFileSync(join(data, 'deep/a/b/c/d/e/leaf'), 'leaf');
  writeFileSync(join(data, 'big.bin'), randomBytes(3 * MiB));
  writeFileSync(join(data, 'text.sql'), 'INSERT INTO t VALUES (1, "x");\n'.repeat(100_000));
  writeFileSync(join(data, 'script.sh'), '#!/bin/sh\n');
  chmodSync(join(data, 'script.sh'), 0o755);
  writeFileSync(join(data, 'secret'), 's');
  chmodSync(join(data, 'secret'), 0o600);
  symlinkSync('text.sql', join(data, 'relative-link'));
  symlinkSync('/nonexistent/target', join(data, 'dangling-link'));
  utimesSync(join(data, 'text.sql'), 1_600_000_000.123456, 1_600_000_000.123456);
}

let s3: S3Server;
let restoreCredentials: () => void;
beforeAll(async () => {
  restoreCredentials = useS3rverCredentials();
  s3 = await startS3Server(['engine']);
});
afterAll(async () => {
  await s3?.close();
  restoreCredentials?.();
});

const backends: [string, () => Backend][] = [
  ['local', () => new LocalBackend(join(tempDir(), 'repo'))],
  [
    's3',
    () =>
      new S3Backend({
        bucket: 'engine',
        prefix: `${randomBytes(6).toString('hex')}/`,
        endpoint: s3.endpoint,
        forcePathStyle: true,
        region: 'us-east-1',
      }),
  ],
];

describe.each(backends)('backup and restore on the %s backend', (_name, makeBackend) => {
  it('round-trips a tree byte for byte, with modes, mtimes, symlinks, unicode names and empty files', async () => {
    const root = tempDir();
    makeTree(root);
    const repo = await newRepository(makeBackend());
    const [result] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(result!.problems).toEqual([]);
    expect(result!.summary.files).toBe(7);
    const [ref] = await listSnapshots(repo, () => {});
    const target = tempDir();
    const restored = await restoreTree(
      new BlobReader(repo, await loadIndex(repo)),
      ref!.snapshot.tree,
      target,
    );
    expect(restored.problems).toEqual([]);
    expect(manifest(join(target, 'data'))).toEqual(manifest(join(root, 'data')));
  });

  it('stores almost nothing for a second backup of unchanged data, and reads nothing again', async () => {
    const root = tempDir();
    makeTree(root);
    const repo = await newRepository(makeBackend());
    const [first] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    const [second] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(second!.summary.bytes).toBe(first!.summary.bytes);
    expect(second!.summary.bytesRead).toBe(0);
    expect(second!.summary.bytesStored).toBeLessThan(first!.summary.bytes / 100);
    const snapshots = await listSnapshots(repo, () => {});
    expect(snapshots[1]!.snapshot.parent).toBe(snapshots[0]!.id);
  });
});

describe('files that change during the backup', () => {
  it('a small file that grew after the walk is stored whole, with its size at the time it was read', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/log'), 'line\n'.repeat(1000));
    const walked = pathsInput(root, ['data']);
    const entries = walked.kind === 'paths' ? walked.entries : [];
    async function* grown(): AsyncGenerator<ArchiveEntry> {
      // As if the walk had seen the file before its last 100 bytes were written.
      for await (const entry of entries)
        yield entry.type === 'file' ? { ...entry, size: entry.size - 100 } : entry;
    }
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const [result] = await backupSystem(
      [repo],
      { kind: 'paths', paths: ['data'], entries: grown() },
      { system: 's', policy: 'p' },
    );
    expect(result!.summary.bytes).toBe(5000);
    const target = await restoreFirst(repo);
    expect(readFileSync(join(target, 'data/log'), 'utf8')).toBe('line\n'.repeat(1000));
  });
});

describe('files that change between the walk and the read', () => {
  it('a file that vanished or was replaced (even by a fifo) is reported, and the rest is backed up', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/a.txt'), 'hello');
    writeFileSync(join(root, 'data/gone.txt'), 'g');
    writeFileSync(join(root, 'data/large-swapped'), randomBytes(2 * MiB));
    writeFileSync(join(root, 'data/swapped'), 's');
    const walked = pathsInput(root, ['data']);
    const entries: ArchiveEntry[] = [];
    for await (const entry of walked.kind === 'paths' ? walked.entries : []) entries.push(entry);
    rmSync(join(root, 'data/gone.txt'));
    // Another file under the same name (a new inode), and a fifo, whose open would block without O_NONBLOCK.
    // Moved aside, not removed: a removed file's inode number can be handed straight to the new one.
    renameSync(join(root, 'data/large-swapped'), join(root, 'large-swapped.old'));
    writeFileSync(join(root, 'data/large-swapped'), 'other');
    rmSync(join(root, 'data/swapped'));
    execFileSync('mkfifo', [join(root, 'data/swapped')]);
    async function* replay(): AsyncGenerator<ArchiveEntry> {
      yield* entries;
    }
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const [result] = await backupSystem(
      [repo],
      { kind: 'paths', paths: ['data'], entries: replay() },
      { system: 's', policy: 'p' },
    );
    expect(result!.problems).toEqual([
      { path: 'data/gone.txt', message: 'file vanished during the backup: skipped' },
      { path: 'data/large-swapped', message: 'replaced by another file during the backup: skipped' },
      { path: 'data/swapped', message: 'replaced by another file during the backup: skipped' },
    ]);
    expect(result!.summary.files).toBe(1);
    const target = await restoreFirst(repo);
    expect(readFileSync(join(target, 'data/a.txt'), 'utf8')).toBe('hello');
    expect(existsSync(join(target, 'data/gone.txt'))).toBe(false);
  });
});

describe('deduplication', () => {
  it('an edit in the middle of a large file stores only the chunks around it', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    const content = randomBytes(24 * MiB);
    writeFileSync(join(root, 'data/large'), content);
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    content.write('an edit in the middle', 12 * MiB);
    writeFileSync(join(root, 'data/large'), content);
    const [second] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(second!.summary.bytesRead).toBe(24 * MiB);
    // One or two chunks (average 1 MiB, at most 8 MiB) around the edit, not the whole file.
    expect(second!.summary.bytesAdded).toBeGreaterThan(0);
    expect(second!.summary.bytesAdded).toBeLessThan(10 * MiB);
  });
});

describe('command sources', () => {
  it('streams a real program into a one-file snapshot', async () => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const running = runCommand(['sh', '-c', 'seq 1 500000'], { env: process.env, cwd: tmpdir() });
    const [result] = await backupSystem(
      [repo],
      {
        kind: 'command',
        command: ['seq'],
        filename: 'numbers.txt',
        stdout: running.stdout,
        done: running.done,
      },
      { system: 'c', policy: 'p' },
    );
    const expected = Buffer.from(`${Array.from({ length: 500_000 }, (_, i) => i + 1).join('\n')}\n`);
    expect(result!.summary.bytes).toBe(expected.length);
    // Compressible text is stored compressed.
    expect(result!.summary.bytesStored).toBeLessThan(expected.length / 2);
    const target = await restoreFirst(repo);
    expect(readFileSync(join(target, 'numbers.txt')).equals(expected)).toBe(true);
  });

  it.each([
    [
      'a non-zero exit',
      ['sh', '-c', 'head -c 3000000 /dev/urandom; exit 3'],
      undefined,
      /exit(ed)? (code|status)? ?3|code 3/,
    ],
    ['a timeout', ['sh', '-c', 'head -c 1000 /dev/zero; sleep 20'], 300, /timed out/],
  ])('commits no snapshot after %s', async (_what, argv, timeoutMs, message) => {
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const running = runCommand(argv, {
      env: process.env,
      cwd: tmpdir(),
      ...(timeoutMs ? { timeoutMs, killGraceMs: 200 } : {}),
    });
    await expect(
      backupSystem(
        [repo],
        { kind: 'command', command: argv, filename: 'out', stdout: running.stdout, done: running.done },
        { system: 'c', policy: 'p' },
      ),
    ).rejects.toThrow(message);
    expect(await repo.backend.list('snapshots/')).toEqual([]);
  });
});

describe('several repositories', () => {
  it('gives each repository its own snapshot under its own key, in one pass over the source', async () => {
    const root = tempDir();
    makeTree(root);
    const a = await newRepository(new LocalBackend(join(tempDir(), 'a')));
    const b = await newRepository(new LocalBackend(join(tempDir(), 'b')));
    const results = await backupSystem([a, b], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(results).toHaveLength(2);
    expect(results[0]!.summary.bytesRead).toBe(results[0]!.summary.bytes);
    for (const repo of [a, b]) {
      const target = await restoreFirst(repo);
      expect(manifest(join(target, 'data'))).toEqual(manifest(join(root, 'data')));
    }
  });
});

describe('formats', () => {
  it('index and pack header round-trip, and the pack header agrees with the index', async () => {
    const root = tempDir();
    makeTree(root);
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    const index = await loadIndex(repo);
    expect(index.size).toBeGreaterThan(3);
    for (const pack of index.packs) {
      const blobs = decodePackHeader(repo, packName(pack), await repo.backend.read(packName(pack)));
      for (const blob of blobs)
        expect(index.get(blob.id)).toMatchObject({ pack, offset: blob.offset, length: blob.length });
      const again = decodeIndex(encodeIndex([{ pack, blobs }]), 'test');
      expect(again).toEqual([{ pack, blobs }]);
    }
  });
});

/** A repository holding one snapshot whose listing the test writes itself (as a hostile writer could). */
async function craftedSnapshot(
  nodes: object[],
  files: Record<string, Uint8Array> = {},
): Promise<{ repo: Repository; tree: string[] }> {
  const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
  const store = new BlobStore(repo, await loadIndex(repo));
  const listing = new ListingWriter(store);
  for (const node of nodes) {
    const path = (node as { path: string }).path;
    const data = files[path];
    const content = data ? [await store.store('data', data)] : undefined;
    await listing.add({
      mode: 0o644,
      mtime: '1600000000000000000',
      uid: 0,
      gid: 0,
      ...node,
      ...(content ? { content, size: data!.length } : {}),
    } as never);
  }
  const tree = await listing.finish();
  await store.close();
  await writeSnapshot(repo, {
    version: 1,
    system: 's',
    policy: 'p',
    time: new Date().toISOString(),
    hostname: 'h',
    source: { kind: 'paths', paths: [] },
    tree,
    summary: {
      files: 0,
      dirs: 0,
      symlinks: 0,
      bytes: 0,
      bytesRead: 0,
      bytesAdded: 0,
      bytesStored: 0,
      durationMs: 0,
    },
    problems: [],
  });
  return { repo, tree };
}

describe('hostile snapshots', () => {
  it('refuses names that leave the target and never writes through a symlink', async () => {
    const outside = tempDir();
    const x = new TextEncoder().encode('x');
    const { repo, tree } = await craftedSnapshot(
      [
        { path: '../escape', type: 'file' },
        { path: '/etc/absolute', type: 'file' },
        { path: 'a/./b', type: 'file' },
        { path: 'link', type: 'symlink', target: outside },
        { path: 'link/through', type: 'file' },
        { path: 'fine', type: 'file' },
      ],
      { '../escape': x, '/etc/absolute': x, 'a/./b': x, 'link/through': x, fine: x },
    );
    const target = tempDir();
    const { problems } = await restoreTree(new BlobReader(repo, await loadIndex(repo)), tree, target);
    expect(problems.map((p) => p.path).sort()).toEqual(
      ['../escape', '/etc/absolute', 'a/./b', 'link'].sort(),
    );
    expect(readdirSync(outside)).toEqual([]);
    expect(readFileSync(join(target, 'fine'), 'utf8')).toBe('x');
    // `link/through` made `link` a directory first, so the symlink could not replace it.
    expect(lstatSync(join(target, 'link')).isDirectory()).toBe(true);
  });

  it('refuses a target that already holds a symlink where the snapshot has a directory', async () => {
    const outside = tempDir();
    const { repo, tree } = await craftedSnapshot(
      [
        { path: 'dir', type: 'dir' },
        { path: 'dir/file', type: 'file' },
      ],
      {
        'dir/file': new TextEncoder().encode('x'),
      },
    );
    const target = tempDir();
    symlinkSync(outside, join(target, 'dir'));
    const { problems } = await restoreTree(new BlobReader(repo, await loadIndex(repo)), tree, target);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]!.message).toMatch(/refused/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('damage', () => {
  async function backedUp() {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    for (let i = 0; i < 20; i++) writeFileSync(join(root, `data/file-${i}`), randomBytes(200_000));
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    const index = await loadIndex(repo);
    const [ref] = await listSnapshots(repo, () => {});
    return { root, repo, index, tree: ref!.snapshot.tree };
  }

  it('a flipped byte costs only the file that uses it: verify names the pack and the file, restore keeps the rest', async () => {
    const { root, repo, index, tree } = await backedUp();
    // Flip a byte inside the blob of file-7.
    const nodes = [];
    for await (const node of readListing(new BlobReader(repo, index), tree)) nodes.push(node);
    const victim = nodes.find((n) => n.path === 'data/file-7')!;
    const at = index.get(victim.content![0]!)!;
    const packPath = join(repo.location, packName(at.pack));
    const bytes = readFileSync(packPath);
    bytes[at.offset + 100]! ^= 0x01;
    writeFileSync(packPath, bytes);

    const check = await checkRepository(repo, { readData: 1 });
    const objects = check.findings.map((f) => f.object);
    expect(objects).toContain(packName(at.pack));
    expect(check.findings.flatMap((f) => f.affected).some((a) => a.endsWith(':data/file-7'))).toBe(true);
    expect(check.findings.flatMap((f) => f.affected).some((a) => a.endsWith(':data/file-6'))).toBe(false);

    const target = tempDir();
    const { problems, totals } = await restoreTree(new BlobReader(repo, index), tree, target);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.path).toBe('data/file-7');
    expect(problems[0]!.message).toContain(victim.content![0]!);
    expect(existsSync(join(target, 'data/file-7'))).toBe(false);
    expect(totals.files).toBe(19);
    expect(readFileSync(join(target, 'data/file-3')).equals(readFileSync(join(root, 'data/file-3')))).toBe(
      true,
    );
  });

  it('a missing pack and a missing index are reported by name, never a crash', async () => {
    const { repo, index, tree } = await backedUp();
    const [pack] = [...index.packs];
    rmSync(join(repo.location, packName(pack!)));
    const check = await checkRepository(repo, { readData: 0 });
    expect(check.findings[0]!.object).toBe(packName(pack!));
    expect(check.findings[0]!.message).toMatch(/missing/);
    expect(check.findings[0]!.affected.length).toBeGreaterThan(0);

    for (const object of await repo.backend.list('index/')) rmSync(join(repo.location, object.name));
    const emptied = await loadIndex(repo);
    const restored = await restoreTree(new BlobReader(repo, emptied), tree, tempDir());
    expect(restored.totals.files).toBe(0);
    expect(restored.problems[0]!.message).toMatch(/blob [0-9a-f]{64} is in no index/);
    const again = await checkRepository(repo, { readData: 0 });
    expect(again.findings.some((f) => /in no index/.test(f.message))).toBe(true);
  });

  it('counts packs that no index names without calling them errors', async () => {
    const { repo, index } = await backedUp();
    const healthy = await checkRepository(repo, { readData: 0 });
    expect(healthy).toMatchObject({ unindexedPacks: 0, unindexedBytes: 0, findings: [] });
    // What a backup killed between writing a pack and its index leaves behind.
    const [pack] = [...index.packs];
    const bytes = readFileSync(join(repo.location, packName(pack!)));
    const leftover = `${'f'.repeat(63)}0`;
    mkdirSync(join(repo.location, packName(leftover), '..'), { recursive: true });
    writeFileSync(join(repo.location, packName(leftover)), bytes);
    const check = await checkRepository(repo, { readData: 1 });
    expect(check).toMatchObject({ unindexedPacks: 1, unindexedBytes: bytes.length, findings: [] });
    expect(check.packs).toBe(healthy.packs);
  });

  it('a truncated pack is named by verify', async () => {
    const { repo, index } = await backedUp();
    const [pack] = [...index.packs];
    const path = join(repo.location, packName(pack!));
    writeFileSync(path, readFileSync(path).subarray(0, 1000));
    const check = await checkRepository(repo, { readData: 1 });
    expect(check.findings.some((f) => f.object === packName(pack!) && /truncated/.test(f.message))).toBe(
      true,
    );
  });

  it('a damaged listing blob loses only the nodes it held', async () => {
    const { repo, index, tree } = await backedUp();
    // One tree blob for this small listing: damage it and every node is lost, but with a clear message.
    const at = index.get(tree[0]!)!;
    const packPath = join(repo.location, packName(at.pack));
    const bytes = readFileSync(packPath);
    bytes[at.offset + 40]! ^= 0xff;
    writeFileSync(packPath, bytes);
    const { problems, totals } = await restoreTree(new BlobReader(repo, index), tree, tempDir());
    expect(totals.files).toBe(0);
    expect(problems[0]!.path).toBe('(listing)');
    expect(problems[0]!.message).toContain(tree[0]!);
  });
});

describe('content workers', () => {
  it('read small files batched on both sides of large ones, and each batch goes out when it is awaited', async () => {
    // 70 small files fill one batch of 64 and start another, which the large file after them does not
    // send; the archiver must send it when it reaches them, or the backup waits forever.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 70; i++) files[`data/a/${String(i).padStart(2, '0')}.txt`] = randomBytes(100 + i);
    files['data/b/large.bin'] = randomBytes(600 * 1024);
    for (let i = 0; i < 3; i++) files[`data/c/${i}.txt`] = randomBytes(50);
    files['data/d/large.bin'] = randomBytes(300 * 1024);
    files['data/e/last.txt'] = randomBytes(10);
    const root = workspace(files);
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const [result] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(result!.summary.files).toBe(76);
    const target = await restoreFirst(repo);
    expect(manifest(join(target, 'data'))).toEqual(manifest(join(root, 'data')));
  });

  it('send sealed blobs several to a slab and large ones in slabs of their own, and all of them restore', async () => {
    // Ten incompressible 200 KiB files make one 2 MiB batch: its sealed blobs fill more than one 1 MiB slab.
    // The large file is cut at the 8 MiB maximum, so its message holds a slab of its own for that chunk and a
    // shared one for the 100 KiB left; text files give compressed blobs among the raw ones.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 10; i++) files[`data/a/${i}.bin`] = randomBytes(200 * 1024);
    files['data/b/large.bin'] = new Uint8Array(8 * MiB + 100 * 1024);
    for (let i = 0; i < 20; i++) files[`data/c/${i}.txt`] = Buffer.from(`row ${i}\n`.repeat(500 + i));
    const root = workspace(files);
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    const [result] = await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    expect(result!.summary.files).toBe(31);
    const target = await restoreFirst(repo);
    expect(manifest(join(target, 'data'))).toEqual(manifest(join(root, 'data')));
    const check = await checkRepository(repo, { readData: 1 });
    expect(check.findings).toEqual([]);
    expect(check.blobs).toBeGreaterThanOrEqual(32);
  });

  it('default to one more than the cores, at most four, unless RESTORABLE_WORKERS says otherwise', () => {
    const cores = availableParallelism();
    expect(defaultWorkerCount({})).toBe(Math.min(4, cores + 1));
    expect(defaultWorkerCount({ RESTORABLE_WORKERS: '7' })).toBe(7);
    expect(defaultWorkerCount({ RESTORABLE_WORKERS: '0' })).toBe(Math.min(4, cores + 1));
    expect(defaultWorkerCount({ RESTORABLE_WORKERS: 'many' })).toBe(Math.min(4, cores + 1));
  });
});

describe('restore pipeline', () => {
  it('fetches the next batch of small files before it writes the one before, and restores them all', async () => {
    // 600 distinct small files make batches of 256, 256 and 88. A batch's blobs must already be on their way
    // when the files of the batch before it are written, or the decode thread waits on the writes.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 600; i++) files[`data/${String(i).padStart(3, '0')}.bin`] = randomBytes(64 + i);
    const root = workspace(files);
    const repo = await newRepository(new LocalBackend(join(tempDir(), 'repo')));
    await backupSystem([repo], pathsInput(root, ['data']), { system: 's', policy: 'p' });
    const [ref] = await listSnapshots(repo, () => {});
    const index = await loadIndex(repo);
    const content = new Set<string>();
    for await (const node of readListing(new BlobReader(repo, index), ref!.snapshot.tree, () => {}))
      for (const id of node.content ?? []) content.add(id);
    expect(content.size).toBe(600);

    const fetchedBeforeFirstRead = new Set<string>();
    let reading = false;
    class WatchedReader extends BlobReader {
      override prefetch(ids: readonly string[]): void {
        for (const id of ids) if (!reading && content.has(id)) fetchedBeforeFirstRead.add(id);
        super.prefetch(ids);
      }
      override read(id: string): Promise<Uint8Array> {
        if (content.has(id)) reading = true;
        return super.read(id);
      }
    }
    const target = tempDir();
    const { problems } = await restoreTree(new WatchedReader(repo, index), ref!.snapshot.tree, target);
    expect(problems).toEqual([]);
    expect(fetchedBeforeFirstRead.size).toBe(512);
    expect(manifest(join(target, 'data'))).toEqual(manifest(join(root, 'data')));
  });
});
