// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${NAME}` in command arguments is what is tested
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandError, expandArgv, maskSecrets, runCommand } from '../src/sources/command.ts';
import { SourcePathError, type WalkOptions, walkPaths } from '../src/sources/paths.ts';
import type { SourceEntry, SourceProblem } from '../src/sources/source.ts';

const SOURCES_DIR = fileURLToPath(new URL('../src/sources/', import.meta.url));
const IS_ROOT = process.getuid?.() === 0;
const MiB = 1024 * 1024;

const created: string[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  for (const dir of created.splice(0)) {
    // Give back the permissions a test took away, so that a non-root run can remove the tree.
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A fresh temporary directory, removed after the test. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'restorable-sources-'));
  created.push(dir);
  return dir;
}

/** Creates files (string content) and directories (null) under root. */
function populate(root: string, files: Record<string, string | null>): void {
  for (const [path, content] of Object.entries(files)) {
    const absolute = join(root, path);
    if (content === null) {
      mkdirSync(absolute, { recursive: true });
    } else {
      mkdirSync(dirname(absolute), { recursive: true });
      writeFileSync(absolute, content);
    }
  }
}

async function listen(path: string): Promise<void> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

function mkfifo(path: string): void {
  const result = spawnSync('mkfifo', [path]);
  expect(result.status).toBe(0);
}

interface Walk {
  entries: SourceEntry[];
  problems: SourceProblem[];
}

async function walk(
  root: string,
  paths: string[],
  options: Omit<WalkOptions, 'onProblem'> = {},
): Promise<Walk> {
  const problems: SourceProblem[] = [];
  const entries: SourceEntry[] = [];
  for await (const entry of walkPaths(root, paths, { ...options, onProblem: (p) => problems.push(p) })) {
    entries.push(entry);
  }
  return { entries, problems };
}

const pathsOf = (walked: Walk) => walked.entries.map((entry) => entry.path);
const entryAt = (walked: Walk, path: string) => walked.entries.find((entry) => entry.path === path);

/** The error a promise rejects with (failing the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

describe('walkPaths: entries and metadata', () => {
  it('yields files, directories and symlinks with their metadata, unicode names included', async () => {
    const root = tempDir();
    populate(root, {
      'data/données/résumé.txt': 'bonjour',
      'data/日本語/ファイル.md': '# 見出し',
      'data/empty.txt': '',
      'data/script.sh': '#!/bin/sh\n',
      'data/secret.key': 'k',
      'data/shared': null,
    });
    chmodSync(join(root, 'data/script.sh'), 0o755);
    chmodSync(join(root, 'data/secret.key'), 0o600);
    chmodSync(join(root, 'data/shared'), 0o2775);
    symlinkSync('données/résumé.txt', join(root, 'data/link-relative'));
    symlinkSync(join(root, 'data/empty.txt'), join(root, 'data/link-absolute'));
    symlinkSync('../nowhere', join(root, 'data/link-dangling'));

    const walked = await walk(root, ['data']);
    expect(walked.problems).toEqual([]);
    expect(pathsOf(walked)).toEqual([
      'data',
      'data/données',
      'data/données/résumé.txt',
      'data/empty.txt',
      'data/link-absolute',
      'data/link-dangling',
      'data/link-relative',
      'data/script.sh',
      'data/secret.key',
      'data/shared',
      'data/日本語',
      'data/日本語/ファイル.md',
    ]);

    for (const entry of walked.entries) {
      const stats = lstatSync(join(root, entry.path), { bigint: true });
      expect(entry.absolute).toBe(join(root, entry.path));
      expect(entry.mode).toBe(Number(stats.mode & 0o7777n));
      expect(entry.mtimeNs).toBe(stats.mtimeNs);
      expect(entry.mtimeMs).toBe(Number(stats.mtimeNs / 1_000_000n));
      expect(entry.ctimeNs).toBe(stats.ctimeNs);
      expect([entry.uid, entry.gid]).toEqual([Number(stats.uid), Number(stats.gid)]);
      expect([entry.dev, entry.ino]).toEqual([stats.dev, stats.ino]);
    }
    expect(entryAt(walked, 'data/données/résumé.txt')).toMatchObject({ type: 'file', size: 7 });
    expect(entryAt(walked, 'data/empty.txt')).toMatchObject({ type: 'file', size: 0 });
    expect(entryAt(walked, 'data/script.sh')).toMatchObject({ type: 'file', mode: 0o755 });
    expect(entryAt(walked, 'data/secret.key')).toMatchObject({ type: 'file', mode: 0o600 });
    expect(entryAt(walked, 'data/shared')).toMatchObject({ type: 'dir', mode: 0o2775, size: 0 });
    expect(entryAt(walked, 'data/link-relative')).toMatchObject({
      type: 'symlink',
      target: 'données/résumé.txt',
      size: 0,
    });
    expect(entryAt(walked, 'data/link-absolute')).toMatchObject({
      type: 'symlink',
      target: join(root, 'data/empty.txt'),
    });
    expect(entryAt(walked, 'data/link-dangling')).toMatchObject({ type: 'symlink', target: '../nowhere' });
    expect(entryAt(walked, 'data/empty.txt')?.target).toBeUndefined();
  });

  it('orders siblings by the bytes of their UTF-8 names, each directory before its contents, every time', async () => {
    const root = tempDir();
    // UTF-16 order would put 😀 (a surrogate pair, 0xD83D…) before ～ (0xFF5E); UTF-8 bytes put it after.
    populate(root, {
      'top/a/x': '',
      'top/a-b': '',
      'top/a.b': '',
      'top/B': '',
      'top/z/y/w': '',
      'top/～': '',
      'top/😀': '',
      'top/é': '',
    });
    const expected = [
      'top',
      'top/B',
      'top/a',
      'top/a/x',
      'top/a-b',
      'top/a.b',
      'top/z',
      'top/z/y',
      'top/z/y/w',
      'top/é',
      'top/～',
      'top/😀',
    ];
    expect(pathsOf(await walk(root, ['top']))).toEqual(expected);
    expect(pathsOf(await walk(root, ['top']))).toEqual(expected);
  });

  it('walks a 200-level tree depth-first', async () => {
    const root = tempDir();
    const segments = Array.from({ length: 200 }, (_, i) => `d${i % 10}`);
    mkdirSync(join(root, ...segments), { recursive: true });
    writeFileSync(join(root, ...segments, 'leaf.txt'), 'deep');
    const walked = await walk(root, [segments[0]!]);
    expect(walked.problems).toEqual([]);
    expect(walked.entries).toHaveLength(201);
    expect(pathsOf(walked)).toEqual([
      ...segments.map((_, i) => segments.slice(0, i + 1).join('/')),
      `${segments.join('/')}/leaf.txt`,
    ]);
    expect(walked.entries.at(-1)).toMatchObject({ type: 'file', size: 4 });
  });

  it('lets timers run during a long walk, even when the consumer never waits for anything', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'many'));
    for (let i = 0; i < 5000; i++) writeFileSync(join(root, 'many', `f${i}`), '');
    let seen = 0;
    let seenWhenFired = -1;
    let timerSet = 0;
    for await (const _ of walkPaths(root, ['many'], { onProblem: () => {} })) {
      seen += 1;
      if (seen === 100) {
        // From here on the walk makes no asynchronous call (one directory, already listed).
        timerSet = performance.now();
        setTimeout(() => {
          seenWhenFired = seen;
        }, 0);
      }
    }
    expect(seen).toBe(5001);
    // The walk yields to the event loop after 10 ms of work; a rest of the walk shorter than that need not.
    if (performance.now() - timerSet > 50) {
      expect(seenWhenFired).toBeGreaterThanOrEqual(100);
      expect(seenWhenFired).toBeLessThan(5001);
    }
  });

  it('backs up the whole root for `.`, without an entry for the root itself', async () => {
    const root = tempDir();
    populate(root, { 'a.txt': 'a', 'b/c.txt': 'c' });
    expect(pathsOf(await walk(root, ['.']))).toEqual(['a.txt', 'b', 'b/c.txt']);
  });
});

describe('walkPaths: given paths', () => {
  it('stores absolute paths without the leading slash, yielding their parents with real metadata', async () => {
    const root = tempDir();
    const elsewhere = tempDir();
    populate(elsewhere, { 'srv/docstore/contracts/2024/a.pdf': 'pdf', 'srv/docstore/contracts/b.pdf': 'b' });
    chmodSync(join(elsewhere, 'srv/docstore'), 0o750);
    const given = join(elsewhere, 'srv/docstore/contracts');
    const walked = await walk(root, [given]);
    const base = given.slice(1);
    const parents = base.split('/').map((_, i, all) => all.slice(0, i + 1).join('/'));
    expect(pathsOf(walked)).toEqual([...parents, `${base}/2024`, `${base}/2024/a.pdf`, `${base}/b.pdf`]);
    for (const parent of parents) {
      const stats = statSync(`/${parent}`, { bigint: true });
      expect(entryAt(walked, parent)).toMatchObject({
        type: 'dir',
        mode: Number(stats.mode & 0o7777n),
        ino: stats.ino,
        absolute: `/${parent}`,
      });
    }
    expect(entryAt(walked, `${elsewhere.slice(1)}/srv/docstore`)?.mode).toBe(0o750);
    expect(entryAt(walked, parents[0]!)?.path).toBe(tmpdir().split('/')[1]);
  });

  it('yields each parent once and nothing twice when paths share parents or contain each other', async () => {
    const root = tempDir();
    populate(root, {
      'srv/docstore/contracts/2024/a.pdf': 'a',
      'srv/docstore/invoices/i.pdf': 'i',
      'srv/docstore/other/o.txt': 'not given',
      'srv/notes.txt': 'n',
    });
    const walked = await walk(root, [
      'srv/docstore/invoices',
      './srv/docstore/contracts/2024',
      'srv/docstore/contracts',
      'srv/notes.txt',
      'srv//docstore/invoices/',
    ]);
    expect(walked.problems).toEqual([]);
    expect(pathsOf(walked)).toEqual([
      'srv',
      'srv/docstore',
      'srv/docstore/contracts',
      'srv/docstore/contracts/2024',
      'srv/docstore/contracts/2024/a.pdf',
      'srv/docstore/invoices',
      'srv/docstore/invoices/i.pdf',
      'srv/notes.txt',
    ]);
  });

  it('refuses relative paths that climb out of the root, and accepts `..` that stays inside', async () => {
    const root = tempDir();
    populate(root, { 'b/file': 'x' });
    for (const path of ['../etc', 'a/../../etc', '..']) {
      const error = await rejection(walk(root, [path]));
      expect(error).toBeInstanceOf(SourcePathError);
      expect(error.message).toContain(JSON.stringify(path));
      expect(error.message).toContain('outside the repository root');
    }
    expect(pathsOf(await walk(root, ['a/../b']))).toEqual(['b', 'b/file']);
  });

  it('throws, naming the path, before yielding anything when a given path does not exist', async () => {
    const root = tempDir();
    populate(root, { 'present/file': 'x' });
    symlinkSync('gone', join(root, 'dangling'));
    const entries: string[] = [];
    const walking = (async () => {
      for await (const entry of walkPaths(root, ['present', 'missing/dir'], { onProblem: () => {} })) {
        entries.push(entry.path);
      }
    })();
    const error = await rejection(walking);
    expect(error).toBeInstanceOf(SourcePathError);
    expect(error.message).toBe(`source path "missing/dir" (${root}/missing/dir) does not exist`);
    expect((error as SourcePathError).path).toBe('missing/dir');
    expect(entries).toEqual([]);

    const dangling = await rejection(walk(root, ['dangling']));
    expect(dangling.message).toContain('is a symbolic link to "gone", which does not exist');
    const absolute = await rejection(walk(root, [`${root}/nope`]));
    expect(absolute.message).toBe(`source path "${root}/nope" does not exist`);
  });

  it('refuses two paths that map to the same snapshot path but different files', async () => {
    const root = tempDir();
    const elsewhere = tempDir();
    const error = await rejection(walk(root, [`${elsewhere}/x`, `${elsewhere.slice(1)}/x/y`]));
    expect(error).toBeInstanceOf(SourcePathError);
    expect(error.message).toContain('overlap in the snapshot');
  });

  it('follows a given path that is a symbolic link, even without followSymlinks', async () => {
    const root = tempDir();
    populate(root, { 'real/file.txt': 'x' });
    symlinkSync('real', join(root, 'alias'));
    const walked = await walk(root, ['alias']);
    expect(pathsOf(walked)).toEqual(['alias', 'alias/file.txt']);
    expect(entryAt(walked, 'alias')?.type).toBe('dir');
  });

  it('fails for a given socket', async () => {
    const root = tempDir();
    await listen(join(root, 'sock'));
    const error = await rejection(walk(root, ['sock']));
    expect(error.message).toContain('is a socket, not a regular file or directory');
  });
});

describe('walkPaths: excludes', () => {
  it('matches snapshot paths with path.matchesGlob, pruning excluded directories', async () => {
    const root = tempDir();
    populate(root, {
      'data/keep.txt': 'k',
      'data/a.tmp': 't',
      'data/sub/b.tmp': 't',
      'data/.hidden.tmp': 'wildcards do not match a leading dot',
      'data/.cache/x': 'c',
      'data/~$report.docx': 'lock',
      'data/report.docx': 'r',
      'data/photos/p1.jpg': 'p',
      'data/photos/thumbnails/t1.jpg': 't',
      'data/build/out.o': 'o',
      'data/other/build': 'a file named build',
      'data/root-only.log': 'l',
      'data/sub/root-only.log': 'l',
    });
    // Inside excluded directories, a socket that would be reported if the walk went in.
    await listen(join(root, 'data/.cache/socket'));
    await listen(join(root, 'data/photos/thumbnails/socket'));
    const walked = await walk(root, ['data'], {
      exclude: ['**/*.tmp', '**/.cache/**', '**/~$*', '**/thumbnails/**', '**/build/', '/data/root-only.log'],
    });
    expect(walked.problems).toEqual([]);
    expect(pathsOf(walked)).toEqual([
      'data',
      'data/.hidden.tmp',
      'data/keep.txt',
      'data/other',
      'data/other/build',
      'data/photos',
      'data/photos/p1.jpg',
      'data/report.docx',
      'data/sub',
      'data/sub/root-only.log',
    ]);
  });

  it('refuses an empty pattern', async () => {
    const root = tempDir();
    populate(root, { 'a/b': 'b' });
    expect((await rejection(walk(root, ['a'], { exclude: [''] }))).message).toBe(
      'exclude pattern "" is empty',
    );
  });

  it('never excludes the given paths themselves', async () => {
    const root = tempDir();
    populate(root, { 'x.tmp': 'x', 'd.tmp/y.tmp': 'y', 'd.tmp/z': 'z' });
    expect(pathsOf(await walk(root, ['x.tmp', 'd.tmp'], { exclude: ['**/*.tmp'] }))).toEqual([
      'd.tmp',
      'd.tmp/z',
      'x.tmp',
    ]);
  });
});

describe('walkPaths: problems', () => {
  it('skips sockets and fifos with a problem, and goes on', async () => {
    const root = tempDir();
    populate(root, { 'data/a.txt': 'a', 'data/z.txt': 'z' });
    await listen(join(root, 'data/m.sock'));
    mkfifo(join(root, 'data/n.fifo'));
    const walked = await walk(root, ['data']);
    expect(pathsOf(walked)).toEqual(['data', 'data/a.txt', 'data/z.txt']);
    expect(walked.problems).toEqual([
      {
        path: 'data/m.sock',
        absolute: join(root, 'data/m.sock'),
        message: 'not a regular file, directory or symlink (a socket): skipped',
      },
      {
        path: 'data/n.fifo',
        absolute: join(root, 'data/n.fifo'),
        message: 'not a regular file, directory or symlink (a fifo): skipped',
      },
    ]);
  });

  it('skips names that are not valid UTF-8', async () => {
    const root = tempDir();
    populate(root, { 'data/ok': 'ok' });
    writeFileSync(Buffer.from(`${root}/data/bad-\xff`, 'latin1'), 'x');
    const walked = await walk(root, ['data']);
    expect(pathsOf(walked)).toEqual(['data', 'data/ok']);
    expect(walked.problems).toHaveLength(1);
    expect(walked.problems[0]!.message).toBe('name is not valid UTF-8 (bytes 62 61 64 2d ff): skipped');
  });

  it('reports a directory that vanishes during the walk, and goes on', async () => {
    const root = tempDir();
    populate(root, { 'data/a/1': '1', 'data/b/2': '2', 'data/c': 'c' });
    const problems: SourceProblem[] = [];
    const seen: string[] = [];
    for await (const entry of walkPaths(root, ['data'], { onProblem: (p) => problems.push(p) })) {
      seen.push(entry.path);
      if (entry.path === 'data/a/1') rmSync(join(root, 'data/b'), { recursive: true });
    }
    expect(seen).toEqual(['data', 'data/a', 'data/a/1', 'data/c']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: 'data/b', absolute: join(root, 'data/b') });
    expect(problems[0]!.message).toMatch(/vanished during the backup: skipped$/);
  });

  /**
   * Unreadable entries. As root, permissions deny nothing (CAP_DAC_OVERRIDE), so the walk runs in a child
   * process as `nobody` (uid 65534); otherwise in a child as the current user. Either way on a copy of the
   * sources in a directory `nobody` can read, since the checkout may not be.
   */
  it('reports an unreadable directory and file (EACCES), and goes on', async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    const code = join(dir, 'code');
    mkdirSync(code);
    for (const file of readdirSync(SOURCES_DIR)) copyFileSync(join(SOURCES_DIR, file), join(code, file));
    const root = join(dir, 'tree');
    populate(root, {
      'data/a.txt': 'a',
      'data/locked-dir/inner.txt': 'i',
      'data/locked-file': 'f',
      'data/z.txt': 'z',
    });
    chmodSync(join(root, 'data/locked-dir'), 0o000);
    chmodSync(join(root, 'data/locked-file'), 0o000);
    const script = join(code, 'walk.ts');
    writeFileSync(
      script,
      `import { walkPaths } from './paths.ts';
const problems = [];
const entries = [];
for await (const e of walkPaths(${JSON.stringify(root)}, ['data'], { onProblem: (p) => problems.push(p) })) {
  entries.push(e.path);
}
console.log(JSON.stringify({ entries, problems }));
`,
    );
    // The Node binary may live where `nobody` cannot reach it (CI keeps it under root's home): run a copy.
    const node = join(code, 'node');
    copyFileSync(process.execPath, node);
    chmodSync(node, 0o755);
    const result = spawnSync(node, [script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
      ...(IS_ROOT ? { uid: 65534, gid: 65534 } : {}),
    });
    expect(result.error).toBeUndefined();
    expect(result.stderr).toBe('');
    const walked = JSON.parse(result.stdout) as { entries: string[]; problems: SourceProblem[] };
    expect(walked.entries).toEqual(['data', 'data/a.txt', 'data/locked-dir', 'data/z.txt']);
    expect(walked.problems).toEqual([
      {
        path: 'data/locked-dir',
        absolute: join(root, 'data/locked-dir'),
        message: 'permission denied: cannot read this directory: its contents are skipped',
      },
      {
        path: 'data/locked-file',
        absolute: join(root, 'data/locked-file'),
        message: 'permission denied: cannot read this file: skipped',
      },
    ]);

    // The same tree walked by this process: as root, both are readable and backed up whole.
    if (IS_ROOT) {
      const asRoot = await walk(root, ['data']);
      expect(asRoot.problems).toEqual([]);
      expect(pathsOf(asRoot)).toEqual([
        'data',
        'data/a.txt',
        'data/locked-dir',
        'data/locked-dir/inner.txt',
        'data/locked-file',
        'data/z.txt',
      ]);
    }
  });
});

describe('walkPaths: followSymlinks', () => {
  it('stores what links point to, keeps dangling links, and stops at loops', async () => {
    const root = tempDir();
    populate(root, { 'data/dir/f.txt': 'f', 'outside/o.txt': 'outside' });
    symlinkSync('../outside', join(root, 'data/to-outside'));
    symlinkSync('dir/f.txt', join(root, 'data/to-file'));
    symlinkSync('nowhere', join(root, 'data/dangling'));
    symlinkSync('..', join(root, 'data/dir/loop'));

    const plain = await walk(root, ['data']);
    expect(plain.problems).toEqual([]);
    expect(plain.entries.filter((e) => e.type === 'symlink').map((e) => e.path)).toEqual([
      'data/dangling',
      'data/dir/loop',
      'data/to-file',
      'data/to-outside',
    ]);

    const followed = await walk(root, ['data'], { followSymlinks: true });
    expect(followed.entries.map((e) => `${e.path} ${e.type}`)).toEqual([
      'data dir',
      'data/dangling symlink',
      'data/dir dir',
      'data/dir/f.txt file',
      'data/dir/loop symlink',
      'data/to-file file',
      'data/to-outside dir',
      'data/to-outside/o.txt file',
    ]);
    expect(entryAt(followed, 'data/to-file')).toMatchObject({
      size: 1,
      ino: lstatSync(join(root, 'data/dir/f.txt'), { bigint: true }).ino,
    });
    expect(entryAt(followed, 'data/to-outside/o.txt')?.absolute).toBe(join(root, 'data/to-outside/o.txt'));
    expect(followed.problems).toEqual([
      {
        path: 'data/dir/loop',
        absolute: join(root, 'data/dir/loop'),
        message: 'symbolic link loops back to a directory above it: stored as a link, not followed',
      },
    ]);
  });
});

describe('expandArgv and maskSecrets', () => {
  it('expands $NAME and ${NAME}, turns $$ into $, and lists the values as secrets', () => {
    const env = { USER_NAME: 'alice', PASSWORD: 'pa$$word', EMPTY: '' };
    expect(
      expandArgv(
        ['x', '--user=$USER_NAME', '${PASSWORD}@${USER_NAME}x', '$$HOME', 'cost $$5', '$EMPTY'],
        env,
      ),
    ).toEqual({
      argv: ['x', '--user=alice', 'pa$$word@alicex', '$HOME', 'cost $5', ''],
      secrets: ['pa$$word', 'alice'],
    });
  });

  it('refuses an unset variable and a $ that starts no name, naming them', () => {
    const attempt = (argv: string[]) => {
      try {
        expandArgv(argv, { SET: 'v' });
      } catch (error) {
        expect(error).toBeInstanceOf(CommandError);
        return error as CommandError;
      }
      throw new Error('expected a CommandError');
    };
    const unset = attempt(['pg_dump', '--dbname=$DATABASE_URL']);
    expect(unset.reason).toBe('unset-variable');
    expect(unset.message).toBe(
      'command pg_dump ["pg_dump","--dbname=$DATABASE_URL"]: argument 1 ("--dbname=$DATABASE_URL") uses $DATABASE_URL, which is not set',
    );
    for (const bad of ['$1', 'price: 5$', '${}', '${1X}', '${SET', '$-']) {
      expect(attempt(['x', bad]).reason).toBe('bad-reference');
    }
  });

  it('masks every occurrence of each secret, longest first', () => {
    expect(maskSecrets('user alice, password alice123, alice again', ['alice', 'alice123', ''])).toBe(
      'user ***, password ***, *** again',
    );
  });
});

/** Everything a command's stdout yields, as a string. */
async function collect(stdout: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stdout) chunks.push(chunk);
  return Buffer.concat(chunks).toString();
}

const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

describe('runCommand', () => {
  it('streams stdout and resolves done on exit code 0', async () => {
    const cwd = tempDir();
    const run = runCommand(['printf', '%s|%s', '$WORD', '${WORD}s'], { env: { ...ENV, WORD: 'hi' }, cwd });
    expect(await collect(run.stdout)).toBe('hi|his');
    await run.done;
  });

  it('keeps the output of a command that exits before anyone reads it', async () => {
    // Node discards a finished child's unread output unless someone listens: a slow repository open or
    // lock before the archiver starts reading must not lose a small dump.
    const run = runCommand(['sh', '-c', 'echo hi'], { env: ENV, cwd: tempDir() });
    // Long enough for the command to exit; `done` itself waits for its output to be read.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await collect(run.stdout)).toBe('hi\n');
    await run.done;
  });

  it('passes env as the whole environment, runs in cwd, and closes stdin', async () => {
    const cwd = tempDir();
    const run = runCommand(['sh', '-c', 'printf "%s %s " "$$ONLY" "$$HOME"; pwd; cat'], {
      env: { ...ENV, ONLY: 'only-this' },
      cwd,
    });
    expect(await collect(run.stdout)).toBe(`only-this  ${cwd}\n`);
    await run.done;
  });

  it('rejects on exit code 3 with the code and the tail of stderr; stdout iteration throws too', async () => {
    const cwd = tempDir();
    const argv = [
      'sh',
      '-c',
      'echo partial; echo "first line" >&2; echo "pg_dump: error: connection failed" >&2; exit 3',
    ];
    const run = runCommand(argv, { env: ENV, cwd });
    const fromStdout = await rejection(collect(run.stdout));
    const error = await rejection(run.done);
    expect(fromStdout).toBe(error);
    expect(error).toBeInstanceOf(CommandError);
    expect(error).toMatchObject({ reason: 'exit', exitCode: 3, command: argv });
    expect(error.message).toBe(
      `command sh ${JSON.stringify(argv)} exited with code 3; stderr: first line ⏎ pg_dump: error: connection failed`,
    );
    expect((error as CommandError).stderrTail).toBe('first line\npg_dump: error: connection failed');
  });

  it('rejects when the command is killed by a signal', async () => {
    const run = runCommand(['sh', '-c', 'kill -KILL $$$$'], { env: ENV, cwd: tempDir() });
    const error = await rejection(run.done);
    expect(error).toMatchObject({ reason: 'signal', signal: 'SIGKILL' });
    expect(error.message).toBe('command sh ["sh","-c","kill -KILL $$$$"] was killed by signal SIGKILL');
  });

  it('stops a command that runs past its timeout, the whole process group with it', async () => {
    const started = performance.now();
    const run = runCommand(['sh', '-c', 'echo started >&2; sleep 30 | cat'], {
      env: ENV,
      timeoutMs: 300,
      cwd: tempDir(),
    });
    const error = await rejection(collect(run.stdout));
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(error.message).toBe(
      'command sh ["sh","-c","echo started >&2; sleep 30 | cat"] timed out after 300ms; stderr: started',
    );
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('kills with SIGKILL after the grace period a command that ignores SIGTERM, and formats whole seconds', async () => {
    const started = performance.now();
    const run = runCommand(['sh', '-c', 'trap "" TERM; sleep 30'], {
      env: ENV,
      timeoutMs: 1000,
      killGraceMs: 200,
      cwd: tempDir(),
    });
    const error = await rejection(run.done); // nobody reads stdout: the stop must not wait for a reader
    expect(error.message).toContain('timed out after 1s');
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('stops the command when aborted, or when the consumer stops reading', async () => {
    const controller = new AbortController();
    const run = runCommand(['sleep', '30'], { env: ENV, cwd: tempDir(), signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await rejection(run.done)).toMatchObject({ reason: 'aborted' });

    const endless = runCommand(['head', '-c', String(1024 * MiB), '/dev/zero'], { env: ENV, cwd: tempDir() });
    for await (const chunk of endless.stdout) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(await rejection(endless.done)).toMatchObject({ reason: 'aborted' });

    const before = runCommand(['sleep', '30'], { env: ENV, cwd: tempDir(), signal: AbortSignal.abort() });
    expect(await rejection(before.done)).toMatchObject({ reason: 'aborted' });
  });

  it('masks expanded values in the error, also where stderr was cut inside one', async () => {
    const env = { ...ENV, TOKEN: 'tok-0123456789abcdef' };
    const echoed = runCommand(['sh', '-c', 'echo "auth failed for $TOKEN" >&2; exit 1'], {
      env,
      cwd: tempDir(),
    });
    const error = await rejection(echoed.done);
    expect(error.message).toBe(
      'command sh ["sh","-c","echo \\"auth failed for $TOKEN\\" >&2; exit 1"] exited with code 1; stderr: auth failed for ***',
    );

    // 5000 A, the token, then 2044 B: the last 2048 bytes of stderr start with the token's last 4 characters.
    const script =
      'head -c 5000 /dev/zero | tr "\\000" A >&2; printf %s "$$1" >&2; head -c 2044 /dev/zero | tr "\\000" B >&2; exit 1';
    const cut = await rejection(
      runCommand(['sh', '-c', script, 'sh', '$TOKEN'], { env, cwd: tempDir() }).done,
    );
    const tail = (cut as CommandError).stderrTail;
    expect(tail).toBe(`…${'B'.repeat(2044)}`);
    expect(cut.message).not.toContain('cdef');
  });

  it('refuses an unset variable before anything runs', () => {
    const cwd = tempDir();
    expect(() => runCommand(['sh', '-c', 'touch ran; echo $MISSING_SECRET'], { env: ENV, cwd })).toThrow(
      /uses \$MISSING_SECRET, which is not set/,
    );
    expect(existsSync(join(cwd, 'ran'))).toBe(false);
  });

  it('rejects with a clear message when the program or the working directory does not exist', async () => {
    const missing = await rejection(
      runCommand(['no-such-program-xyz', '--x'], { env: ENV, cwd: tempDir() }).done,
    );
    expect(missing).toMatchObject({ reason: 'spawn' });
    expect(missing.message).toBe(
      'command no-such-program-xyz ["no-such-program-xyz","--x"] could not be started: program not found (ENOENT); is it installed and on PATH?',
    );
    const hidden = await rejection(
      runCommand(['$PROGRAM'], { env: { ...ENV, PROGRAM: '/opt/secret-name/prog' }, cwd: tempDir() }).done,
    );
    expect(hidden.message).toMatch(
      /^command \$PROGRAM \["\$PROGRAM"\] could not be started: program not found/,
    );
    expect(inspect(hidden, { depth: 5 })).not.toContain('secret-name');
    expect(() => runCommand(['printf', 'a\0b'], { env: ENV, cwd: tempDir() })).toThrow(
      'command printf ["printf","a\\u0000b"] could not be started: ERR_INVALID_ARG_VALUE',
    );
    const noCwd = await rejection(runCommand(['true'], { env: ENV, cwd: '/nonexistent/dir' }).done);
    expect(noCwd.message).toContain('the working directory /nonexistent/dir does not exist');
  });

  it('streams 200 MiB with back-pressure: a slow consumer pauses the command and memory stays bounded', async () => {
    const total = 200 * MiB;
    const run = runCommand(['head', '-c', String(total), '/dev/zero'], { env: ENV, cwd: tempDir() });
    const rssBefore = process.memoryUsage().rss;
    let received = 0;
    let maxGrowth = 0;
    let chunks = 0;
    let finished = false;
    run.done.then(
      () => {
        finished = true;
      },
      () => {},
    );
    for await (const chunk of run.stdout) {
      received += chunk.length;
      chunks += 1;
      if (chunks === 1) {
        // A slow consumer: without back-pressure the whole 200 MiB would pile up in this pause.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(finished).toBe(false);
      }
      if (chunks % 64 === 0) {
        maxGrowth = Math.max(maxGrowth, process.memoryUsage().rss - rssBefore);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    await run.done;
    expect(received).toBe(total);
    expect(maxGrowth).toBeLessThan(100 * MiB);
  });
});
