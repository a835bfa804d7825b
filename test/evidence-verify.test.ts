import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendRecord } from '../src/evidence/branch.ts';
import { canonicalBytes } from '../src/evidence/canonical.ts';
import type { RecordDraft } from '../src/evidence/record.ts';
import { loadSigner, type Signer } from '../src/evidence/signing.ts';
import { type Problem, verifyEvidence } from '../src/evidence/verify.ts';
import { bareRemote, clone, GIT_ENV, git, removeTempDirs, tempDir } from './helpers/git.ts';
import { GpgHome } from './helpers/gpg.ts';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// Tampering with the evidence branch, the ways someone with push access could, each detected by
// `evidence verify` with a message naming the record. The branch is written by the real writer; the
// tampering is done with git plumbing, as an attacker would.

const BRANCH = 'restorable-evidence';
const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
let signer: Signer;
let mallory: Signer;
let pristine = '';
/** Record files of the pristine branch, by sequence. */
const files: string[] = [];

async function newSigner(name: string): Promise<Signer> {
  return loadSigner((await newSigningKey(name)).armored, undefined, name);
}

const systems = ['db', 'files', 'db', 'ledger', 'files', 'db'];

function draft(system: string, bytes: number): RecordDraft {
  return {
    kind: bytes % 2 === 0 ? 'backup' : 'drill',
    outcome: 'success',
    systems: [{ name: system, policy: 'payments' }],
    policies: [],
    measurements: { bytes },
  };
}

beforeAll(async () => {
  signer = await newSigner('Evidence');
  mallory = await newSigner('Mallory');
  pristine = bareRemote();
  for (const [i, system] of systems.entries()) {
    files.push(
      (await appendRecord(draft(system, i * 10), { root: pristine, signer, env, remote: null })).file,
    );
  }
});

afterAll(() => removeTempDirs());

/** A copy of the pristine repository to tamper with. */
function copy(): string {
  const dir = tempDir('restorable-tamper-');
  git(dir, ['clone', '--quiet', '--bare', pristine, '.']);
  return dir;
}

const read = (repo: string, path: string, rev = BRANCH) => git(repo, ['show', `${rev}:${path}`]);

/**
 * A commit on top of the branch that writes (or, for null, removes) files: what an attacker with push access
 * would push. Built with a temporary index, like any git client.
 */
function tamper(repo: string, edits: Record<string, string | Uint8Array | null>, message = 'tamper'): string {
  const index = join(tempDir('restorable-index-'), 'index');
  const withIndex = { env: { GIT_INDEX_FILE: index } };
  git(repo, ['read-tree', BRANCH], withIndex);
  for (const [path, content] of Object.entries(edits)) {
    if (content === null)
      git(repo, ['update-index', '--index-info'], { ...withIndex, input: `0 ${'0'.repeat(40)}\t${path}\n` });
    else {
      const blob = git(repo, ['hash-object', '-w', '--stdin'], { input: content });
      git(repo, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], withIndex);
    }
  }
  const tree = git(repo, ['write-tree'], withIndex);
  const commit = git(repo, ['commit-tree', tree, '-p', BRANCH, '-m', message]);
  git(repo, ['update-ref', `refs/heads/${BRANCH}`, commit]);
  return commit;
}

async function verify(repo: string, extra: { knownTip?: string; publicKey?: string } = {}) {
  return verifyEvidence({ root: repo, fingerprint: signer.fingerprint, env, ...extra });
}

function about(problems: Problem[], where: string): string[] {
  return problems.filter((p) => p.where === where).map((p) => p.message);
}

function cli(args: string[], cwd: string) {
  return runNode([join(REPO_ROOT, 'src/cli.ts'), 'evidence', 'verify', ...args], {
    cwd,
    env: { ...GIT_ENV, PATH: process.env.PATH ?? '' },
  });
}

describe('an untouched branch', () => {
  it('verifies: every record signed by the pinned key, chained, valid, and the state agrees', async () => {
    const report = await verify(pristine);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.records.map((r) => [r.sequence, r.file, r.signature, r.problems.length])).toEqual(
      files.map((file, i) => [i, file, 'valid', 0]),
    );
    expect(report.head).toEqual({
      sequence: 5,
      file: files[5],
      sha256: JSON.parse(read(pristine, 'state.json')).head.sha256,
    });
  });

  it('verifies from the command line, with the fingerprint from .restorable/config.yaml', () => {
    const work = clone(pristine);
    mkdirSync(join(work, '.restorable'));
    writeFileSync(
      join(work, '.restorable/config.yaml'),
      `apiVersion: restorable/v1\nkind: Config\nevidence:\n  signingKey:\n    fingerprint: ${signer.fingerprint}\n`,
    );
    const run = cli(['--remote', 'origin'], work);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(
        `^refs/remotes/origin/${BRANCH} at [0-9a-f]{12}: 6 records, every one signed by ${signer.fingerprint} and chained, nothing changed or removed; head ${files[5]}, sha256 [0-9a-f]{64}\\n$`,
      ),
    );
    const json = cli(['--remote', 'origin', '--json'], work);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ command: 'evidence verify', ok: true, problems: [] });
    const unpinned = cli(['--root', pristine], work);
    expect(unpinned.status).toBe(2);
    expect(unpinned.stderr).toMatch(/no pinned key: set evidence.signingKey.fingerprint/);
  });

  it('is checked with plain git, gpg and sha256sum, as docs/evidence-format.md shows an auditor', () => {
    const gpg = new GpgHome();
    try {
      const work = tempDir('restorable-audit-');
      git(work, ['clone', '--quiet', '--branch', BRANCH, pristine, '.']);
      gpg.ok(['--import'], read(pristine, `keys/${signer.fingerprint}.asc`));
      for (const [i, file] of files.entries()) {
        const run = gpg.run(['--verify', join(work, `${file}.asc`), join(work, file)]);
        expect(run.status, run.stderr).toBe(0);
        expect(run.stderr).toMatch(/Good signature from "Evidence <evidence@example.com>"/);
        if (i === 0) continue;
        const sum = execFileSync('sha256sum', [files[i - 1]!], { cwd: work, encoding: 'utf8' }).split(' ')[0];
        expect(JSON.parse(readFileSync(join(work, file), 'utf8')).previous).toBe(sum);
      }
    } finally {
      gpg.remove();
    }
  });
});

describe('tampering is detected, naming the record', () => {
  it('editing a record: its signature fails, the next link breaks, and the commit that changed it is named', async () => {
    const repo = copy();
    const record = JSON.parse(read(repo, files[2]!));
    record.measurements.bytes = 999_999;
    const commit = tamper(repo, { [files[2]!]: canonicalBytes(record) });
    const report = await verify(repo);
    expect(report.ok).toBe(false);
    const messages = about(report.problems, files[2]!);
    expect(messages).toContainEqual(
      expect.stringMatching(new RegExp(`^signature ${files[2]}\\.asc does not verify with the pinned key`)),
    );
    expect(messages).toContain(
      `was modified by commit ${commit.slice(0, 12)} after it was written; records are never changed or removed`,
    );
    expect(about(report.problems, files[3]!)).toContainEqual(
      expect.stringMatching(/^does not follow record 2: /),
    );
    expect(report.records[2]).toMatchObject({ signature: 'invalid' });

    const run = cli(['--root', repo, '--fingerprint', signer.fingerprint], repo);
    expect(run.status).toBe(1);
    expect(run.stdout).toMatch(new RegExp(`^${files[2]}: signature ${files[2]}\\.asc does not verify`, 'm'));
    expect(run.stdout).toMatch(/problems: the evidence does NOT verify\n$/);
  });

  it('deleting a record: the gap and the commit that removed it are named', async () => {
    const repo = copy();
    const commit = tamper(repo, { [files[3]!]: null, [`${files[3]}.asc`]: null });
    const report = await verify(repo);
    expect(report.ok).toBe(false);
    expect(about(report.problems, 'records/000000/00000003-*.json')).toEqual([
      `record 3 is missing: the chain goes from ${files[2]} to ${files[4]}; a record was deleted`,
    ]);
    expect(about(report.problems, files[3]!)).toEqual([
      `was removed by commit ${commit.slice(0, 12)} after it was written; records are never changed or removed`,
    ]);
  });

  it('deleting the newest record: the commit that removed it, and the state, give it away', async () => {
    const repo = copy();
    const commit = tamper(repo, { [files[5]!]: null, [`${files[5]}.asc`]: null });
    const report = await verify(repo);
    expect(about(report.problems, files[5]!)).toEqual([
      `was removed by commit ${commit.slice(0, 12)} after it was written; records are never changed or removed`,
    ]);
    expect(about(report.problems, 'state.json')[0]).toMatch(
      new RegExp(`^does not match the records: it names record 5 \\(${files[5]}, `),
    );
  });

  it('swapping two records (with their signatures): both are named as out of place', async () => {
    const repo = copy();
    const [a, b] = [files[1]!, files[4]!];
    tamper(repo, {
      [a]: read(repo, b),
      [`${a}.asc`]: read(repo, `${b}.asc`),
      [b]: read(repo, a),
      [`${b}.asc`]: read(repo, `${a}.asc`),
    });
    const report = await verify(repo);
    expect(about(report.problems, a)).toContain(
      'holds sequence 4, but its file name says 1: records were swapped or renamed',
    );
    expect(about(report.problems, b)).toContain(
      'holds sequence 1, but its file name says 4: records were swapped or renamed',
    );
    expect(about(report.problems, files[2]!)).toContainEqual(
      expect.stringMatching(/^does not follow record 1/),
    );
  });

  it('replacing a signature with another record’s (a valid signature by the pinned key)', async () => {
    const repo = copy();
    tamper(repo, { [`${files[2]}.asc`]: read(repo, `${files[1]}.asc`) });
    const report = await verify(repo);
    expect(about(report.problems, files[2]!)).toEqual([
      `signature ${files[2]}.asc does not verify with the pinned key ${signer.fingerprint} (the record does not match it)`,
    ]);
    expect(about(report.problems, `${files[2]}.asc`)).toEqual([
      expect.stringMatching(/^was modified by commit [0-9a-f]{12} after it was written/),
    ]);
    expect(report.records[2]!.signature).toBe('invalid');
  });

  it('re-signing an edited record with another valid key: the signer is named', async () => {
    const repo = copy();
    const record = JSON.parse(read(repo, files[4]!));
    record.outcome = 'failure';
    const bytes = canonicalBytes(record);
    tamper(repo, { [files[4]!]: bytes, [`${files[4]}.asc`]: await mallory.sign(bytes) });
    const report = await verify(repo);
    const malloryKeyId = mallory.fingerprint.slice(-16);
    expect(about(report.problems, files[4]!)).toContain(
      `signature ${files[4]}.asc is signed by key ${malloryKeyId}, not by the pinned key ${signer.fingerprint}`,
    );
  });

  it('rewriting the whole branch with another key: the pinned key is missing from it', async () => {
    const repo = bareRemote();
    for (const [i, system] of systems.entries()) {
      await appendRecord(draft(system, i * 10), { root: repo, signer: mallory, env, remote: null });
    }
    const report = await verify(repo);
    expect(report.ok).toBe(false);
    expect(about(report.problems, `keys/${signer.fingerprint}.asc`)).toEqual([
      `is missing: the branch holds no public key for the pinned fingerprint ${signer.fingerprint} (it holds keys/${mallory.fingerprint}.asc); no signature can be checked`,
    ]);
    // With the right public key given out of band, every record is named as signed by another key.
    const withKey = await verify(repo, { publicKey: signer.publicKey });
    expect(withKey.records.every((r) => r.signature === 'invalid')).toBe(true);
    expect(about(withKey.problems, files[0]!)).toEqual([
      `signature ${files[0]}.asc is signed by key ${mallory.fingerprint.slice(-16)}, not by the pinned key ${signer.fingerprint}`,
    ]);
    // and replacing the key file with another key under the pinned name is caught too
    const swapped = copy();
    tamper(swapped, { [`keys/${signer.fingerprint}.asc`]: mallory.publicKey });
    expect(about((await verify(swapped)).problems, `keys/${signer.fingerprint}.asc`)).toEqual([
      `keys/${signer.fingerprint}.asc on the branch holds ${mallory.fingerprint}, not the pinned key ${signer.fingerprint}; no signature can be checked`,
    ]);
  });

  it('force-pushing a rewritten branch: caught against the tip seen before, naming the records it dropped', async () => {
    const remote = copy();
    const auditor = clone(remote);
    // The auditor verifies once; the verified tip is remembered as the local branch.
    const first = cli(
      ['--root', auditor, '--remote', 'origin', '--fingerprint', signer.fingerprint],
      auditor,
    );
    expect(first.status).toBe(0);
    const seen = git(auditor, ['rev-parse', `refs/heads/${BRANCH}`]);
    // Someone resets the branch to before the last two records and force-pushes; the result is a
    // perfectly consistent shorter chain (the state rewound with it), which the chain alone cannot tell.
    git(remote, ['update-ref', `refs/heads/${BRANCH}`, `${BRANCH}~2`]);
    expect((await verify(remote)).ok).toBe(true);
    const again = cli(
      ['--root', auditor, '--remote', 'origin', '--fingerprint', signer.fingerprint],
      auditor,
    );
    expect(again.status).toBe(1);
    const lines = again.stdout.split('\n');
    expect(lines).toContain(
      `known tip ${seen.slice(0, 12)}: is not contained in the branch (tip ${git(remote, ['rev-parse', BRANCH]).slice(0, 12)}): the evidence branch was rewritten (force-pushed or reset)`,
    );
    expect(lines).toContain(`${files[4]}: was in the known tip ${seen.slice(0, 12)} and is gone`);
    expect(lines).toContain(`${files[5]}: was in the known tip ${seen.slice(0, 12)} and is gone`);
    // The known tip is not moved by a failed verification.
    expect(git(auditor, ['rev-parse', `refs/heads/${BRANCH}`])).toBe(seen);
    // Explicitly, too.
    const report = await verify(remote, { knownTip: seen });
    expect(report.ok).toBe(false);
  });

  it('a rewrite that changes a record and then changes it back is still named by its commits', async () => {
    const repo = copy();
    const original = read(repo, files[1]!);
    const first = tamper(repo, { [files[1]!]: `${original.replace('"bytes":10', '"bytes":11')}\n` });
    const second = tamper(repo, { [files[1]!]: `${original}\n` });
    const report = await verify(repo);
    expect(report.records.every((r) => r.problems.length === 0)).toBe(true);
    expect(about(report.problems, files[1]!)).toEqual([
      `was modified by commit ${second.slice(0, 12)} after it was written; records are never changed or removed`,
      `was modified by commit ${first.slice(0, 12)} after it was written; records are never changed or removed`,
    ]);
  });

  it('a signed record that breaks the schema, stray files, an edited state.json and a merge', async () => {
    const repo = copy();
    const bad = canonicalBytes({
      ...JSON.parse(read(repo, files[5]!)),
      sequence: 6,
      kind: 'prune',
      extra: 1,
    });
    const next = 'records/000000/00000006-prune-db.json';
    tamper(repo, {
      [next]: bad,
      [`${next}.asc`]: await signer.sign(bad),
      'records/000000/notes.txt': 'hello',
      'records/000000/00000099-backup-x.json.asc': 'x',
    });
    const report = await verify(repo);
    expect(about(report.problems, next)).toContainEqual(
      'is not valid evidence: the record has a key the schema does not allow: "extra"',
    );
    expect(about(report.problems, next)).toContainEqual(expect.stringMatching(/^does not follow record 5/));
    expect(about(report.problems, 'records/000000/notes.txt')).toEqual([
      'is not a record file (records/NNNNNN/NNNNNNNN-KIND[-SYSTEM].json)',
    ]);
    expect(about(report.problems, 'records/000000/00000099-backup-x.json.asc')).toEqual([
      'is a signature without its record records/000000/00000099-backup-x.json',
    ]);

    const edited = copy();
    const state = JSON.parse(read(edited, 'state.json'));
    state.systems.db.backup.last.outcome = 'failure';
    tamper(edited, { 'state.json': canonicalBytes(state) });
    expect((await verify(edited)).problems).toEqual([
      {
        where: 'state.json',
        message: 'does not match the records (its index of the latest records per system differs)',
      },
    ]);

    const merged = copy();
    const tree = git(merged, ['rev-parse', `${BRANCH}^{tree}`]);
    const merge = git(merged, ['commit-tree', tree, '-p', BRANCH, '-p', `${BRANCH}~3`, '-m', 'merge']);
    git(merged, ['update-ref', `refs/heads/${BRANCH}`, merge]);
    expect((await verify(merged)).problems).toEqual([
      {
        where: `commit ${merge.slice(0, 12)}`,
        message: 'is a merge (2 parents); the evidence branch is a single line of appends',
      },
    ]);
  });

  it('a branch that does not exist, and a known tip that is not in the repository', async () => {
    const empty = bareRemote();
    const report = await verify(empty);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        where: `refs/heads/${BRANCH}`,
        message: `does not exist in ${empty}: there is no evidence to verify`,
      },
    ]);
    const notGit = tempDir('restorable-not-git-');
    expect((await verify(notGit)).problems).toEqual([{ where: notGit, message: 'is not a git repository' }]);
    const missing = await verify(pristine, { knownTip: 'f'.repeat(40) });
    expect(missing.problems[0]).toMatchObject({ where: 'known tip ffffffffffff' });
  });
});
