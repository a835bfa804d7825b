import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppendOptions, appendRecord, EvidenceError } from '../src/evidence/branch.ts';
import { policyEntries } from '../src/evidence/context.ts';
import type { RecordDraft } from '../src/evidence/record.ts';
import { loadSigner, type Signer } from '../src/evidence/signing.ts';
import { parseState } from '../src/evidence/state.ts';
import { verifyEvidence } from '../src/evidence/verify.ts';
import { writeEvidence } from '../src/evidence/write.ts';
import {
  bareRemote,
  clone,
  GIT_ENV,
  git,
  gitHttpServer,
  removeTempDirs,
  tempDir,
  workTree,
} from './helpers/git.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// The branch writer against real git: a bare repository as the remote, one clone per writer, and a loopback
// smart-HTTP server for credentials. No work tree is ever checked out for the evidence branch.

const BRANCH = 'restorable-evidence';
let signer: Signer;
let other: Signer;
let signerArmored = '';
const env: NodeJS.ProcessEnv = { ...process.env, ...GIT_ENV };
for (const name of ['GITHUB_TOKEN', 'RESTORABLE_EVIDENCE_TOKEN', 'GITHUB_SERVER_URL', 'GITHUB_ACTIONS'])
  delete env[name];

async function newSigner(name: string): Promise<{ signer: Signer; armored: string }> {
  const { armored } = await newSigningKey(name);
  return { signer: await loadSigner(armored, undefined, name), armored };
}

beforeAll(async () => {
  const made = await newSigner('Evidence');
  signer = made.signer;
  signerArmored = made.armored;
  other = (await newSigner('Other')).signer;
});

afterAll(() => removeTempDirs());

function draft(system: string, measurements: Record<string, unknown> = {}): RecordDraft {
  return {
    kind: 'backup',
    outcome: 'success',
    systems: [{ name: system, policy: 'payments' }],
    policies: [],
    measurements,
  };
}

function append(root: string, record: RecordDraft, options: Partial<AppendOptions> = {}) {
  return appendRecord(record, { root, signer, env, ...options });
}

async function verify(root: string, revision?: string) {
  return verifyEvidence({
    root,
    fingerprint: signer.fingerprint,
    env,
    ...(revision ? { revision } : {}),
  });
}

function show(root: string, spec: string): string {
  return git(root, ['show', spec]);
}

describe('local mode', () => {
  it('appends chained, signed records to a branch of a bare repository', async () => {
    const repo = bareRemote();
    const results = [];
    for (const system of ['db', 'files', 'db'])
      results.push(await append(repo, draft(system), { remote: null }));
    expect(results.map((r) => r.file)).toEqual([
      'records/000000/00000000-backup-db.json',
      'records/000000/00000001-backup-files.json',
      'records/000000/00000002-backup-db.json',
    ]);
    expect(results.map((r) => r.record.previous)).toEqual([null, results[0]!.sha256, results[1]!.sha256]);
    expect(results.every((r) => r.attempts === 1 && r.remote === null)).toBe(true);
    expect(git(repo, ['rev-parse', BRANCH])).toBe(results[2]!.commit);
    // One commit per record, each adding the record, its signature, and the state (and the key once).
    expect(git(repo, ['log', '--format=%s', BRANCH]).split('\n')).toEqual([
      'evidence 2: backup db (success)',
      'evidence 1: backup files (success)',
      'evidence 0: backup db (success)',
    ]);
    expect(git(repo, ['show', '--name-status', '--format=', BRANCH]).split('\n')).toEqual([
      'A\trecords/000000/00000002-backup-db.json',
      'A\trecords/000000/00000002-backup-db.json.asc',
      'M\tstate.json',
    ]);
    expect(show(repo, `${BRANCH}:${results[1]!.file}`)).toBe(
      Buffer.from(results[1]!.bytes).toString().trimEnd(),
    );
    expect(show(repo, `${BRANCH}:keys/${signer.fingerprint}.asc`)).toContain('BEGIN PGP PUBLIC KEY BLOCK');
    const state = parseState(Buffer.from(show(repo, `${BRANCH}:state.json`)))!;
    expect(state.head).toMatchObject({ sequence: 2, sha256: results[2]!.sha256 });
    expect(state.systems.files!.backup!.last.file).toBe(results[1]!.file);
    expect((await verify(repo)).ok).toBe(true);
  });

  it('never touches the work tree or the index of the repository it writes in', async () => {
    const repo = workTree();
    writeFileSync(join(repo, 'tracked.txt'), 'committed\n');
    git(repo, ['add', 'tracked.txt']);
    git(repo, ['commit', '--quiet', '-m', 'tracked']);
    writeFileSync(join(repo, 'tracked.txt'), 'edited, not staged\n');
    writeFileSync(join(repo, 'staged.txt'), 'staged\n');
    git(repo, ['add', 'staged.txt']);
    const before = git(repo, ['status', '--porcelain']);
    const head = git(repo, ['rev-parse', 'HEAD']);
    await append(repo, draft('db'));
    await append(repo, draft('db'));
    expect(git(repo, ['status', '--porcelain'])).toBe(before);
    expect(git(repo, ['rev-parse', 'HEAD'])).toBe(head);
    expect(existsSync(join(repo, 'records'))).toBe(false);
    expect(git(repo, ['ls-tree', '-r', '--name-only', BRANCH])).toContain(
      'records/000000/00000001-backup-db.json',
    );
  });

  it('refuses to write a branch that is checked out', async () => {
    const repo = workTree();
    git(repo, ['checkout', '--quiet', '-b', BRANCH]);
    await expect(append(repo, draft('db'))).rejects.toThrow(
      `${BRANCH} is checked out in ${repo}; the evidence branch is written without a work tree`,
    );
  });

  it('refuses a signing key other than the pinned one', async () => {
    const repo = bareRemote();
    await expect(append(repo, draft('db'), { fingerprint: other.fingerprint })).rejects.toThrow(
      `the evidence signing key is ${signer.fingerprint}, but the configuration pins ${other.fingerprint}`,
    );
  });

  it('rebuilds a missing state.json from the records and chains on the true head', async () => {
    const repo = bareRemote();
    const first = await append(repo, draft('db'));
    const second = await append(repo, draft('db'));
    // A commit that drops state.json (a bug, or a careless hand edit): the writer must not restart at 0.
    const tree = git(repo, ['mktree'], {
      input: git(repo, ['ls-tree', BRANCH])
        .split('\n')
        .filter((line) => !line.endsWith('\tstate.json'))
        .join('\n'),
    });
    const commit = git(repo, ['commit-tree', tree, '-p', BRANCH, '-m', 'drop state']);
    git(repo, ['update-ref', `refs/heads/${BRANCH}`, commit]);
    const third = await append(repo, draft('db'));
    expect(third.record.sequence).toBe(2);
    expect(third.record.previous).toBe(second.sha256);
    expect(first.record.sequence).toBe(0);
    expect((await verify(repo)).problems).toEqual([]);
  });

  it('writes the pages a hook renders into the same commit, but never over records, keys or state', async () => {
    const repo = bareRemote();
    const pages: AppendOptions['pages'] = async ({ state, read }) => {
      const old = (await read('README.md'))?.toString() ?? '';
      return { 'README.md': `${old}- record ${state.head.sequence}: ${state.head.sha256}\n` };
    };
    await append(repo, draft('db'), { pages });
    const second = await append(repo, draft('db'), { pages });
    expect(show(repo, `${BRANCH}:README.md`).split('\n')).toHaveLength(2);
    expect(show(repo, `${BRANCH}:README.md`)).toContain(`record 1: ${second.sha256}`);
    await expect(append(repo, draft('db'), { pages: async () => ({ 'state.json': '{}' }) })).rejects.toThrow(
      'a page may not be written to state.json',
    );
    await expect(
      append(repo, draft('db'), { pages: async () => ({ 'records/000000/00000009-backup-x.json': '{}' }) }),
    ).rejects.toThrow(/a page may not be written to records\//);
  });

  it('refuses a record that is not valid evidence before signing anything', async () => {
    const repo = bareRemote();
    await expect(
      append(repo, { ...draft('db'), systems: [{ name: 'Not A Name', policy: 'p' }] }),
    ).rejects.toThrow(/the backup record is not valid evidence: \/systems\/0\/name must match pattern/);
    expect(git(repo, ['for-each-ref'])).toBe('');
  });
});

describe('remote mode', () => {
  it('pushes to the remote, and a second clone chains on what the first pushed', async () => {
    const remote = bareRemote();
    const a = workTree(remote);
    const b = clone(remote);
    const first = await append(a, draft('db'));
    expect(first.remote).toBe('origin');
    expect(git(remote, ['rev-parse', BRANCH])).toBe(first.commit);
    expect(git(a, ['rev-parse', `refs/heads/${BRANCH}`])).toBe(first.commit);
    expect(git(a, ['rev-parse', `refs/remotes/origin/${BRANCH}`])).toBe(first.commit);
    const second = await append(b, draft('files'));
    expect(second.record).toMatchObject({ sequence: 1, previous: first.sha256 });
    expect(git(remote, ['rev-parse', `${BRANCH}~1`])).toBe(first.commit);
    expect((await verify(remote)).ok).toBe(true);
  });

  it('re-chains and re-signs a record whose push lost a race, and gives up after the attempts allowed', async () => {
    const remote = bareRemote();
    const a = workTree(remote);
    const b = workTree(remote);
    let raced = false;
    // Another writer lands its record while this one is building its commit.
    const pages: AppendOptions['pages'] = async () => {
      if (!raced) {
        raced = true;
        await append(b, draft('rival'));
      }
      return {};
    };
    const logs: string[] = [];
    const result = await append(a, draft('db'), { pages, log: (line) => logs.push(line) });
    expect(result.attempts).toBe(2);
    expect(result.record.sequence).toBe(1);
    expect(logs.join('\n')).toMatch(/origin\/restorable-evidence moved while appending \(attempt 1\)/);
    expect((await verify(remote)).ok).toBe(true);

    const alwaysRaced: AppendOptions['pages'] = async () => {
      await append(b, draft('rival'));
      return {};
    };
    await expect(append(a, draft('db'), { pages: alwaysRaced, maxAttempts: 3 })).rejects.toThrow(
      /could not append to origin\/restorable-evidence: other writers moved it during each of 3 attempts; the record \(backup db\) was not written/,
    );
    const report = await verify(remote);
    expect(report.ok).toBe(true);
    expect(report.records.map((r) => r.systems?.[0])).toEqual(['rival', 'db', 'rival', 'rival', 'rival']);
  });

  it('8 writers appending at once, each from its own clone: every record lands once and the chain verifies', async () => {
    const remote = bareRemote();
    const writers = Array.from({ length: 8 }, () => workTree(remote));
    const perWriter = 2;
    const results = await Promise.all(
      writers.map(async (root, w) => {
        const out = [];
        for (let n = 0; n < perWriter; n++) {
          out.push(await append(root, draft(`writer-${w}`, { writer: w, n }), { env }));
        }
        return out;
      }),
    );
    const all = results.flat();
    const report = await verify(remote);
    expect(report.problems).toEqual([]);
    expect(report.records).toHaveLength(8 * perWriter);
    expect(report.records.map((r) => r.sequence)).toEqual([...Array(8 * perWriter).keys()]);
    // Each writer's records, exactly once each, in the order each writer wrote them.
    const landed = report.records.map(
      (r) => JSON.parse(show(remote, `${BRANCH}:${r.file}`)).measurements as { writer: number; n: number },
    );
    expect(landed.map((m) => `${m.writer}/${m.n}`).sort()).toEqual(
      [...Array(8).keys()].flatMap((w) => [...Array(perWriter).keys()].map((n) => `${w}/${n}`)).sort(),
    );
    for (let w = 0; w < 8; w++) {
      const mine = landed.filter((m) => m.writer === w).map((m) => m.n);
      expect(mine).toEqual([...Array(perWriter).keys()]);
    }
    // What each writer was told matches what is on the branch.
    for (const r of all)
      expect(show(remote, `${BRANCH}:${r.file}`)).toBe(Buffer.from(r.bytes).toString().trimEnd());
    expect(all.some((r) => r.attempts > 1)).toBe(true);
  });

  it('works in a shallow clone as actions/checkout makes (fetch-depth 1), fetching only the tip', async () => {
    const remote = bareRemote();
    const seed = workTree(remote);
    git(seed, ['push', '--quiet', 'origin', 'main']);
    for (let i = 0; i < 3; i++) await append(seed, draft('db'));
    const shallow = tempDir('restorable-shallow-');
    git(shallow, [
      'clone',
      '--quiet',
      '--depth',
      '1',
      '--single-branch',
      '--branch',
      'main',
      `file://${remote}`,
      '.',
    ]);
    const first = await append(shallow, draft('ci'));
    expect(first.record.sequence).toBe(3);
    expect(git(shallow, ['rev-list', '--count', `refs/remotes/origin/${BRANCH}`])).toBe('2'); // tip~1 and its new child
    // Another writer appends; this shallow clone's known tip is not reachable through its cut history, but
    // the record that was its head is still on the branch, unchanged: it appends again.
    await append(seed, draft('db'));
    const second = await append(shallow, draft('ci'));
    expect(second.record.sequence).toBe(5);
    // A rewrite that drops what the shallow clone wrote is still refused.
    git(remote, ['update-ref', `refs/heads/${BRANCH}`, `${BRANCH}~2`]);
    await expect(append(shallow, draft('ci'))).rejects.toThrow(
      /does not contain the tip this repository last saw/,
    );
    git(remote, ['update-ref', `refs/heads/${BRANCH}`, second.commit]);
    // verify --remote deepens the shallow clone to check the whole history
    const report = await verifyEvidence({
      root: shallow,
      remote: 'origin',
      fingerprint: signer.fingerprint,
      env,
    });
    expect(report.problems).toEqual([]);
    expect(report.records).toHaveLength(6);
  });

  it('refuses to build on a remote branch that no longer contains the tip this clone wrote', async () => {
    const remote = bareRemote();
    const a = workTree(remote);
    const first = await append(a, draft('db'));
    const second = await append(a, draft('db'));
    git(remote, ['update-ref', `refs/heads/${BRANCH}`, first.commit]); // someone force-pushed a reset
    await expect(append(a, draft('db'))).rejects.toThrow(
      `origin/${BRANCH} (at ${first.commit.slice(0, 12)}) does not contain the tip this repository last saw (${second.commit.slice(0, 12)}): the evidence branch was rewritten or reset`,
    );
    expect(git(remote, ['rev-parse', BRANCH])).toBe(first.commit);
  });

  it('refuses to start a new chain when the remote branch was deleted', async () => {
    const remote = bareRemote();
    const a = workTree(remote);
    await append(a, draft('db'));
    git(remote, ['update-ref', '-d', `refs/heads/${BRANCH}`]);
    await expect(append(a, draft('db'))).rejects.toThrow(
      `origin has no branch ${BRANCH}, but this repository has one`,
    );
  });

  it('names a remote that does not exist', async () => {
    const a = workTree();
    await expect(append(a, draft('db'), { remote: 'upstream' })).rejects.toThrow(
      `${a} has no remote "upstream"`,
    );
  });
});

describe('credentials', () => {
  const TOKEN = 'ghs_TestToken0123456789abcdefSECRET';
  const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');

  /** A git on PATH-less RESTORABLE_GIT that logs every argv, then runs the real git. */
  function loggingGit(): { program: string; log: string } {
    const dir = tempDir('restorable-gitlog-');
    const log = join(dir, 'argv.log');
    const program = join(dir, 'git');
    writeFileSync(program, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${log}'\nexec git "$@"\n`);
    chmodSync(program, 0o755);
    return { program, log };
  }

  async function served() {
    const root = tempDir('restorable-http-');
    git(root, ['init', '--quiet', '--bare', 'evidence.git']);
    const server = await gitHttpServer(root, TOKEN);
    return { server, bare: join(root, 'evidence.git'), url: `${server.origin}/evidence.git` };
  }

  it('hands a token from the environment to git through GIT_CONFIG_* only: never argv, never .git/config', async () => {
    const { server, bare, url } = await served();
    try {
      const work = workTree(url);
      const { program, log } = loggingGit();
      const trace = join(tempDir('restorable-trace-'), 'trace.log');
      const tokenEnv = {
        ...env,
        GITHUB_TOKEN: TOKEN,
        GITHUB_SERVER_URL: server.origin,
        RESTORABLE_GIT: program,
        GIT_TRACE: trace,
      };
      const result = await append(work, draft('db'), { env: tokenEnv });
      expect(git(bare, ['rev-parse', BRANCH])).toBe(result.commit);
      expect(server.authorizations.filter(Boolean).every((h) => h === `basic ${basic}`)).toBe(true);
      expect(server.authorizations.some(Boolean)).toBe(true);
      const argv = readFileSync(log, 'utf8');
      const traced = readFileSync(trace, 'utf8');
      expect(argv).toMatch(/^push --porcelain/m);
      expect(traced).toMatch(/git-remote-http/);
      for (const text of [argv, traced, readFileSync(join(work, '.git/config'), 'utf8')]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(basic);
      }
      // verify reads the remote with the same credentials
      const report = await verifyEvidence({
        root: work,
        remote: 'origin',
        fingerprint: signer.fingerprint,
        env: tokenEnv,
      });
      expect(report.problems).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('uses the header actions/checkout leaves in .git/config, and adds no second one', async () => {
    const { server, bare, url } = await served();
    try {
      const work = workTree(url);
      git(work, ['config', `http.${server.origin}/.extraheader`, `AUTHORIZATION: basic ${basic}`]);
      const result = await append(work, draft('db'), {
        env: { ...env, GITHUB_TOKEN: 'ghs_a_different_token', GITHUB_SERVER_URL: server.origin },
      });
      expect(git(bare, ['rev-parse', BRANCH])).toBe(result.commit);
      expect(server.authorizations.every((h) => h === `basic ${basic}`)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('fails clearly without credentials, and never sends the token to another server', async () => {
    const { server, url } = await served();
    try {
      const work = workTree(url);
      await expect(append(work, draft('db'))).rejects.toThrow(
        /cannot fetch restorable-evidence from origin: .*/,
      );
      const elsewhere = { ...env, GITHUB_TOKEN: TOKEN, GITHUB_SERVER_URL: 'https://github.example.com' };
      const error = await append(work, draft('db'), { env: elsewhere }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).toMatch(/cannot fetch/);
      expect(server.authorizations.every((h) => h === '')).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe('writeEvidence', () => {
  it('appends to the branch the profile names, with the key from the environment, pinned', async () => {
    const repo = workTree();
    const config = `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: audit/trail\n  signingKey: { fingerprint: "${signer.fingerprint.toLowerCase()}" }\n`;
    writeFileSync(join(repo, 'policy.yaml'), 'x: 1\n');
    git(repo, ['add', 'policy.yaml']);
    git(repo, ['commit', '--quiet', '-m', 'policy']);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(repo, '.restorable'));
    writeFileSync(join(repo, '.restorable/config.yaml'), config);
    writeFileSync(join(repo, 'policy.yaml'), 'x: 2\n');
    const policies = await policyEntries(repo, [{ file: 'policy.yaml', name: 'payments' }], env);
    expect(policies).toEqual([
      {
        file: 'policy.yaml',
        name: 'payments',
        blob: git(repo, ['hash-object', 'policy.yaml']),
        commit: git(repo, ['rev-parse', 'HEAD']),
        modified: true,
      },
    ]);
    const none = await writeEvidence({ ...draft('db'), policies }, { root: repo, env });
    expect(none).toEqual({ written: false, reason: expect.stringMatching(/no evidence signing key/) });
    const written = await writeEvidence(
      { ...draft('db'), policies },
      { root: repo, env: { ...env, RESTORABLE_EVIDENCE_KEY: signerArmored } },
    );
    expect(written).toMatchObject({ written: true, branch: 'audit/trail', remote: null });
    expect(git(repo, ['ls-tree', '-r', '--name-only', 'audit/trail'])).toContain(
      'records/000000/00000000-backup-db.json',
    );
    writeFileSync(
      join(repo, '.restorable/config.yaml'),
      config.replace(signer.fingerprint.toLowerCase(), other.fingerprint),
    );
    await expect(
      writeEvidence(draft('db'), { root: repo, env: { ...env, RESTORABLE_EVIDENCE_KEY: signerArmored } }),
    ).rejects.toThrow(EvidenceError);
  });
  it('runs git without the signing key or its passphrase in the environment', async () => {
    const repo = workTree();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(repo, '.restorable'));
    writeFileSync(
      join(repo, '.restorable/config.yaml'),
      `apiVersion: restorable/v1\nkind: Config\nevidence:\n  signingKey: { fingerprint: "${signer.fingerprint}" }\n`,
    );
    const dir = tempDir('restorable-gitenv-');
    const names = join(dir, 'env.log');
    const program = join(dir, 'git');
    writeFileSync(program, `#!/bin/sh\nenv | cut -d= -f1 >> '${names}'\nexec git "$@"\n`);
    chmodSync(program, 0o755);
    const written = await writeEvidence(draft('db'), {
      root: repo,
      env: {
        ...env,
        RESTORABLE_GIT: program,
        RESTORABLE_EVIDENCE_KEY: signerArmored,
        RESTORABLE_EVIDENCE_KEY_PASSPHRASE: 'not needed, but never to be passed on',
      },
    });
    expect(written.written).toBe(true);
    const seen = readFileSync(names, 'utf8');
    expect(seen).toContain('RESTORABLE_GIT\n');
    expect(seen).not.toContain('RESTORABLE_EVIDENCE_KEY');
  });
});
