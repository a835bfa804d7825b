// The README's main command: check the example policies, then back up the embedded default (examples/demo)
// into a local directory, list the snapshots, restore them, compare, and verify the repository.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cli = join(root, 'dist/cli.js');
const work = join(root, '.restorable-demo');
const env = { ...process.env };
if (!env.RESTORABLE_PASSPHRASE) {
  env.RESTORABLE_PASSPHRASE = 'demo passphrase: set RESTORABLE_PASSPHRASE for real use';
  console.log('(demo) RESTORABLE_PASSPHRASE is not set: using a fixed demo passphrase');
}

function step(title, args, { allowFail = false } = {}) {
  console.log(`\n$ restorable ${args.join(' ')}    # ${title}`);
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, env, stdio: 'inherit' });
  if (result.status !== 0 && !allowFail) {
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

rmSync(work, { recursive: true, force: true });
step('the example policies against the SOC 2 controls', ['check', 'examples/pass']);
step('first backup: creates the repository', ['backup', 'examples/demo/demo.yaml']);
step('second backup: unchanged files are not read again, nothing new is stored', [
  'backup',
  'examples/demo/demo.yaml',
  '--system',
  'example-files',
]);
step('the snapshots', ['snapshots', 'examples/demo/demo.yaml']);
const target = join(work, 'restored');
step('restore the newest snapshot of the files', [
  'restore',
  'examples/demo/demo.yaml',
  '--system',
  'example-files',
  '--target',
  target,
]);
step('restore the dump', [
  'restore',
  'examples/demo/demo.yaml',
  '--system',
  'example-dump',
  '--target',
  target,
]);
step('decrypt and check every stored byte', ['repo', 'verify', 'examples/demo/demo.yaml', '--read-data']);

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
console.log(
  `\ndemo: restored files are byte-identical to the originals (repository: ${relative(root, join(work, 'repository'))})`,
);
