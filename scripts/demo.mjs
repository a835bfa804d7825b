// The README's main command, end to end on the embedded default, with nothing but git and Node.js:
//   1. check the example policies against the SOC 2 controls;
//   2. set up a throwaway "team repository" (.restorable-demo/team) that holds the embedded default policy
//      (examples/demo/demo.yaml), the files it backs up, and a profile pinning a throwaway evidence signing
//      key; its `origin` is a local bare repository (.restorable-demo/origin.git) standing in for GitHub;
//   3. back it up twice, each backup appending a signed, hash-chained record to origin's evidence branch;
//   4. list, restore, compare byte for byte, and verify the backup repository;
//   5. verify the evidence branch, from the team repository and from a fresh clone, as an auditor would.
// Everything lives in .restorable-demo/ (gitignored; RESTORABLE_DEMO_DIR puts it elsewhere). The signing key
// is made once, with openpgp.js, and kept there for the next runs; it is for this demo only.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { generateKey, readPrivateKey } from 'openpgp';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const work = resolve(root, process.env.RESTORABLE_DEMO_DIR || '.restorable-demo');
const show = (path) => relative(root, path) || '.';
const keyFile = join(work, 'evidence-signing-key.asc');
const origin = join(work, 'origin.git');
const team = join(work, 'team');
const auditor = join(work, 'auditor');
const target = join(work, 'restored');

// The demo's own git calls: a fixed identity, no commit signing, whatever the user's git configuration says.
const gitEnv = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Restorable demo',
  GIT_AUTHOR_EMAIL: 'demo@restorable.invalid',
  GIT_COMMITTER_NAME: 'Restorable demo',
  GIT_COMMITTER_EMAIL: 'demo@restorable.invalid',
};
const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env: gitEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

const env = { ...process.env };
if (!env.RESTORABLE_PASSPHRASE) {
  env.RESTORABLE_PASSPHRASE = 'demo passphrase: set RESTORABLE_PASSPHRASE for real use';
  console.log('(demo) RESTORABLE_PASSPHRASE is not set: using a fixed demo passphrase');
}

function step(title, args, { cwd = root } = {}) {
  const where = cwd === root ? '' : `(in ${show(cwd)}) `;
  console.log(`\n${where}$ restorable ${args.join(' ')}    # ${title}`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd, env, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`demo: "restorable ${args.join(' ')}" exited with ${result.status}`);
    process.exit(1);
  }
}

function tree(dir) {
  const out = new Map();
  const walk = (path) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const info = statSync(full);
      if (info.isDirectory()) walk(full);
      else out.set(relative(dir, full), createHash('sha256').update(readFileSync(full)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** The throwaway evidence signing key: made on the first run, kept for the next (the chain goes on). */
async function signingKey() {
  if (existsSync(keyFile)) {
    const key = await readPrivateKey({ armoredKey: readFileSync(keyFile, 'utf8') });
    const fingerprint = key.getFingerprint().toUpperCase();
    console.log(`(demo) evidence signing key ${fingerprint}: the throwaway one in ${show(keyFile)}`);
    return fingerprint;
  }
  const { privateKey } = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Restorable demo evidence (throwaway)', email: 'demo@restorable.invalid' }],
    format: 'armored',
  });
  mkdirSync(work, { recursive: true });
  writeFileSync(keyFile, privateKey, { mode: 0o600 });
  const fingerprint = (await readPrivateKey({ armoredKey: privateKey })).getFingerprint().toUpperCase();
  console.log(
    `(demo) generated a throwaway evidence signing key ${fingerprint} with openpgp.js into ${show(keyFile)}\n` +
      "(demo) it is gitignored and never committed; it signs this demo's records only. For real evidence, use a key of your own.",
  );
  return fingerprint;
}

step('the example policies against the SOC 2 controls', ['check', 'examples/pass']);

// A fresh team repository, origin and backup repository on every run; only the signing key is kept.
const fingerprint = await signingKey();
for (const name of existsSync(work) ? readdirSync(work) : []) {
  if (join(work, name) !== keyFile) rmSync(join(work, name), { recursive: true, force: true });
}
mkdirSync(team, { recursive: true });
git(work, 'init', '--quiet', '--bare', origin);
git(team, 'init', '--quiet');
for (const dir of ['examples/demo', 'examples/runbooks', 'examples/keys']) {
  cpSync(join(root, dir), join(team, dir), { recursive: true });
}
mkdirSync(join(team, '.restorable'));
writeFileSync(
  join(team, '.restorable/config.yaml'),
  `# The demo team's profile. The evidence branch's signing key is pinned here, on the default branch: records
# signed by any other key do not verify. This one is the demo's throwaway key (${show(keyFile)}).
apiVersion: restorable/v1
kind: Config
policies: [examples/demo/demo.yaml]
evidence:
  branch: restorable-evidence
  signingKey:
    fingerprint: ${fingerprint}
`,
);
writeFileSync(join(team, '.gitignore'), '/.restorable-demo/\n');
git(team, 'add', '.');
git(team, 'commit', '--quiet', '-m', 'Backup policy, its data, and the profile pinning the evidence key');
git(team, 'remote', 'add', 'origin', origin);
git(team, 'push', '--quiet', 'origin', 'main');
console.log(
  `\n(demo) team repository ${show(team)}: examples/demo/demo.yaml, the files it backs up, and .restorable/config.yaml\n` +
    `(demo) pinning the key; its origin is the local bare repository ${show(origin)}, standing in for GitHub.\n` +
    `(demo) The key reaches restorable through the environment only: RESTORABLE_EVIDENCE_KEY_FILE=${show(keyFile)}`,
);
env.RESTORABLE_EVIDENCE_KEY_FILE = keyFile;

step('first backup: creates the repository; one signed evidence record per system', ['backup'], {
  cwd: team,
});
step(
  'second backup: unchanged files are not read again, nothing new is stored; one more record',
  ['backup', '--system', 'example-files'],
  { cwd: team },
);
step('the snapshots', ['snapshots'], { cwd: team });
step(
  'restore drills: each into scratch space, read back against its snapshot, verified, timed against the RTO; one record each',
  ['drill'],
  { cwd: team },
);
step(
  'restore the newest snapshot of the files',
  ['restore', '--system', 'example-files', '--target', target],
  {
    cwd: team,
  },
);
step('restore the dump', ['restore', '--system', 'example-dump', '--target', target], { cwd: team });
step('decrypt and check every stored byte', ['repo', 'verify', '--read-data'], { cwd: team });
step(
  'every evidence record: signature, chain, schema, history',
  ['evidence', 'verify', '--remote', 'origin'],
  {
    cwd: team,
  },
);

step(
  'run-time controls from the evidence: newest backup within the RPO, drills passed and recent, restores within the RTO',
  ['status', '--remote', 'origin'],
  { cwd: team },
);

// The auditor's view: a fresh clone, the pinned fingerprint read from its default branch.
git(work, 'clone', '--quiet', origin, auditor);
step('the same, from a fresh clone, as an auditor would', ['evidence', 'verify', '--remote', 'origin'], {
  cwd: auditor,
});

let same = true;
for (const dir of ['examples/runbooks', 'examples/keys']) {
  const a = tree(join(root, dir));
  const b = tree(join(target, dir));
  if (JSON.stringify([...a]) !== JSON.stringify([...b])) {
    same = false;
    console.error(`demo: ${dir} restored differently`);
  }
}
const dump = readFileSync(join(target, 'demo.sql'), 'utf8').split('\n');
if (dump.length !== 200_001 || dump[199_999] !== 'INSERT INTO demo VALUES (200000);') {
  same = false;
  console.error('demo: demo.sql restored differently');
}
if (!same) process.exit(1);
const records = git(origin, 'ls-tree', '-r', '--name-only', 'restorable-evidence', '--', 'records/')
  .toString('utf8')
  .split('\n')
  .filter((path) => path.endsWith('.json'));
console.log(
  `\ndemo: restored files are byte-identical to the originals (repository: ${show(join(team, '.restorable-demo/repository'))})` +
    `\ndemo: ${records.length} signed evidence records on branch restorable-evidence of ${show(origin)}, verified` +
    ` against the pinned key ${fingerprint} (throwaway, in ${show(keyFile)}); browse them with` +
    `\n      git -C ${show(origin)} log --stat restorable-evidence`,
);
