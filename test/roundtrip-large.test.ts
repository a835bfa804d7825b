import { createCipheriv, createHash, type Hash } from 'node:crypto';
import {
  closeSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { SnapshotSummary } from '../src/engine/snapshot.ts';
import {
  type CliRun,
  manifestDifferences,
  restorable,
  sha256File,
  treeManifest,
} from './helpers/restorable-cli.ts';

// The "done when" round trips of the backup engine, through the CLI (dist/cli.js) against a local repository:
// 100,000 small files, one 2 GiB file, a 1 GiB command stream and a tree 300 levels deep, each restored and
// compared byte for byte with its metadata. Every step's wall time is printed. The scratch space (about 7 GB at
// the peak, for the 2 GiB file: source, repository and restore) is os.tmpdir(), or RESTORABLE_LARGE_TMPDIR.

const MINUTES = 60_000;
const MiB = 1024 * 1024;
const ENV = { RESTORABLE_PASSPHRASE: 'large round trips', RESTORABLE_PROGRESS_INTERVAL: '30' };
const SCRATCH = process.env.RESTORABLE_LARGE_TMPDIR ?? tmpdir();

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) {
    const started = performance.now();
    rmSync(dir, { recursive: true, force: true });
    report('cleanup', `removed ${dir}`, started);
  }
});

function workspace(policySource: string, system = 'large'): string {
  const root = mkdtempSync(join(SCRATCH, 'restorable-large-'));
  dirs.push(root);
  writeFileSync(
    join(root, 'policy.yaml'),
    `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: large, owner: ops@example.com }
repositories:
  local: { local: { path: repo } }
systems:
  - name: ${system}
    source: ${policySource}
    repositories: [local]
`,
  );
  return root;
}

function report(part: string, step: string, started: number, extra = ''): number {
  const seconds = (performance.now() - started) / 1000;
  console.log(`[roundtrip] ${part}: ${step}: ${seconds.toFixed(1)} s${extra ? ` (${extra})` : ''}`);
  return seconds;
}

function rate(bytes: number, seconds: number): string {
  return `${(bytes / MiB / seconds).toFixed(0)} MiB/s`;
}

function described(result: CliRun): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout.slice(0, 4000)}\n--- stderr\n${result.stderr.slice(0, 4000)}`;
}

type Summary = SnapshotSummary;

async function backup(part: string, root: string): Promise<Summary> {
  const started = performance.now();
  const result = await restorable(['backup', 'policy.yaml', '--root', root, '--json'], {
    cwd: root,
    env: ENV,
    timeoutMs: 15 * MINUTES,
  });
  expect(result.status, described(result)).toBe(0);
  const json = JSON.parse(result.stdout) as {
    systems: { status: string; problems: unknown[]; repositories: { summary: Summary }[] }[];
  };
  expect(json.systems[0]!.status).toBe('ok');
  expect(json.systems[0]!.problems).toEqual([]);
  const summary = json.systems[0]!.repositories[0]!.summary;
  const seconds = report(part, 'backup', started);
  console.log(
    `[roundtrip] ${part}: backup summary: ${summary.files} files, ${summary.dirs} dirs, read ${summary.bytesRead} B, added ${summary.bytesAdded} B, stored ${summary.bytesStored} B; ${rate(summary.bytesRead, seconds)}, ${(summary.files / seconds).toFixed(0)} files/s`,
  );
  return summary;
}

async function restore(part: string, root: string, args: string[], stdout?: Writable): Promise<CliRun> {
  const started = performance.now();
  const result = await restorable(['restore', 'policy.yaml', '--root', root, '--system', 'large', ...args], {
    cwd: root,
    env: ENV,
    timeoutMs: 15 * MINUTES,
    ...(stdout ? { stdout } : {}),
  });
  report(part, `restore ${args.join(' ')}`, started);
  expect(result.status, described(result)).toBe(0);
  return result;
}

/** AES-256-CTR keystream under a fixed key: deterministic, incompressible, never repeating (so no dedup). */
function keystream(seed: number) {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16, 0));
  const zeros = Buffer.alloc(MiB);
  return () => cipher.update(zeros);
}

/** A Writable that only hashes what it is given. */
function hashingSink(): { sink: Writable; hash: Hash; bytes: () => number } {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    highWaterMark: 4 * MiB,
    write(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  return { sink, hash, bytes: () => bytes };
}

describe('large round trips through the CLI (local repository)', () => {
  it(
    '100,000 small files in 1,000 directories',
    async () => {
      const part = '100k files';
      const root = workspace('{ paths: [data] }');
      let started = performance.now();
      let bytes = 0;
      for (let d = 0; d < 1000; d++) {
        const dir = join(root, 'data', `dir-${String(d).padStart(4, '0')}`);
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 100; f++) {
          // 0 to 24 bytes, distinct per file; some modes other than 0644
          const content = 'x'.repeat((d * 7 + f) % 9) + (f % 10 === 0 ? '' : `${d}:${f}\n`);
          const path = join(dir, `file-${String(f).padStart(3, '0')}.txt`);
          writeFileSync(path, content, { mode: f % 7 === 0 ? 0o600 : f % 11 === 0 ? 0o755 : 0o644 });
          bytes += content.length;
        }
      }
      report(part, 'generate', started, `${bytes} bytes`);

      started = performance.now();
      const source = await treeManifest(join(root, 'data'));
      report(part, 'manifest of the source', started);
      expect(source.size).toBe(101_000);

      const summary = await backup(part, root);
      expect(summary).toMatchObject({ files: 100_000, dirs: 1_001, bytes, bytesRead: bytes });

      const target = join(root, 'out');
      const restored = await restore(part, root, ['--target', target]);
      expect(restored.stdout).toContain('100000 files, 1001 directories, 0 symlinks');

      started = performance.now();
      const copy = await treeManifest(join(target, 'data'));
      report(part, 'manifest of the restore and compare', started);
      expect(copy.size).toBe(101_000);
      expect(manifestDifferences(source, copy)).toEqual([]);
    },
    20 * MINUTES,
  );

  it(
    'one 2 GiB file',
    async () => {
      const part = '2 GiB file';
      const size = 2 * 1024 * MiB;
      const root = workspace('{ paths: [data] }');
      mkdirSync(join(root, 'data'));
      const path = join(root, 'data/two-gib.bin');
      let started = performance.now();
      const next = keystream(2);
      const hash = createHash('sha256');
      const fd = openSync(path, 'w', 0o640);
      for (let written = 0; written < size; written += MiB) {
        const block = next();
        hash.update(block);
        writeSync(fd, block);
      }
      closeSync(fd);
      const expected = hash.digest('hex');
      const before = lstatSync(path, { bigint: true });
      report(part, 'generate and hash', started);

      const summary = await backup(part, root);
      expect(summary).toMatchObject({ files: 1, bytes: size, bytesRead: size });
      expect(summary.bytesAdded).toBeGreaterThanOrEqual(size); // random: nothing deduplicates
      expect(summary.bytesStored).toBeLessThan(size * 1.01);

      const target = join(root, 'out');
      await restore(part, root, ['--target', target]);
      const copy = join(target, 'data/two-gib.bin');
      started = performance.now();
      const actual = await sha256File(copy);
      report(part, 'hash of the restore', started);
      expect(actual).toBe(expected);
      const after = lstatSync(copy, { bigint: true });
      expect(after.size).toBe(BigInt(size));
      expect(after.mode & 0o7777n).toBe(before.mode & 0o7777n);
      expect(after.mtimeNs / 1000n).toBe(before.mtimeNs / 1000n);
    },
    20 * MINUTES,
  );

  it(
    'a 1 GiB command stream, restored with --stdout',
    async () => {
      const part = '1 GiB stream';
      const size = 1024 * MiB;
      // The command writes the AES-CTR keystream of seed 1: the test computes the same bytes itself.
      const generator = `import { createCipheriv } from 'node:crypto';
const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, 1), Buffer.alloc(16, 0));
const zeros = Buffer.alloc(1024 * 1024);
let left = Number(process.argv[2]);
function more() {
  while (left > 0) {
    const block = cipher.update(zeros).subarray(0, Math.min(left, zeros.length));
    left -= block.length;
    if (!process.stdout.write(block)) return process.stdout.once('drain', more);
  }
}
more();
`;
      const root = workspace(
        `{ command: [${JSON.stringify(process.execPath)}, generate.mjs, "${size}"], filename: stream.bin }`,
      );
      writeFileSync(join(root, 'generate.mjs'), generator);
      const started = performance.now();
      const next = keystream(1);
      const hash = createHash('sha256');
      for (let done = 0; done < size; done += MiB) hash.update(next());
      const expected = hash.digest('hex');
      report(part, 'expected hash', started);

      const summary = await backup(part, root);
      expect(summary).toMatchObject({ files: 1, bytes: size, bytesRead: size });

      const { sink, hash: restoredHash, bytes } = hashingSink();
      const restored = await restore(part, root, ['--stdout'], sink);
      expect(bytes()).toBe(size);
      expect(restoredHash.digest('hex')).toBe(expected);
      expect(restored.stderr).toMatch(/wrote 1\.0 GiB from snapshot [0-9a-f]{8}/);
    },
    20 * MINUTES,
  );

  it(
    'a tree 300 levels deep',
    async () => {
      const part = 'deep tree';
      const root = workspace('{ paths: [data] }');
      let started = performance.now();
      let dir = join(root, 'data');
      mkdirSync(dir);
      for (let level = 0; level < 300; level++) {
        dir = join(dir, `level-${String(level).padStart(3, '0')}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'file.txt'), `level ${level}\n`);
        if (level % 50 === 49) symlinkSync('../file.txt', join(dir, 'up'));
      }
      report(part, 'generate', started, `deepest directory path ${dir.length} characters`);
      const source = await treeManifest(join(root, 'data'));
      expect(source.size).toBe(300 + 300 + 6);

      const summary = await backup(part, root);
      expect(summary).toMatchObject({ files: 300, dirs: 301, symlinks: 6 });

      const target = join(root, 'out');
      await restore(part, root, ['--target', target]);
      started = performance.now();
      expect(manifestDifferences(source, await treeManifest(join(target, 'data')))).toEqual([]);
      report(part, 'compare', started);
    },
    10 * MINUTES,
  );
});
