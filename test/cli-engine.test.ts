import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CliRun,
  type ManifestEntry,
  manifestDifferences,
  restorable,
  treeManifest,
} from './helpers/restorable-cli.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { S3RVER_CREDENTIALS, type S3Server, startS3Server } from './helpers/s3-server.ts';

// The backup engine's CLI as a user runs it: dist/cli.js in real processes, real files, local repositories in
// temporary directories (and one bucket of s3rver on loopback).

const PASSPHRASE = 'correct horse battery staple';
const ENV = { RESTORABLE_PASSPHRASE: PASSPHRASE };
const asRoot = process.getuid?.() === 0;

const dirs: string[] = [];
function tempDir(prefix = 'restorable-cli-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const POLICY_HEAD = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: cli-test, owner: ops@example.com }
`;

/** A policy with the given repositories and systems (YAML fragments, indented as list items / map entries). */
function writePolicy(root: string, repositories: string, systems: string, name = 'policy.yaml'): string {
  writeFileSync(join(root, name), `${POLICY_HEAD}repositories:\n${repositories}\nsystems:\n${systems}\n`);
  return name;
}

function run(root: string, args: string[], env: Record<string, string> = ENV): Promise<CliRun> {
  return restorable([...args, '--root', root], { cwd: root, env });
}

/** Exit status and both outputs, for failure messages that say what the CLI did. */
function described(result: CliRun): string {
  return `exit ${result.status}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
}

function expectNoStackTrace(result: CliRun): void {
  const both = `${result.stdout}\n${result.stderr}`;
  expect(both).not.toMatch(/^\s+at .+[:(]/m);
  expect(both).not.toContain('internal error');
}

/** Sets a path's mtime (and atime) to the nanosecond, symbolic links themselves included. */
function touchNs(path: string, ns: bigint): void {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  const result = spawnSync('touch', ['-h', '-d', `@${seconds}.${fraction}`, '--', path]);
  if (result.status !== 0) throw new Error(`touch ${path}: ${result.stderr}`);
}

/**
 * A tree with what restores get wrong: modes (setuid, sticky, 0700 directories), nanosecond mtimes on
 * files, directories and links, Unicode names (NFC and NFD of the same word), a newline in a name, empty
 * files and directories, relative, absolute and dangling links, an owner other than root, and a 3 MiB file.
 */
function makeTree(root: string): void {
  const data = join(root, 'data');
  const file = (path: string, content: string | Uint8Array, mode = 0o644) => {
    mkdirSync(join(data, path, '..'), { recursive: true });
    writeFileSync(join(data, path), content);
    chmodSync(join(data, path), mode);
  };
  file('a.txt', 'hello\n');
  file('empty.txt', '');
  file('-starts-with-dash', 'dash\n');
  file('big.bin', randomBytes(3 * 1024 * 1024), 0o640);
  file('bin/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  file('bin/setuid-tool', 'suid\n', 0o4755);
  file('bin/setgid-tool', 'sgid\n', 0o2750);
  file('private/secret.key', 'k\n', 0o600);
  chmodSync(join(data, 'private'), 0o700);
  mkdirSync(join(data, 'empty-dir'));
  chmodSync(join(data, 'empty-dir'), 0o750);
  file('shared/note', 'note\n', 0o666);
  chmodSync(join(data, 'shared'), 0o1777);
  file('unicode/caf\u00e9.txt', 'NFC\n');
  file('unicode/cafe\u0301.txt', 'NFD\n');
  file('unicode/日本語/ファイル.txt', 'にほんご\n');
  file('unicode/emoji 🎉 and spaces.txt', '🎉\n');
  file('unicode/line\nbreak.txt', 'newline in the name\n');
  file('owned.txt', 'owned\n');
  mkdirSync(join(data, 'links'));
  symlinkSync('../a.txt', join(data, 'links/relative'));
  symlinkSync('/etc/passwd', join(data, 'links/absolute'));
  symlinkSync('does/not/exist', join(data, 'links/dangling'));
  symlinkSync('../unicode', join(data, 'links/to-dir'));
  if (asRoot) {
    lchownSync(join(data, 'owned.txt'), 1234, 5678);
    // chown clears setuid and setgid: a restore that sets the mode before the owner loses them
    file('bin/setuid-other-owner', 'suid\n');
    lchownSync(join(data, 'bin/setuid-other-owner'), 1234, 5678);
    chmodSync(join(data, 'bin/setuid-other-owner'), 0o6755);
    lchownSync(join(data, 'links/relative'), 4321, 8765);
  }
  // Distinct nanosecond times everywhere, the tree's root included, after everything is created.
  let ns = 1_700_000_000_123_456_789n;
  const all: string[] = [];
  const walk = (relative: string) => {
    for (const name of readdirSync(join(data, relative), { withFileTypes: true })) {
      const path = relative === '' ? name.name : `${relative}/${name.name}`;
      all.push(path);
      if (name.isDirectory()) walk(path);
    }
  };
  walk('');
  for (const path of [...all, '']) {
    touchNs(join(data, path), ns);
    ns += 86_400_000_000_123n; // a day and 123 ns
  }
}

function counts(manifest: Map<string, ManifestEntry>) {
  const entries = [...manifest.values()];
  return {
    files: entries.filter((e) => e.type === 'file').length,
    // the tree's root `data` is a directory of the snapshot too
    dirs: entries.filter((e) => e.type === 'dir').length + 1,
    symlinks: entries.filter((e) => e.type === 'symlink').length,
    bytes: entries.reduce((sum, e) => sum + (e.size ?? 0), 0),
  };
}

interface BackupJson {
  command: 'backup';
  systems: {
    system: string;
    status: string;
    message?: string;
    repositories: {
      name: string;
      repository: string;
      snapshot: string;
      summary: Record<string, number>;
      problems: { path: string; message: string }[];
    }[];
    problems: { path: string; message: string }[];
  }[];
}

interface SnapshotsJson {
  snapshots: {
    repository: string;
    id: string;
    system: string;
    problems: number;
    summary: { files: number };
  }[];
}

async function snapshotsOf(root: string, system: string, policy = 'policy.yaml') {
  const listed = await run(root, ['snapshots', policy, '--system', system, '--json']);
  expect(listed.status, described(listed)).toBe(0);
  return (JSON.parse(listed.stdout) as SnapshotsJson).snapshots;
}

describe('backup, snapshots and restore of a tree into two local repositories', () => {
  let root: string;
  let source: Map<string, ManifestEntry>;
  let first: CliRun;
  let firstJson: BackupJson;

  beforeAll(async () => {
    root = tempDir();
    makeTree(root);
    source = await treeManifest(join(root, 'data'));
    writePolicy(
      root,
      '  local: { local: { path: repo } }\n  mirror: { local: { path: mirror } }',
      `  - name: files
    source: { paths: [data] }
    repositories: [local, mirror]
  - name: numbers
    source: { command: [sh, -c, 'seq 1 300000'], filename: numbers.txt }
    repositories: [local]`,
    );
    first = await run(root, ['backup', 'policy.yaml', '--system', 'files', '--json']);
    firstJson = JSON.parse(first.stdout) as BackupJson;
  });

  it('--json summarises the backup: a snapshot in each repository, files, bytes read, added, stored, duration', () => {
    expect(first.status, described(first)).toBe(0);
    expectNoStackTrace(first);
    expect(first.stderr).toContain('created repository');
    const [files] = firstJson.systems;
    expect(firstJson.systems).toHaveLength(1);
    expect(files!.status).toBe('ok');
    expect(files!.problems).toEqual([]);
    expect(files!.repositories.map((r) => r.name)).toEqual(['local', 'mirror']);
    const expected = counts(source);
    for (const repository of files!.repositories) {
      expect(repository.snapshot).toMatch(/^[0-9a-f]{64}$/);
      const s = repository.summary;
      expect(s).toMatchObject(expected);
      expect(s.bytesRead).toBe(expected.bytes);
      // big.bin is random: about as many bytes are added and stored as were read (plus listing and headers)
      expect(s.bytesAdded).toBeGreaterThanOrEqual(expected.bytes);
      expect(s.bytesStored).toBeGreaterThanOrEqual(3 * 1024 * 1024);
      expect(s.bytesStored).toBeLessThan(expected.bytes * 1.05);
      expect(s.durationMs).toBeGreaterThanOrEqual(0);
      expect(s.durationMs).toBeLessThan(first.ms);
    }
    // each repository holds its own snapshot object (the repositories have different keys)
    const [local, mirror] = files!.repositories;
    expect(local!.snapshot).not.toBe(mirror!.snapshot);
    expect(readdirSync(join(root, 'repo/snapshots'))).toEqual([local!.snapshot]);
    expect(readdirSync(join(root, 'mirror/snapshots'))).toEqual([mirror!.snapshot]);
  });

  it('snapshots lists them as a table and as JSON', async () => {
    const table = await run(root, ['snapshots', 'policy.yaml']);
    expect(table.status, described(table)).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +TIME +SYSTEM +REPOSITORY +HOST +FILES +SIZE +PROBLEMS$/);
    const ids = firstJson.systems[0]!.repositories.map((r) => r.snapshot.slice(0, 8));
    const { files } = counts(source);
    expect(lines[1]).toMatch(
      new RegExp(
        `^${ids[0]} +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +files +local +\\S+ +${files} +3\\.0 MiB +0$`,
      ),
    );
    expect(lines[2]).toMatch(new RegExp(`^${ids[1]} .* files +mirror +\\S+ +${files} +3\\.0 MiB +0$`));
    expect(lines.at(-1)).toBe('2 snapshots');

    const listed = await snapshotsOf(root, 'files');
    expect(listed.map((s) => [s.repository, s.id])).toEqual(
      firstJson.systems[0]!.repositories.map((r) => [r.name, r.snapshot]),
    );
  });

  it('restore reproduces the tree from each repository: bytes, modes, mtimes to the microsecond, links, owners', async () => {
    for (const repository of ['local', 'mirror']) {
      const target = join(root, `restored-${repository}`);
      const restored = await run(root, [
        'restore',
        'policy.yaml',
        '--system',
        'files',
        '--repository',
        repository,
        '--target',
        target,
      ]);
      expect(restored.status, described(restored)).toBe(0);
      expect(restored.stderr).toBe('');
      const c = counts(source);
      expect(restored.stdout).toContain(`${c.files} files, ${c.dirs} directories, ${c.symlinks} symlinks`);
      expect(readdirSync(target)).toEqual(['data']);
      const copy = await treeManifest(join(target, 'data'));
      expect(manifestDifferences(source, copy)).toEqual([]);
      // and the tree's root directory itself
      expect(statSync(join(target, 'data'), { bigint: true }).mtimeNs / 1000n).toBe(
        statSync(join(root, 'data'), { bigint: true }).mtimeNs / 1000n,
      );
    }
    // the checks above would miss what the fixture failed to set up
    expect(source.get('bin/setuid-tool')!.mode).toBe(0o4755);
    expect(source.get('shared')!.mode).toBe(0o1777);
    expect(source.get('links/absolute')!.target).toBe('/etc/passwd');
    expect(source.get('unicode/cafe\u0301.txt')!.sha256).not.toBe(
      source.get('unicode/caf\u00e9.txt')!.sha256,
    );
    if (asRoot) {
      expect(source.get('owned.txt')).toMatchObject({ uid: 1234, gid: 5678 });
      expect(source.get('bin/setuid-other-owner')).toMatchObject({ uid: 1234, mode: 0o6755 });
    }
  });

  it('--path restores one sub-tree only', async () => {
    const target = join(root, 'restored-unicode');
    const restored = await run(root, [
      'restore',
      'policy.yaml',
      '--system',
      'files',
      '--path',
      'data/unicode',
      '--target',
      target,
    ]);
    expect(restored.status, described(restored)).toBe(0);
    expect(readdirSync(target)).toEqual(['data']);
    expect(readdirSync(join(target, 'data'))).toEqual(['unicode']);
    const sub = new Map([...source].filter(([path]) => path.startsWith('unicode/')));
    const copy = await treeManifest(join(target, 'data'));
    copy.delete('unicode'); // the sub-tree's root: compared below
    expect(sub.size).toBe(6);
    expect(manifestDifferences(sub, copy)).toEqual([]);
    expect(statSync(join(target, 'data/unicode')).mode & 0o7777).toBe(source.get('unicode')!.mode);

    const nothing = await run(root, [
      'restore',
      'policy.yaml',
      '--system',
      'files',
      '--path',
      'data/no-such-thing',
      '--target',
      join(root, 'restored-nothing'),
    ]);
    expect(nothing.status).toBe(1);
    expect(nothing.stderr).toContain('holds nothing at data/no-such-thing');
  });

  it('restore --stdout streams a command source’s output byte for byte', async () => {
    const backup = await run(root, ['backup', 'policy.yaml', '--system', 'numbers']);
    expect(backup.status, described(backup)).toBe(0);
    expect(backup.stdout).toMatch(/^numbers → local \(.*\/repo\): snapshot [0-9a-f]{8}, 1 file, 1\.9 MiB;/);
    const expected = spawnSync('sh', ['-c', 'seq 1 300000'], { maxBuffer: 16 * 1024 * 1024 }).stdout;
    expect(expected.length).toBe(1_988_895);
    const restored = await run(root, ['restore', 'policy.yaml', '--system', 'numbers', '--stdout']);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.bytes.equals(expected)).toBe(true);
    expect(restored.stderr).toMatch(/^wrote 1\.9 MiB from snapshot [0-9a-f]{8}\n$/);
    // a tree of several files has no single file to stream, unless --path names one
    const many = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--stdout']);
    expect(many.status).toBe(1);
    expect(many.stderr).toContain('holds several files: name one with --path');
    const one = await run(root, [
      'restore',
      'policy.yaml',
      '--system',
      'files',
      '--stdout',
      '--path',
      'data/unicode/日本語/ファイル.txt',
    ]);
    expect(one.status, one.stderr).toBe(0);
    expect(one.stdout).toBe('にほんご\n');
  });

  it('a second backup of unchanged data reads nothing again and adds under 1% of it', async () => {
    const again = await run(root, ['backup', 'policy.yaml', '--system', 'files', '--json']);
    expect(again.status, described(again)).toBe(0);
    const { bytes } = counts(source);
    const json = JSON.parse(again.stdout) as BackupJson;
    for (const repository of json.systems[0]!.repositories) {
      const s = repository.summary;
      expect(s.bytes).toBe(bytes);
      expect(s.bytesRead).toBe(0);
      expect(s.bytesAdded).toBeLessThan(bytes / 100);
      expect(s.bytesStored).toBeLessThan(bytes / 100);
    }
    expect((await snapshotsOf(root, 'files')).length).toBe(4);
  });

  it('prints progress with the previous snapshot as the expected total, and an ETA, on stderr', async () => {
    const again = await run(root, ['backup', 'policy.yaml', '--system', 'files'], {
      ...ENV,
      RESTORABLE_PROGRESS_INTERVAL: '0',
    });
    expect(again.status, described(again)).toBe(0);
    const { bytes } = counts(source);
    const lines = again.stderr.split('\n').filter((line) => line.startsWith('backup files: '));
    expect(lines.length).toBeGreaterThan(1);
    // Every line: files, bytes of the expected total, percentage, rate, elapsed time.
    for (const line of lines) expect(line).toMatch(/^backup files: \d+ files, .* of .* \(\d+%\), .*\/s, /);
    expect(lines.some((line) => / ETA \d/.test(line))).toBe(true);
    expect(lines.at(-1)).toContain(`(100%)`);
    expect(again.stdout).not.toContain('backup files:');
    expect(bytes).toBeGreaterThan(0);
  });
});

describe('backup policy problems and failing sources', () => {
  let root: string;
  const SECRET = 's3cr3t-Pa55w0rd-f0r-the-db';
  // daily, twelve hours from now: the schedule cannot come round between two runs of this test
  const DAILY_HOUR = (new Date().getUTCHours() + 12) % 24;

  beforeAll(() => {
    root = tempDir();
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/file.txt'), 'content\n');
    writePolicy(
      root,
      '  local: { local: { path: repo } }',
      `  - name: files
    source: { paths: [data] }
    schedule: "0 ${DAILY_HOUR} * * *"
    repositories: [local]
  - name: failing
    source:
      command: [sh, -c, 'seq 1 100000; echo "psql: connecting with password $$0 failed" >&2; exit 3', $DB_PASSWORD]
    repositories: [local]
  - name: slow
    source: { command: [sh, -c, 'echo started; sleep 30'], timeout: 1s }
    repositories: [local]`,
    );
  });

  it('--due skips a system whose schedule has not come round since its newest snapshot', async () => {
    const firstRun = await run(root, ['backup', 'policy.yaml', '--system', 'files', '--due', '--json']);
    expect(firstRun.status, described(firstRun)).toBe(0);
    expect((JSON.parse(firstRun.stdout) as BackupJson).systems[0]!.status).toBe('ok');
    expect(await snapshotsOf(root, 'files')).toHaveLength(1);

    const notDue = await run(root, ['backup', 'policy.yaml', '--system', 'files', '--due', '--json']);
    expect(notDue.status, described(notDue)).toBe(0);
    const json = (JSON.parse(notDue.stdout) as BackupJson).systems[0]!;
    expect(json.status).toBe('not-due');
    expect(json.message).toMatch(/newest snapshot [0-9a-f]{8} .* is not older than the schedule's last time/);
    expect(json.repositories).toEqual([]);
    const text = await run(root, ['backup', 'policy.yaml', '--system', 'files', '--due']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^files: not due: /);
    expect(await snapshotsOf(root, 'files')).toHaveLength(1);

    const forced = await run(root, ['backup', 'policy.yaml', '--system', 'files']);
    expect(forced.status, described(forced)).toBe(0);
    expect(forced.stdout).toMatch(/^files → local .*: snapshot [0-9a-f]{8}, 1 file, 8 B;/);
    expect(await snapshotsOf(root, 'files')).toHaveLength(2);
  });

  it('a command that exits 3 fails the backup, naming the command and its exit code, with the secret masked', async () => {
    const env = { ...ENV, DB_PASSWORD: SECRET };
    const text = await run(root, ['backup', 'policy.yaml', '--system', 'failing'], env);
    const json = await run(root, ['backup', 'policy.yaml', '--system', 'failing', '--json'], env);
    for (const result of [text, json]) {
      expect(result.status, described(result)).toBe(1);
      expectNoStackTrace(result);
      expect(result.stdout + result.stderr).not.toContain(SECRET);
    }
    expect(text.stderr).toMatch(/^failing: FAILED: command sh \[.*\] exited with code 3; stderr: .*\n$/);
    expect(text.stderr).toContain('psql: connecting with password *** failed');
    expect(text.stderr).toContain('"$DB_PASSWORD"'); // the command as written, unexpanded
    const [failed] = (JSON.parse(json.stdout) as BackupJson).systems;
    expect(failed).toMatchObject({ system: 'failing', status: 'failed', repositories: [] });
    expect(failed!.message).toContain('exited with code 3');
    expect(failed!.message).toContain('***');
    // no snapshot committed, though its output was read (and stored, for later deduplication)
    expect(await snapshotsOf(root, 'failing')).toEqual([]);
  });

  it('a command that outlives source.timeout is stopped and fails the backup without a snapshot', async () => {
    const result = await run(root, ['backup', 'policy.yaml', '--system', 'slow']);
    expect(result.status, described(result)).toBe(1);
    expectNoStackTrace(result);
    expect(result.stderr).toMatch(/^slow: FAILED: command sh \[.*\] timed out after 1s\n$/);
    expect(result.ms).toBeLessThan(15_000);
    expect(await snapshotsOf(root, 'slow')).toEqual([]);
  });

  it('one failing system does not stop the others', async () => {
    const result = await run(root, ['backup', 'policy.yaml', '--json'], { ...ENV, DB_PASSWORD: SECRET });
    expect(result.status).toBe(1);
    const statuses = (JSON.parse(result.stdout) as BackupJson).systems.map((s) => [s.system, s.status]);
    expect(statuses).toEqual([
      ['files', 'ok'],
      ['failing', 'failed'],
      ['slow', 'failed'],
    ]);
    expect(await snapshotsOf(root, 'files')).toHaveLength(3);
  });

  it('a wrong passphrase fails with one line on stderr and no stack trace', async () => {
    const env = { RESTORABLE_PASSPHRASE: 'not the passphrase' };
    const commands = [
      ['snapshots', 'policy.yaml'],
      ['restore', 'policy.yaml', '--system', 'files', '--target', join(root, 'wrong')],
      ['repo', 'verify', 'policy.yaml'],
      ['key', 'list', 'policy.yaml', '--system', 'files'],
      ['backup', 'policy.yaml', '--system', 'files'],
    ];
    for (const args of commands) {
      const result = await run(root, args, env);
      expect(result.status, `${args.join(' ')}: ${described(result)}`).toBe(1);
      expect(result.stdout).toBe('');
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, `${args.join(' ')}: ${result.stderr}`).toHaveLength(1);
      expect(lines[0]).toContain(`no key wrapper of ${join(root, 'repo')} opens with the given passphrase`);
      expectNoStackTrace(result);
    }
    expect(existsSync(join(root, 'wrong'))).toBe(false);
  });

  it('a missing passphrase names the variable to set, and creates nothing', async () => {
    const fresh = tempDir();
    mkdirSync(join(fresh, 'data'));
    writeFileSync(join(fresh, 'data/x'), 'x');
    writePolicy(
      fresh,
      '  local: { local: { path: repo } }\n  other: { local: { path: other } }',
      `  - name: default-variable
    source: { paths: [data] }
    repositories: [local]
  - name: own-variable
    source: { paths: [data] }
    encryption: { passphrase: { env: PAYMENTS_BACKUP_PASSPHRASE } }
    repositories: [other]`,
    );
    const result = await run(fresh, ['backup', 'policy.yaml'], {});
    expect(result.status, described(result)).toBe(1);
    expectNoStackTrace(result);
    expect(result.stderr).toContain(
      `default-variable: FAILED: system "default-variable": cannot create ${join(fresh, 'repo')}: its key needs a passphrase or recipients; set RESTORABLE_PASSPHRASE or list encryption.recipients`,
    );
    expect(result.stderr).toContain('set PAYMENTS_BACKUP_PASSPHRASE or list encryption.recipients');
    expect(existsSync(join(fresh, 'repo/config'))).toBe(false);
    expect(existsSync(join(fresh, 'other/config'))).toBe(false);
    // and reading commands say which variables they look at
    const listed = await run(root, ['snapshots', 'policy.yaml'], {});
    expect(listed.status).toBe(1);
    expect(listed.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(listed.stderr).toContain('set RESTORABLE_PASSPHRASE');
  });

  it('restoring from a repository that is not there says to check its location, and never to back up', async () => {
    const fresh = tempDir();
    writePolicy(
      fresh,
      '  local: { local: { path: gone } }',
      `  - name: lost
    source: { paths: [data] }
    repositories: [local]`,
    );
    for (const args of [
      ['restore', 'policy.yaml', '--system', 'lost', '--target', join(fresh, 'out')],
      ['snapshots', 'policy.yaml'],
    ]) {
      const result = await run(fresh, args);
      expect(result.status, described(result)).toBe(1);
      expectNoStackTrace(result);
      expect(result.stderr).toContain(
        `${join(fresh, 'gone')} holds no repository (no config object): check the location`,
      );
      expect(result.stderr).toContain('do not run one to restore from a repository that should be there');
    }
    expect(existsSync(join(fresh, 'gone'))).toBe(false);
  });

  it('snapshots still lists the offsite copy when the primary is gone, and names the one it cannot read', async () => {
    const fresh = tempDir();
    mkdirSync(join(fresh, 'data'));
    writeFileSync(join(fresh, 'data/x'), 'x\n');
    writePolicy(
      fresh,
      '  primary: { local: { path: primary } }\n  offsite: { local: { path: offsite } }',
      `  - name: both
    source: { paths: [data] }
    repositories: [primary, offsite]`,
    );
    expect((await run(fresh, ['backup', 'policy.yaml'])).status).toBe(0);
    rmSync(join(fresh, 'primary'), { recursive: true, force: true });
    const listed = await run(fresh, ['snapshots', 'policy.yaml', '--json']);
    expect(listed.status, described(listed)).toBe(1);
    expectNoStackTrace(listed);
    const report = JSON.parse(listed.stdout);
    expect(report.snapshots.map((row: { repository: string }) => row.repository)).toEqual(['offsite']);
    expect(listed.stderr).toContain(
      `repository primary cannot be read: ${join(fresh, 'primary')} holds no repository`,
    );
  });

  it('a malformed policy stops the run before anything executes, naming file:line:column', async () => {
    const fresh = tempDir();
    writeFileSync(
      join(fresh, 'broken.yaml'),
      `${POLICY_HEAD}repositories:
  local: { local: { path: repo } }
systems:
  - name: marker
    source: { command: [touch, ran] }
    repositories: [local]
  - name: broken
    source: { paths: [data]
    repositories: [local]
`,
    );
    const result = await run(fresh, ['backup', 'broken.yaml']);
    expect(result.status, described(result)).toBe(1);
    expectNoStackTrace(result);
    expect(result.stderr).toMatch(/nothing was run/);
    expect(result.stderr).toMatch(/^ {2}broken\.yaml:12:\d+: .+ \[yaml\/syntax\]$/m);
    expect(existsSync(join(fresh, 'ran'))).toBe(false);
    expect(existsSync(join(fresh, 'repo'))).toBe(false);

    writePolicy(
      fresh,
      '  local: { local: { path: repo } }',
      `  - name: marker
    source: { command: [touch, ran] }
    repositories: [local, nowhere]`,
      'unknown-repository.yaml',
    );
    const schema = await run(fresh, ['backup', 'unknown-repository.yaml']);
    expect(schema.status, described(schema)).toBe(1);
    expect(schema.stderr).toMatch(/^ {2}unknown-repository\.yaml:\d+:\d+: .*nowhere/m);
    expect(existsSync(join(fresh, 'ran'))).toBe(false);
  });
});

describe('what the source cannot read', () => {
  let server: Server | undefined;
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('a socket and a fifo are skipped and listed: exit 3, the snapshot committed with its problems', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data/sub'), { recursive: true });
    writeFileSync(join(root, 'data/ok.txt'), 'ok\n');
    writeFileSync(join(root, 'data/sub/also-ok.txt'), 'also ok\n');
    const fifo = spawnSync('mkfifo', [join(root, 'data/sub/pipe')]);
    expect(fifo.status).toBe(0);
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(join(root, 'data/socket'), resolve));
    const expectedProblems = ['data/socket', 'data/sub/pipe'];
    if (!asRoot) {
      // root reads anything: there, the socket and the fifo stand for unreadable files
      writeFileSync(join(root, 'data/locked.txt'), 'locked\n');
      chmodSync(join(root, 'data/locked.txt'), 0);
      expectedProblems.splice(0, 0, 'data/locked.txt');
    }
    writePolicy(
      root,
      '  local: { local: { path: repo } }',
      `  - name: files
    source: { paths: [data] }
    repositories: [local]`,
    );
    const result = await run(root, ['backup', 'policy.yaml']);
    expect(result.status, described(result)).toBe(3);
    expectNoStackTrace(result);
    expect(result.stdout).toMatch(/^files → local .*: snapshot [0-9a-f]{8}, 2 files,/);
    expect(result.stdout).toContain(
      'files: not backed up: data/socket: not a regular file, directory or symlink (a socket): skipped',
    );
    expect(result.stdout).toContain(
      'files: not backed up: data/sub/pipe: not a regular file, directory or symlink (a fifo): skipped',
    );
    const json = await run(root, ['backup', 'policy.yaml', '--json']);
    expect(json.status).toBe(3);
    const [files] = (JSON.parse(json.stdout) as BackupJson).systems;
    expect(files!.status).toBe('partial');
    expect(files!.problems.map((p) => p.path).sort()).toEqual(expectedProblems.sort());

    const listed = await snapshotsOf(root, 'files');
    expect(listed.map((s) => s.problems)).toEqual([expectedProblems.length, expectedProblems.length]);
    const restored = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', 'out']);
    expect(restored.status, described(restored)).toBe(0);
    expect(readFileSync(join(root, 'out/data/sub/also-ok.txt'), 'utf8')).toBe('also ok\n');
    expect(readdirSync(join(root, 'out/data')).sort()).toEqual(['ok.txt', 'sub']);
    expect(readdirSync(join(root, 'out/data/sub'))).toEqual(['also-ok.txt']);
  });
});

describe('a damaged repository', () => {
  let base: string;
  let source: Map<string, ManifestEntry>;
  /** The index objects of the first backup (big.bin and the small files), and of the second (new.txt). */
  let firstIndexes: string[];

  beforeAll(async () => {
    base = tempDir();
    mkdirSync(join(base, 'data/docs'), { recursive: true });
    writeFileSync(join(base, 'data/big.bin'), randomBytes(4 * 1024 * 1024));
    writeFileSync(join(base, 'data/a.txt'), 'a\n');
    writeFileSync(join(base, 'data/docs/b.txt'), 'b\n');
    writePolicy(
      base,
      '  local: { local: { path: repo } }',
      `  - name: files
    source: { paths: [data] }
    repositories: [local]`,
    );
    const first = await run(base, ['backup', 'policy.yaml']);
    expect(first.status, described(first)).toBe(0);
    firstIndexes = readdirSync(join(base, 'repo/index'));
    writeFileSync(join(base, 'data/new.txt'), 'new\n');
    const second = await run(base, ['backup', 'policy.yaml']);
    expect(second.status, described(second)).toBe(0);
    source = await treeManifest(join(base, 'data'));
  });

  /** A copy of the workspace (policy, data, repository) to damage. */
  function copy(): string {
    const root = tempDir();
    cpSync(base, root, { recursive: true });
    return root;
  }

  /** The pack that holds big.bin: the only one over 1 MiB. */
  function bigPack(root: string): string {
    const packs = readdirSync(join(root, 'repo/data'), { recursive: true, encoding: 'utf8' })
      .map((name) => `data/${name}`)
      .filter((name) => statSync(join(root, 'repo', name)).isFile());
    const big = packs.filter((name) => statSync(join(root, 'repo', name)).size > 1024 * 1024);
    expect(big).toHaveLength(1);
    return big[0]!;
  }

  it('a pack no index names (an interrupted backup left it) is a note in verify, not an error', async () => {
    const root = copy();
    const pack = bigPack(root);
    const leftover = `data/ee/${'e'.repeat(64)}`;
    mkdirSync(join(root, 'repo/data/ee'), { recursive: true });
    copyFileSync(join(root, 'repo', pack), join(root, 'repo', leftover));
    const size = statSync(join(root, 'repo', leftover)).size;

    const verify = await run(root, ['repo', 'verify', 'policy.yaml', '--read-data']);
    expect(verify.status, described(verify)).toBe(0);
    expect(verify.stdout).toMatch(
      /: no errors\n {2}note: 1 pack \(\d+\.\d MiB\) is in no index: left by an interrupted/,
    );
    const json = await run(root, ['repo', 'verify', 'policy.yaml', '--json']);
    const [result] = (
      JSON.parse(json.stdout) as {
        repositories: { unindexedPacks: number; unindexedBytes: number; findings: unknown[] }[];
      }
    ).repositories;
    expect(result).toMatchObject({ unindexedPacks: 1, unindexedBytes: size, findings: [] });
  });

  it('a flipped byte in a pack: verify --read-data names the pack and the files; restore saves every other file', async () => {
    const root = copy();
    const pack = bigPack(root);
    const path = join(root, 'repo', pack);
    const bytes = readFileSync(path);
    const middle = bytes.length >> 1; // inside big.bin's chunks
    bytes[middle] = bytes[middle]! ^ 0x01;
    writeFileSync(path, bytes);

    const structure = await run(root, ['repo', 'verify', 'policy.yaml']);
    expect(structure.status, described(structure)).toBe(0); // without reading data, nothing shows

    const verify = await run(root, ['repo', 'verify', 'policy.yaml', '--read-data']);
    expect(verify.status, described(verify)).toBe(1);
    expectNoStackTrace(verify);
    expect(verify.stdout).toMatch(new RegExp(`${pack}: .*blob [0-9a-f]{64} .* failed authentication`));
    const affected = [...verify.stdout.matchAll(/^ {4}affects ([0-9a-f]{8}):(.*)$/gm)].map((m) => m[2]);
    expect(affected).toEqual(['data/big.bin', 'data/big.bin']); // in both snapshots, and nothing else

    const subset = await run(root, ['repo', 'verify', 'policy.yaml', '--read-data-subset', '100%', '--json']);
    expect(subset.status).toBe(1);
    const findings = (
      JSON.parse(subset.stdout) as { repositories: { findings: { object: string; affected: string[] }[] }[] }
    ).repositories[0]!.findings;
    expect(findings.every((f) => f.object === pack)).toBe(true);

    const target = join(root, 'out');
    const restore = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', target]);
    expect(restore.status, described(restore)).toBe(1);
    expectNoStackTrace(restore);
    expect(restore.stderr).toMatch(
      /^not restored: data\/big\.bin: .*blob [0-9a-f]{64} in data\/.* failed authentication\n$/,
    );
    expect(restore.stdout).toMatch(/3 files, .*; 1 not restored\n$/);
    // the damaged file is not left half-written; everything else is identical
    expect(existsSync(join(target, 'data/big.bin'))).toBe(false);
    const expected = new Map(source);
    expected.delete('big.bin');
    expect(manifestDifferences(expected, await treeManifest(join(target, 'data')))).toEqual([]);
  });

  it('a deleted index: verify names the blobs no index lists and the files they cost; restore says which blob is missing', async () => {
    const root = copy();
    expect(firstIndexes).toHaveLength(1);
    rmSync(join(root, 'repo/index', firstIndexes[0]!));

    const verify = await run(root, ['repo', 'verify', 'policy.yaml']);
    expect(verify.status, described(verify)).toBe(1);
    expectNoStackTrace(verify);
    expect(verify.stdout).toMatch(/^ {2}blob [0-9a-f]{64}: is in no index$/m);
    expect(verify.stdout).toMatch(/^ {4}affects [0-9a-f]{8}:data\/big\.bin$/m);
    expect(verify.stdout).toMatch(/^ {4}affects [0-9a-f]{8}:data\/docs\/b\.txt$/m);
    expect(verify.stdout).toMatch(/^ {2}snapshots\/[0-9a-f]{64}: listing blob [0-9a-f]{64} is in no index$/m);

    const target = join(root, 'out');
    const restore = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', target]);
    expect(restore.status, described(restore)).toBe(1);
    expectNoStackTrace(restore);
    for (const file of ['data/a.txt', 'data/big.bin', 'data/docs/b.txt']) {
      expect(restore.stderr).toMatch(
        new RegExp(`^not restored: ${file.replace(/\./g, '\\.')}: .*blob [0-9a-f]{64} is in no index`, 'm'),
      );
    }
    // new.txt was stored by the second backup, whose index is intact
    expect(readFileSync(join(target, 'data/new.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(join(target, 'data/big.bin'))).toBe(false);

    // the first snapshot's listing itself is gone: the restore says so instead of restoring nothing quietly
    const oldest = (await snapshotsOf(root, 'files'))[0]!.id;
    const old = await run(root, [
      'restore',
      'policy.yaml',
      '--system',
      'files',
      '--snapshot',
      oldest.slice(0, 12),
      '--target',
      join(root, 'old'),
    ]);
    expect(old.status).toBe(1);
    expectNoStackTrace(old);
    expect(old.stderr).toMatch(/blob [0-9a-f]{64} is in no index/);
  });

  it('a truncated pack: verify names it, without reading data', async () => {
    const root = copy();
    const pack = bigPack(root);
    truncateSync(join(root, 'repo', pack), 1_000_000);
    const verify = await run(root, ['repo', 'verify', 'policy.yaml']);
    expect(verify.status, described(verify)).toBe(1);
    expectNoStackTrace(verify);
    expect(verify.stdout).toMatch(
      new RegExp(`^ {2}${pack}: is truncated: 1000000 bytes, the index needs at least \\d+$`, 'm'),
    );
    expect(verify.stdout).toMatch(/^ {4}affects [0-9a-f]{8}:data\/big\.bin$/m);
    const restore = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', 'out']);
    expect(restore.status).toBe(1);
    expectNoStackTrace(restore);
    expect(restore.stderr).toMatch(/^not restored: data\/big\.bin: /m);
    expect(readFileSync(join(root, 'out/data/new.txt'), 'utf8')).toBe('new\n');
  });

  it('restore never writes through a symbolic link it finds in the target', async () => {
    const root = copy();
    const elsewhere = tempDir('restorable-elsewhere-');
    writeFileSync(join(elsewhere, 'a.txt'), 'outside\n');

    // the snapshot's directory `data` is a link out of the target
    const first = join(root, 'target-1');
    mkdirSync(first);
    symlinkSync(elsewhere, join(first, 'data'));
    const through = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', first]);
    expect(through.status, described(through)).toBe(1);
    expectNoStackTrace(through);
    expect(through.stderr).toContain('refused: data exists in the target and is not a directory');
    expect(readdirSync(elsewhere)).toEqual(['a.txt']);
    expect(readFileSync(join(elsewhere, 'a.txt'), 'utf8')).toBe('outside\n');

    // a deeper directory, and a file, are links out of the target
    const second = join(root, 'target-2');
    mkdirSync(join(second, 'data'), { recursive: true });
    symlinkSync(elsewhere, join(second, 'data/docs'));
    symlinkSync(join(elsewhere, 'a.txt'), join(second, 'data/a.txt'));
    const deeper = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', second]);
    expect(deeper.status, described(deeper)).toBe(1);
    expect(deeper.stderr).toContain('not restored: data/docs/b.txt: refused: data/docs exists in the target');
    expect(readdirSync(elsewhere)).toEqual(['a.txt']);
    expect(readFileSync(join(elsewhere, 'a.txt'), 'utf8')).toBe('outside\n');
    // what is not behind a link is restored
    expect(readFileSync(join(second, 'data/new.txt'), 'utf8')).toBe('new\n');
  });
});

describe('key wrappers', () => {
  it('a recipient added to the policy gets a wrapper at the next backup, once', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/x'), 'x');
    mkdirSync(join(root, 'keys'));
    cpSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), join(root, 'keys/backup-ops.asc'));
    const system = (recipients: string) => `  - name: files
    source: { paths: [data] }
    encryption: { recipients: [${recipients}], passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]`;
    writePolicy(root, '  local: { local: { path: repo } }', system(''));
    expect((await run(root, ['backup', 'policy.yaml'])).status).toBe(0);
    writePolicy(root, '  local: { local: { path: repo } }', system('keys/backup-ops.asc'));
    const second = await run(root, ['backup', 'policy.yaml']);
    expect(second.status, described(second)).toBe(0);
    expect(second.stderr).toContain(`${join(root, 'repo')}: added a key wrapper for keys/backup-ops.asc`);
    const third = await run(root, ['backup', 'policy.yaml']);
    expect(third.stderr).not.toContain('added a key wrapper');
    const list = await run(root, ['key', 'list', 'policy.yaml', '--system', 'files', '--json']);
    const wrappers = (
      JSON.parse(list.stdout) as { wrappers: { passphrase: boolean; recipients: unknown[] }[] }
    ).wrappers;
    expect(wrappers).toHaveLength(2);
    expect(wrappers.filter((w) => !w.passphrase && w.recipients.length === 1)).toHaveLength(1);
  });

  it('key add --recipient adds a wrapper that key list shows; the last passphrase wrapper cannot be removed', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/x'), 'x');
    mkdirSync(join(root, 'keys'));
    cpSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), join(root, 'keys/backup-ops.asc'));
    writePolicy(
      root,
      '  local: { local: { path: repo } }',
      `  - name: files
    source: { paths: [data] }
    repositories: [local]`,
    );
    expect((await run(root, ['backup', 'policy.yaml'])).status).toBe(0);
    const before = await run(root, ['key', 'list', 'policy.yaml', '--system', 'files']);
    expect(before.status, described(before)).toBe(0);
    expect(before.stdout).toMatch(/^[0-9a-f]{16} {2}passphrase\n$/);

    const add = await run(root, [
      'key',
      'add',
      'policy.yaml',
      '--system',
      'files',
      '--recipient',
      'keys/backup-ops.asc',
    ]);
    expect(add.status, described(add)).toBe(0);
    expect(add.stdout).toMatch(new RegExp(`^added key wrapper [0-9a-f]{16} to ${join(root, 'repo')}\n$`));

    const list = await run(root, ['key', 'list', 'policy.yaml', '--system', 'files']);
    expect(list.status).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines).toContain(before.stdout.trimEnd());
    const json = JSON.parse(
      (await run(root, ['key', 'list', 'policy.yaml', '--system', 'files', '--json'])).stdout,
    ) as { wrappers: { id: string; passphrase: boolean; recipients: { keyId: string }[] }[] };
    expect(json.wrappers).toHaveLength(2);
    const passphrase = json.wrappers.find((w) => w.passphrase)!;
    const recipient = json.wrappers.find((w) => !w.passphrase)!;
    expect(recipient.recipients).toHaveLength(1);
    expect(readdirSync(join(root, 'repo/keys')).sort()).toEqual([passphrase.id, recipient.id].sort());

    const remove = await run(root, [
      'key',
      'remove',
      passphrase.id.slice(0, 16),
      'policy.yaml',
      '--system',
      'files',
    ]);
    expect(remove.status, described(remove)).toBe(1);
    expectNoStackTrace(remove);
    expect(remove.stderr).toContain('is the last key wrapper');
    expect(remove.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(readdirSync(join(root, 'repo/keys'))).toHaveLength(2);
    // the repository still opens with the passphrase
    expect((await run(root, ['snapshots', 'policy.yaml'])).status).toBe(0);
  });
});

describe('an S3 repository (s3rver on loopback)', () => {
  let s3: S3Server;
  beforeAll(async () => {
    s3 = await startS3Server(['restorable-cli']);
  });
  afterAll(() => s3?.close());

  it('backup, snapshots, verify --read-data and restore through the AWS SDK', async () => {
    const root = tempDir();
    makeTree(root);
    const source = await treeManifest(join(root, 'data'));
    writePolicy(
      root,
      `  bucket:
    s3:
      bucket: restorable-cli
      region: us-east-1
      prefix: team/files/
      endpoint: "${s3.endpoint}"
      forcePathStyle: true
      checksums: when-required`,
      `  - name: files
    source: { paths: [data] }
    repositories: [bucket]`,
    );
    const env = {
      ...ENV,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    const backup = await run(root, ['backup', 'policy.yaml', '--json'], env);
    expect(backup.status, described(backup)).toBe(0);
    const [repository] = (JSON.parse(backup.stdout) as BackupJson).systems[0]!.repositories;
    expect(repository!.repository).toBe('s3://restorable-cli/team/files/');
    expect(repository!.summary).toMatchObject(counts(source));

    const listed = await run(root, ['snapshots', 'policy.yaml', '--json'], env);
    expect(listed.status, described(listed)).toBe(0);
    expect((JSON.parse(listed.stdout) as SnapshotsJson).snapshots.map((s) => s.id)).toEqual([
      repository!.snapshot,
    ]);
    const verify = await run(root, ['repo', 'verify', 'policy.yaml', '--read-data'], env);
    expect(verify.status, described(verify)).toBe(0);
    expect(verify.stdout).toMatch(
      /^bucket \(s3:\/\/restorable-cli\/team\/files\/\): 1 snapshots?, .*: no errors\n$/,
    );

    const restore = await run(root, ['restore', 'policy.yaml', '--system', 'files', '--target', 'out'], env);
    expect(restore.status, described(restore)).toBe(0);
    expect(manifestDifferences(source, await treeManifest(join(root, 'out/data')))).toEqual([]);

    // without credentials: one clear line, no stack trace
    const anonymous = await run(root, ['snapshots', 'policy.yaml'], {
      ...ENV,
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    expect(anonymous.status).toBe(1);
    expectNoStackTrace(anonymous);
    expect(anonymous.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
