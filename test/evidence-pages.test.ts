import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppendOptions, type AppendResult, appendRecord } from '../src/evidence/branch.ts';
import {
  auditorPages,
  type ControlInfo,
  cell,
  controlInfos,
  MATRIX_COLUMNS,
  parseTimeline,
} from '../src/evidence/pages.ts';
import type { ControlEntry, RecordDraft } from '../src/evidence/record.ts';
import { loadSigner, type Signer } from '../src/evidence/signing.ts';
import { parseState } from '../src/evidence/state.ts';
import { verifyEvidence } from '../src/evidence/verify.ts';
import { writeEvidence } from '../src/evidence/write.ts';
import { bareRemote, GIT_ENV, git, removeTempDirs, tempDir, workTree } from './helpers/git.ts';
import { GpgHome } from './helpers/gpg.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// The auditor's pages, rendered by the real writer into real git (local mode, a bare repository): what the
// README, the system and control pages say after a few appends, and that an append reads only the pages it
// rewrites, never a record.

const BRANCH = 'restorable-evidence';
const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
for (const name of ['GITHUB_TOKEN', 'RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_ACTIONS', 'GITHUB_REPOSITORY'])
  delete env[name];
let signer: Signer;
let armored = '';
let library: ControlInfo[];

beforeAll(async () => {
  armored = (await newSigningKey('Pages')).armored;
  signer = await loadSigner(armored, undefined, 'pages');
  library = await controlInfos(REPO_ROOT);
});

afterAll(() => removeTempDirs());

const show = (repo: string, path: string) => git(repo, ['show', `${BRANCH}:${path}`]);

function run(
  system: string,
  kind: 'backup' | 'drill' | 'prune',
  extra: Partial<RecordDraft> = {},
): RecordDraft {
  return {
    kind,
    outcome: 'success',
    systems: [{ name: system, policy: 'shop' }],
    policies: [],
    ...extra,
  };
}

function check(results: [id: string, system: string, status: ControlEntry['status']][]): RecordDraft {
  const systems = [...new Set(results.map(([, s]) => s))];
  return {
    kind: 'check',
    outcome: results.some(([, , s]) => s === 'fail') ? 'failure' : 'success',
    systems: systems.map((name) => ({ name, policy: 'shop' })),
    policies: [],
    controls: results.map(([id, system, status]) => ({
      id,
      system,
      status,
      ...(status === 'fail' ? { message: `${id} fails on \`${system}\` | really` } : {}),
    })),
  };
}

/** The writer with the auditor's pages, recording every path the hook reads. */
function writer(repo: string, rows?: number) {
  const reads: string[] = [];
  const hook = auditorPages({ controls: library, ...(rows !== undefined ? { rows } : {}) });
  const pages: AppendOptions['pages'] = (input) =>
    hook({
      ...input,
      read: (path) => {
        reads.push(path);
        return input.read(path);
      },
      list: (path) => {
        reads.push(`${path}/`);
        return input.list(path);
      },
    });
  const append = (draft: RecordDraft): Promise<AppendResult> =>
    appendRecord(draft, { root: repo, signer, env, remote: null, pages });
  return { append, reads };
}

/** The rows of the timeline on a page, as record sequences. */
function sequences(page: string): number[] {
  return (parseTimeline(page)?.rows ?? []).map((row) => Number(/\[#(\d+)\]/.exec(row)?.[1]));
}

describe('README.md', () => {
  it('shows the control matrix, the newest record and its SHA-256, and how to verify', async () => {
    const repo = bareRemote();
    const { append } = writer(repo);
    await append(
      check([
        ['RB-RET-001', 'db', 'pass'],
        ['RB-RET-001', 'files', 'fail'],
        ['RB-OFF-001', 'db', 'fail'],
        ['RB-OFF-001', 'files', 'not-applicable'],
      ]),
    );
    await append(run('db', 'backup', { measurements: { bytes: 2048, files: 3, durationMs: 1500 } }));
    const second = await append(check([['RB-OFF-001', 'db', 'pass']]));
    const last = await append(run('files', 'drill', { outcome: 'failure', message: 'verify step 1 failed' }));

    const readme = show(repo, 'README.md');
    const state = parseState(Buffer.from(show(repo, 'state.json')))!;
    expect(state.head.sha256).toBe(last.sha256);
    expect(readme).toContain('| records | 4 (#0 to #3) |');
    expect(readme).toContain(`| newest record SHA-256 | \`${last.sha256}\` |`);
    expect(readme).toContain(`[#3](${last.file}): drill of files, ❌ failure`);
    expect(readme).toContain(`[\`${signer.fingerprint}\`](keys/${signer.fingerprint}.asc)`);

    // The matrix: controls × systems, each cell the newest result, its date, and a link to its record.
    const section = readme.slice(readme.indexOf('## Control matrix'), readme.indexOf('## Run-time controls'));
    const matrix = section.split('\n').filter((line) => line.startsWith('| [RB-'));
    const day = last.record.time.slice(0, 10);
    const first = 'records/000000/00000000-check.json';
    expect(matrix).toEqual([
      `| [RB-OFF-001](controls/RB-OFF-001.md) Offsite copy | ✅ [${day}](${second.file}) | ➖ [${day}](${first}) |`,
      `| [RB-RET-001](controls/RB-RET-001.md) Minimum retention | ✅ [${day}](${first}) | ❌ [${day}](${first}) |`,
    ]);
    expect(readme).toMatch(
      /^\| control \| \[db\]\(systems\/db\.md\) \| \[files\]\(systems\/files\.md\) \|$/m,
    );
    // The newest runs per system.
    expect(readme).toContain(
      `| [db](systems/db.md) | ✅ [${day}](records/000000/00000001-backup-db.json) | [${day}](records/000000/00000001-backup-db.json) | — | — | — |`,
    );
    expect(readme).toContain(`| [files](systems/files.md) | — | — | ❌ [${day}](${last.file}) | — | — |`);
    // How to verify, with Restorable and with gpg and sha256sum alone, on this branch's newest record.
    expect(readme).toContain(
      `npx restorable evidence verify --remote origin --branch ${BRANCH} --fingerprint ${signer.fingerprint}`,
    );
    expect(readme).toContain(`gpg --verify ${last.file}.asc ${last.file}`);
    expect(readme).toContain(`sha256sum ${last.file}      # ${last.sha256}`);
    expect(readme).toContain('gpg --import keys/');
    // The README's commands for the newest record, run as shown, in a work tree of the branch.
    const work = tempDir();
    git(repo, ['worktree', 'add', '--quiet', '--detach', work, BRANCH]);
    const gpg = new GpgHome();
    try {
      gpg.ok(['--import', join(work, `keys/${signer.fingerprint}.asc`)]);
      const verified = gpg.run(['--verify', join(work, `${last.file}.asc`), join(work, last.file)]);
      expect(verified.status, verified.stderr).toBe(0);
      expect(verified.stderr).toContain('Good signature');
      expect(execFileSync('sha256sum', [last.file], { cwd: work, encoding: 'utf8' })).toBe(
        `${last.sha256}  ${last.file}\n`,
      );
    } finally {
      gpg.remove();
    }
    // Pages live beside the records; the branch still verifies.
    expect((await verifyEvidence({ root: repo, fingerprint: signer.fingerprint, env })).problems).toEqual([]);
  });

  it("runs the landing page's git-gpg-sha256sum script as printed: silent on a whole branch, loud on a forged one", async () => {
    const repo = bareRemote();
    const { append } = writer(repo);
    for (const system of ['db', 'files', 'db', 'files']) await append(run(system, 'backup'));
    const readme = show(repo, 'README.md');
    const block = readme.slice(readme.indexOf('With git, gpg and sha256sum only:'));
    const start = block.indexOf('```sh\n') + 6;
    const script = block.slice(start, block.indexOf('\n```', start));
    expect(script).toContain('VALIDSIG');
    /** The script in a fresh clone of `remote` (its `..` a directory of its own), as an auditor runs it. */
    const audit = (remote: string) => {
      const parent = tempDir();
      git(parent, ['clone', '--quiet', remote, 'clone']);
      return execFileSync('bash', ['-c', `set -u\n${script}`], {
        cwd: join(parent, 'clone'),
        env: { ...env, LC_ALL: 'C' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    };
    const problems = (out: string) =>
      out.split('\n').filter((line) => /NOT SIGNED|BROKEN|GAP|^[MDRT]\t/.test(line));
    const clean = audit(repo);
    const state = parseState(Buffer.from(show(repo, 'state.json')))!;
    expect(clean).toContain(`${state.head.sha256}  ${state.head.file}`);
    expect(problems(clean)).toEqual([]);

    // Forged: record 1 edited and re-signed by another key; record 2 renamed away.
    const other = await loadSigner((await newSigningKey('Mallory')).armored, undefined, 'mallory');
    const work = tempDir();
    git(work, ['clone', '--quiet', '--branch', BRANCH, repo, '.']);
    const one = 'records/000000/00000001-backup-files.json';
    const two = 'records/000000/00000002-backup-db.json';
    const { readFileSync, writeFileSync } = await import('node:fs');
    const edited = readFileSync(join(work, one), 'utf8').replace('"success"', '"failure"');
    writeFileSync(join(work, one), edited);
    writeFileSync(join(work, `${one}.asc`), await other.sign(Buffer.from(edited)));
    git(work, ['mv', two, two.replace('backup-db', 'backup-xx')]);
    git(work, ['mv', `${two}.asc`, `${two.replace('backup-db', 'backup-xx')}.asc`]);
    git(work, ['commit', '--quiet', '-am', 'rewrite history']);
    const forged = bareRemote();
    git(work, ['push', '--quiet', forged, `${BRANCH}:${BRANCH}`]);
    const found = problems(audit(forged));
    expect(found).toContain(`NOT SIGNED BY THE PINNED KEY: ${one}`);
    expect(found).toContain(`M\t${one}`);
    expect(found).toContain(`D\t${two}`);
    expect(found.some((line) => line.startsWith('BROKEN CHAIN before'))).toBe(true);
  });

  it('summarises the matrix per control when there are too many systems for columns', async () => {
    const repo = bareRemote();
    const { append } = writer(repo);
    const systems = Array.from({ length: MATRIX_COLUMNS + 2 }, (_, i) => `sys-${String(i).padStart(2, '0')}`);
    await append(
      check(
        systems.map(
          (s, i) => ['RB-RET-001', s, i % 5 === 0 ? 'fail' : 'pass'] as [string, string, 'pass' | 'fail'],
        ),
      ),
    );
    const readme = show(repo, 'README.md');
    expect(readme).toContain('| control | pass | fail | n/a | failing | newest result |');
    expect(readme).toMatch(
      /^\| \[RB-RET-001\]\(controls\/RB-RET-001\.md\) Minimum retention \| 9 \| ❌ 3 \| 0 \| sys-00, sys-05, sys-10 \| /m,
    );
  });
});

describe('system pages', () => {
  it('list backups, drills and prunes with their measurements, newest first, and archive the oldest', async () => {
    const repo = bareRemote();
    const { append } = writer(repo, 3);
    await append(
      run('db', 'backup', {
        measurements: {
          bytes: 5 * 1024 * 1024,
          files: 1200,
          durationMs: 4200,
          rpo: { targetSeconds: 21_600, achievedSeconds: 3600 },
          snapshots: [{ repository: 'local', id: 'a1b2c3d4e5f6a7b8c9d0' }],
        },
      }),
    );
    await append(run('db', 'drill', { measurements: { restoreDurationMs: 95_000, verified: true } }));
    await append(run('other', 'backup'));
    await append(check([['RB-RET-001', 'db', 'pass']]));
    await append(run('db', 'prune', { measurements: { deleted: [], kept: 7, bytesDeleted: 0 } }));
    await append(run('db', 'backup', { outcome: 'failure', message: 'pg_dump | exited with 1' }));
    await append(run('db', 'drill', { outcome: 'partial' }));

    const page = show(repo, 'systems/db.md');
    // Check records and other systems' records are not on it; the newest 3 runs are, newest first.
    expect(sequences(page)).toEqual([6, 5, 4]);
    expect(page).toContain('| [#5](../records/000000/00000005-backup-db.json) |');
    expect(page).toContain('❌ failure |  | pg\\_dump \\| exited with 1 |');
    expect(page).toContain('| prune | ✅ [');
    // The older rows moved to an archive page, links one level deeper, and the page links to it.
    const archive = show(repo, 'systems/db/older-000001.md');
    expect(sequences(archive)).toEqual([1, 0]);
    expect(archive).toContain('| [#0](../../records/000000/00000000-backup-db.json) | ');
    expect(archive).toContain(
      '| backup | ✅ success | 1,200 files, size 5.0 MiB, took 4.2 s, RPO 1h (target 6h), snapshot local:a1b2c3d4e5f6 |',
    );
    expect(archive).toContain('restored in 1m35s, verified complete');
    expect(page).toContain('Older rows, newest pages first: [1](db/older-000001.md).');
    expect(sequences(show(repo, 'systems/other.md'))).toEqual([2]);
  });

  it('start where the pages started, on a branch that had records before', async () => {
    const repo = bareRemote();
    await appendRecord(run('db', 'backup'), { root: repo, signer, env, remote: null });
    const { append } = writer(repo);
    await append(run('db', 'backup'));
    const page = show(repo, 'systems/db.md');
    expect(sequences(page)).toEqual([1]);
    expect(page).toContain(
      'This page was started at record #1; earlier runs of this system are under [records/](../records/).',
    );
  });
});

describe('control pages', () => {
  it('describe the control from the library, its newest result per system and its history', async () => {
    const repo = bareRemote();
    const { append } = writer(repo);
    await append(
      check([
        ['RB-RET-001', 'db', 'pass'],
        ['RB-RET-001', 'files', 'fail'],
      ]),
    );
    await append(check([['RB-RET-001', 'files', 'pass']]));
    const page = show(repo, 'controls/RB-RET-001.md');
    expect(page).toMatch(/^# RB-RET-001: Minimum retention$/m);
    expect(page).toContain('| SOC 2 | A1.2, C1.1 |');
    expect(page).toContain('| evaluated | statically, by `restorable check`, on every policy |');
    expect(page).toContain('2 systems: 2 pass, 0 fail, 0 not applicable.');
    expect(sequences(page)).toEqual([1, 0]);
    expect(page).toContain('| check | ✅ 1 pass · ❌ 1 fail | files |');
    // Every control of the library has a page from the first append on; run-time ones say who evaluates them.
    const files = git(repo, ['ls-tree', '-r', '--name-only', BRANCH, 'controls/']).split('\n');
    expect(files).toHaveLength(library.length);
    expect(show(repo, 'controls/RB-RT-001.md')).toContain(
      'at run time, by `restorable status`, from the newest backup evidence (`snapshotAge`)',
    );
    // A problem rule's id holds slashes: its page is one file.
    await append(check([['policy/schema/required', 'db', 'fail']]));
    expect(show(repo, 'controls/policy~schema~required.md')).toContain('# policy/schema/required');
  });
});

describe('incremental regeneration', () => {
  it('reads only the pages an append rewrites, never a record, and stays small per append', async () => {
    const repo = bareRemote();
    const { append, reads } = writer(repo, 2);
    for (let i = 0; i < 12; i++) {
      await append(
        i % 4 === 3
          ? check([['RB-RET-001', 'db', 'pass']])
          : run(i % 2 ? 'files' : 'db', i % 3 ? 'backup' : 'drill'),
      );
    }
    expect(reads.filter((path) => path.startsWith('records/'))).toEqual([]);
    expect(new Set(reads)).toEqual(
      new Set([
        'controls/',
        'systems/db.md',
        'systems/files.md',
        'systems/db/older-000001.md',
        'systems/db/older-000002.md',
        'controls/RB-RET-001.md',
      ]),
    );
    // At most a page, its archive page and the controls listing per append.
    expect(reads.length).toBeLessThanOrEqual(12 * 3);
    expect(sequences(show(repo, 'systems/db.md'))).toEqual([10, 8]);
    expect(sequences(show(repo, 'systems/db/older-000002.md'))).toEqual([6, 4]);
    expect(sequences(show(repo, 'systems/db/older-000001.md'))).toEqual([2, 0]);
    expect(sequences(show(repo, 'systems/files/older-000001.md'))).toEqual([1]);
  });

  it('are what writeEvidence writes by default', async () => {
    const repo = workTree();
    const result = await writeEvidence(run('db', 'backup'), {
      root: repo,
      env: { ...env, RESTORABLE_EVIDENCE_KEY: armored },
    });
    expect(result.written).toBe(true);
    const files = git(repo, ['ls-tree', '-r', '--name-only', BRANCH]).split('\n');
    expect(files).toEqual(expect.arrayContaining(['README.md', 'systems/db.md', 'controls/RB-RT-001.md']));
    await writeEvidence(run('db', 'backup'), {
      root: repo,
      env: { ...env, RESTORABLE_EVIDENCE_KEY: armored },
      pages: null,
    });
    expect(git(repo, ['show', '--name-only', '--format=', BRANCH]).split('\n')).not.toContain('README.md');
  });
});

describe('cells', () => {
  it('keep a table intact whatever a record says', () => {
    expect(cell('a | b\nc <script>`x`</script>')).toBe('a \\| b c &lt;script&gt;\\`x\\`&lt;/script&gt;');
    expect(cell('x'.repeat(300), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
