import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndex, loadIndex } from '../src/engine/blob-index.ts';
import { BlobReader } from '../src/engine/blob-reader.ts';
import { BlobStore } from '../src/engine/blob-store.ts';
import { unlock, writeWrapper } from '../src/engine/keyring.ts';
import { repositoryKeyDocument, wrapKey } from '../src/engine/keys.ts';
import { type Node, readListing } from '../src/engine/listing.ts';
import { acquireLock } from '../src/engine/lock.ts';
import { packName } from '../src/engine/pack.ts';
import { newConfig, Repository, readConfig, writeNewConfig } from '../src/engine/repository.ts';
import { listSnapshots, type Snapshot, writeSnapshot } from '../src/engine/snapshot.ts';
import { LocalBackend } from '../src/storage/local.ts';
import { crashOf, type InProcessRun, rawRuntimeMessage, runInProcess } from './helpers/in-process-cli.ts';
import { Random, seedFromEnv } from './helpers/random.ts';
import {
  type ManifestEntry,
  manifestDifferences,
  restorable,
  treeManifest,
} from './helpers/restorable-cli.ts';
import { REPO_ROOT } from './helpers/run-node.ts';

// Hostile repository content (the threat of docs/security.md §2: someone who can write the bucket but holds
// no key; and, at the end, a key holder gone rogue). A small repository of three snapshots is damaged one
// object at a time, every way that applies to its type, and every user-facing command is run against it:
// the damage must be detected or refused with the object named, nothing may crash, and what the damage
// does not touch must still restore byte-identically. Crafted listings (sealed with the key) must never
// make a restore write outside its target. The commands run in-process through the CLI's own handlers (see
// helpers/in-process-cli.ts); a sample is re-run with the built CLI to show that both agree.

const SEED = seedFromEnv('HOSTILE_SEED', 0x7e57_0b1d);
console.log(`hostile-repository: seed ${SEED} (replay with HOSTILE_SEED=${SEED})`);

const PASSPHRASE = 'hostile bucket, honest key';
const POLICY = `apiVersion: restorable/v1
kind: BackupPolicy
metadata: { name: hostile, owner: ops@example.com }
repositories:
  local: { local: { path: repo } }
systems:
  - name: files
    source: { paths: [data] }
    repositories: [local]
    retention: { keep: { last: 2 } }
`;

const dirs: string[] = [];
function tempDir(prefix = 'restorable-hostile-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Seeded bytes, fast enough for megabytes (one generator call per 4 bytes). */
function seededBytes(random: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at + 4 <= length; at += 4) out.writeUInt32LE(random.int(0x1_0000_0000), at);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// The pristine repository and what each snapshot depends on

interface Workspace {
  /** Holds policy.yaml, repo/ and data/ (the source as of the last backup). */
  root: string;
  /** RESTORABLE_REPOSITORY_KEY_FILE for the repository (unlocks without the passphrase's KDF). */
  keyFile: string;
  masterKey: Uint8Array;
  configId: string;
  /** The wrapper that opens with the passphrase, and one for a recipient's public key. */
  passphraseWrapper: string;
  recipientWrapper: string;
  /** Objects in backup order (the k-th backup wrote index k, pack k and snapshot k). */
  indexes: string[];
  packs: string[];
  snapshots: string[];
  /** Per snapshot: the object names it needs to restore, its listing blobs, the tree it must restore to. */
  deps: Map<string, Set<string>>;
  listing: Map<string, { blob: string; pack: string; offset: number; length: number }[]>;
  manifests: Map<string, Map<string, ManifestEntry>>;
  /** Where each pack's blobs sit, for damaging one blob in place. */
  packBlobs: Map<string, { id: string; type: string; offset: number; length: number }[]>;
}

const PASSPHRASE_ENV = { RESTORABLE_PASSPHRASE: PASSPHRASE };

async function mustRun(argv: string[], env: Record<string, string>): Promise<InProcessRun> {
  const result = await runInProcess(argv, env);
  if (result.status !== 0) {
    throw new Error(`${argv.join(' ')}: exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  }
  return result;
}

async function buildWorkspace(random: Random): Promise<Workspace> {
  const root = tempDir();
  writeFileSync(join(root, 'policy.yaml'), POLICY);
  const data = join(root, 'data');
  mkdirSync(join(data, 'dir/sub'), { recursive: true });
  mkdirSync(join(data, 'dir/empty'));
  writeFileSync(join(data, 'big.bin'), seededBytes(random, 3 * 1024 * 1024 + 12_345));
  writeFileSync(join(data, 'old.bin'), seededBytes(random, 300 * 1024));
  writeFileSync(join(data, 'a.txt'), 'a, first\n');
  writeFileSync(join(data, 'dir/sub/deep.txt'), 'deep, first\n');
  symlinkSync('dir/sub/deep.txt', join(data, 'link'));
  mkdirSync(join(root, 'keys'));
  cpSync(join(REPO_ROOT, 'examples/keys/backup-ops.asc'), join(root, 'keys/backup-ops.asc'));

  // Created here rather than by the first backup, with a seeded id and master key: the chunker's gear table
  // derives from the key, so the chunk boundaries (and every offset damaged below) replay from the seed.
  const masterKey = new Uint8Array(seededBytes(random, 32));
  const config = { ...newConfig(), id: seededBytes(random, 32).toString('hex') };
  const backend = new LocalBackend(join(root, 'repo'));
  await writeWrapper(
    backend,
    await wrapKey({ repository: config.id, masterKey, recipients: [], passphrase: PASSPHRASE }),
  );
  expect(await writeNewConfig(backend, config)).toBe(true);

  const args = ['backup', 'policy.yaml', '--no-evidence', '--root', root];
  const indexes: string[] = [];
  const manifests: Map<string, ManifestEntry>[] = [];
  const newIndex = () => {
    const now = readdirSync(join(root, 'repo/index')).filter((name) => !indexes.includes(name));
    expect(now).toHaveLength(1);
    indexes.push(now[0]!);
  };
  await mustRun(args, PASSPHRASE_ENV);
  newIndex();
  manifests.push(await treeManifest(data));
  rmSync(join(data, 'old.bin'));
  writeFileSync(join(data, 'a.txt'), 'a, second\n');
  writeFileSync(join(data, 'dir/two.txt'), 'two\n');
  await mustRun(args, PASSPHRASE_ENV);
  newIndex();
  manifests.push(await treeManifest(data));
  writeFileSync(join(data, 'three.txt'), 'three\n');
  writeFileSync(join(data, 'dir/sub/deep.txt'), 'deep, third\n');
  await mustRun(args, PASSPHRASE_ENV);
  newIndex();
  manifests.push(await treeManifest(data));
  await mustRun(
    ['key', 'add', 'policy.yaml', '--system', 'files', '--recipient', 'keys/backup-ops.asc', '--root', root],
    PASSPHRASE_ENV,
  );

  expect(await unlock(backend, config.id, { passphrase: PASSPHRASE })).toEqual(masterKey);
  const keyFile = join(root, 'repository-key.json');
  writeFileSync(keyFile, repositoryKeyDocument(config.id, masterKey), { mode: 0o600 });
  const repo = new Repository(backend, config, masterKey);

  const wrappers = readdirSync(join(root, 'repo/keys'));
  expect(wrappers).toHaveLength(2);
  const passphraseWrapper = wrappers.find((id) =>
    readFileSync(join(root, 'repo/keys', id), 'utf8').includes('-----BEGIN PGP MESSAGE-----'),
  );
  const listedWrappers = JSON.parse(
    (
      await mustRun(
        ['key', 'list', 'policy.yaml', '--system', 'files', '--json', '--root', root],
        PASSPHRASE_ENV,
      )
    ).stdout,
  ) as { wrappers: { id: string; passphrase: boolean }[] };
  const byPassphrase = listedWrappers.wrappers.find((w) => w.passphrase)!.id;
  expect(passphraseWrapper).toBeDefined();

  const packs: string[] = [];
  const indexOfPack = new Map<string, string>();
  const packBlobs = new Map<string, { id: string; type: string; offset: number; length: number }[]>();
  for (const index of indexes) {
    const contents = decodeIndex(await repo.readSealed('index', 'index', index), index);
    expect(contents).toHaveLength(1); // one pack per backup: small enough for one
    packs.push(contents[0]!.pack);
    indexOfPack.set(contents[0]!.pack, index);
    packBlobs.set(contents[0]!.pack, contents[0]!.blobs);
  }
  const refs = await listSnapshots(repo, (id, message) => {
    throw new Error(`pristine snapshot ${id} unreadable: ${message}`);
  });
  expect(refs).toHaveLength(3);
  const index = await loadIndex(repo);
  const reader = new BlobReader(repo, index);
  const deps = new Map<string, Set<string>>();
  const listing = new Map<string, { blob: string; pack: string; offset: number; length: number }[]>();
  const needs = (set: Set<string>, blob: string) => {
    const at = index.get(blob)!;
    set.add(packName(at.pack));
    set.add(`index/${indexOfPack.get(at.pack)}`);
  };
  for (const { id, snapshot } of refs) {
    const set = new Set([`snapshots/${id}`, 'config', `keys/${byPassphrase}`]);
    for (const blob of snapshot.tree) needs(set, blob);
    let chunksOfBig = 0;
    for await (const node of readListing(reader, snapshot.tree)) {
      for (const blob of node.content ?? []) needs(set, blob);
      if (node.path === 'data/big.bin') chunksOfBig = node.content!.length;
    }
    expect(chunksOfBig, 'big.bin must span several chunks').toBeGreaterThan(1);
    deps.set(id, set);
    listing.set(
      id,
      snapshot.tree.map((blob) => {
        const at = index.get(blob)!;
        return { blob, pack: at.pack, offset: at.offset, length: at.length };
      }),
    );
  }
  return {
    root,
    keyFile,
    masterKey,
    configId: config.id,
    passphraseWrapper: byPassphrase,
    recipientWrapper: wrappers.find((id) => id !== byPassphrase)!,
    indexes,
    packs,
    snapshots: refs.map((ref) => ref.id),
    deps,
    listing,
    manifests: new Map(refs.map((ref, i) => [ref.id, manifests[i]!])),
    packBlobs,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

type ObjectType = 'config' | 'key wrapper' | 'index' | 'pack' | 'snapshot' | 'listing blob' | 'lock';

interface DamageCase {
  type: ObjectType;
  mutation: string;
  /** The object names damaged (a swap damages two); a snapshot that needs one of them may fail. */
  damaged: string[];
  /** Strings of which one must appear in the output of a command that reports the damage. */
  names: string[];
  /** Applies the damage to a copy's repository directory. */
  apply: (repo: string) => void | Promise<void>;
  /** The passphrase (key wrapper and config cases), else the repository key document. */
  credentials?: 'passphrase';
  /** Not detectable from the repository alone, and why (the defence is elsewhere). */
  byDesign?: string;
}

type Region = 'header' | 'middle' | 'trailer';
const REGIONS: Region[] = ['header', 'middle', 'trailer'];

/** A seeded position in the first, middle or last 16 bytes of [start, end). */
function positionIn(random: Random, region: Region, start: number, end: number): number {
  const length = end - start;
  const span = Math.min(16, length);
  const from =
    region === 'header'
      ? start
      : region === 'trailer'
        ? end - span
        : start + Math.max(0, Math.floor(length / 2) - (span >> 1));
  return from + random.int(span);
}

function flipAt(path: string, position: number, bit: number): void {
  const bytes = readFileSync(path);
  bytes[position] = bytes[position]! ^ (1 << bit);
  writeFileSync(path, bytes);
}

/** Flip, three truncations, and (for `others`) a swap and a deletion of the object at `name`. */
function standardMutations(
  random: Random,
  type: ObjectType,
  name: string,
  names: string[],
  options: { swapFrom?: string; credentials?: 'passphrase'; deleteByDesign?: string; deleteNames?: string[] },
): DamageCase[] {
  const cases: DamageCase[] = [];
  const base = { type, ...(options.credentials ? { credentials: options.credentials } : {}) };
  for (const region of REGIONS) {
    const fraction = random.float();
    const bit = random.int(8);
    cases.push({
      ...base,
      mutation: `flip ${region}`,
      damaged: [name],
      names,
      apply: (repo) => {
        const path = join(repo, name);
        const size = statSync(path).size;
        flipAt(path, positionIn(new Random(Math.floor(fraction * 2 ** 32)), region, 0, size), bit);
      },
    });
  }
  for (const [mutation, length] of [
    ['truncate to 0', () => 0],
    ['truncate to half', (size: number) => size >> 1],
    ['truncate by 1', (size: number) => size - 1],
  ] as const) {
    cases.push({
      ...base,
      mutation,
      damaged: [name],
      names,
      apply: (repo) => truncateSync(join(repo, name), length(statSync(join(repo, name)).size)),
    });
  }
  if (options.swapFrom) {
    const from = options.swapFrom;
    cases.push({
      ...base,
      mutation: 'swap',
      damaged: [name, from],
      names,
      apply: (repo) => renameSync(join(repo, from), join(repo, name)),
    });
  }
  cases.push({
    ...base,
    mutation: 'delete',
    damaged: [name],
    names: options.deleteNames ?? names,
    apply: (repo) => rmSync(join(repo, name)),
    ...(options.deleteByDesign ? { byDesign: options.deleteByDesign } : {}),
  });
  return cases;
}

// ---------------------------------------------------------------------------------------------------------
// Running the commands against one damaged copy

interface CommandOutcome {
  command: string;
  run: InProcessRun;
  crash?: string;
}

interface CaseResult {
  type: ObjectType;
  mutation: string;
  detected: boolean;
  named: boolean;
  crashes: string[];
  /** Snapshots that the damage does not touch but that did not restore whole and identical. */
  unavailable: string[];
  /** Restores that exited 0 with bytes other than the snapshot's: silent corruption. */
  silentlyWrong: string[];
  /** Files written with content other than the snapshot's, whatever the exit status. */
  wrongFiles: string[];
  /** `restore --snapshot latest` exited 0 with an older snapshot, the newest being damaged. */
  fellBack: boolean;
  byDesign?: string;
  outputs: string;
  ms: number;
}

const results: CaseResult[] = [];

function copyWorkspace(ws: Workspace): string {
  const root = tempDir('restorable-hostile-case-');
  cpSync(join(ws.root, 'policy.yaml'), join(root, 'policy.yaml'));
  cpSync(join(ws.root, 'repo'), join(root, 'repo'), { recursive: true });
  return root;
}

/**
 * Set when a damaged config still says the same: `format`, `version` and `id` are all a reader takes from it
 * (and the id is bound into every seal); whitespace and the informational `created` are not authenticated.
 */
function inertConfig(repo: string, workspace: Workspace): string | undefined {
  try {
    const config = JSON.parse(readFileSync(join(repo, 'config'), 'utf8')) as Record<string, unknown>;
    if (
      config.format === 'restorable-repository' &&
      config.version === 1 &&
      config.id === workspace.configId
    ) {
      return 'config unchanged in meaning (whitespace or the informational `created`): nothing to detect';
    }
  } catch {}
  return undefined;
}

/** Files of a partial restore that exist but differ from the snapshot (a refused restore may leave fewer). */
function wrongFilesIn(expected: Map<string, ManifestEntry>, actual: Map<string, ManifestEntry>): string[] {
  const wrong: string[] = [];
  for (const [path, entry] of actual) {
    const want = expected.get(path);
    if (entry.type === 'dir' && want?.type === 'dir') continue;
    if (!want || want.type !== entry.type || want.sha256 !== entry.sha256 || want.target !== entry.target) {
      wrong.push(path);
    }
  }
  return wrong;
}

function sameTree(a: Map<string, ManifestEntry>, b: Map<string, ManifestEntry>): boolean {
  return manifestDifferences(a, b, 1).length === 0;
}

async function restoredTree(dir: string): Promise<Map<string, ManifestEntry>> {
  return existsSync(join(dir, 'data')) ? treeManifest(join(dir, 'data')) : new Map();
}

async function runCase(
  ws: Workspace,
  damage: DamageCase,
  extra: { lockCommands?: boolean } = {},
): Promise<CaseResult> {
  const root = copyWorkspace(ws);
  await damage.apply(join(root, 'repo'));
  const byDesign =
    damage.byDesign ?? (damage.type === 'config' ? inertConfig(join(root, 'repo'), ws) : undefined);
  const env =
    damage.credentials === 'passphrase' ? PASSPHRASE_ENV : { RESTORABLE_REPOSITORY_KEY_FILE: ws.keyFile };
  const started = performance.now();
  const outcomes: CommandOutcome[] = [];
  const run = async (label: string, argv: string[]) => {
    const result = await runInProcess([...argv, '--root', root], env);
    const crash = crashOf(result);
    outcomes.push({ command: label, run: result, ...(crash ? { crash } : {}) });
    return result;
  };
  const restore = (label: string, target: string, snapshot?: string) =>
    run(label, [
      'restore',
      'policy.yaml',
      '--system',
      'files',
      ...(snapshot ? ['--snapshot', snapshot] : []),
      '--target',
      join(root, target),
    ]);
  // The commands only read the repository: they run side by side (restores decode in a worker thread).
  const restores = extra.lockCommands
    ? undefined
    : await Promise.all([
        run('verify', ['repo', 'verify', 'policy.yaml']),
        run('verify --read-data', ['repo', 'verify', 'policy.yaml', '--read-data']),
        run('snapshots', ['snapshots', 'policy.yaml']),
        ...(damage.type === 'key wrapper'
          ? [run('key list', ['key', 'list', 'policy.yaml', '--system', 'files'])]
          : []),
        ...ws.snapshots.map((id, i) => restore(`restore ${i + 1}`, `out-${i + 1}`, id)),
        // `latest` differs from the newest id only when the newest snapshot is what was damaged.
        ...(damage.type === 'snapshot' ? [restore('restore latest', 'out-latest')] : []),
      ]).then((all) => all.slice(-(damage.type === 'snapshot' ? 4 : 3)));
  if (extra.lockCommands) {
    // Only a backup (and prune) reads locks; it takes its lock before it reads any data, so a small source will do.
    await run('verify', ['repo', 'verify', 'policy.yaml']);
    mkdirSync(join(root, 'data'));
    writeFileSync(join(root, 'data/x'), 'x\n');
    await run('backup', ['backup', 'policy.yaml', '--no-evidence']);
  }

  const result: CaseResult = {
    type: damage.type,
    mutation: damage.mutation,
    detected: false,
    named: false,
    crashes: [],
    unavailable: [],
    silentlyWrong: [],
    wrongFiles: [],
    fellBack: false,
    ...(byDesign ? { byDesign } : {}),
    outputs: '',
    ms: 0,
  };
  for (const [i, id] of restores ? ws.snapshots.entries() : []) {
    const expected = ws.manifests.get(id)!;
    const actual = await restoredTree(join(root, `out-${i + 1}`));
    const touched = damage.damaged.some((name) => ws.deps.get(id)!.has(name));
    const status = restores![i]!.status;
    if (status === 0 && !sameTree(expected, actual)) result.silentlyWrong.push(`snapshot ${i + 1}`);
    if (!touched && !(status === 0 && sameTree(expected, actual)))
      result.unavailable.push(`snapshot ${i + 1}`);
    result.wrongFiles.push(...wrongFilesIn(expected, actual).map((path) => `snapshot ${i + 1}: ${path}`));
  }
  if (restores?.[3]?.status === 0) {
    const actual = await restoredTree(join(root, 'out-latest'));
    const [first, second, third] = ws.snapshots.map((id) => ws.manifests.get(id)!);
    if (!sameTree(third!, actual)) {
      // Skipping a damaged newest snapshot is fine when the restore says so, naming it.
      const warned = /warning: snapshots\/[0-9a-f]{64} is damaged and was skipped/.test(restores[3]!.stderr);
      if (sameTree(second!, actual) || sameTree(first!, actual)) result.fellBack = !warned;
      else result.silentlyWrong.push('latest');
    }
  }

  for (const outcome of outcomes) {
    if (outcome.crash) result.crashes.push(`${outcome.command}: ${outcome.crash}`);
    const raw = rawRuntimeMessage(outcome.run);
    if (raw) result.crashes.push(`${outcome.command}: raw runtime message: ${raw}`);
    const text = `${outcome.run.stdout}${outcome.run.stderr}`;
    if (outcome.run.status !== 0) {
      result.detected = true;
      if (damage.names.some((name) => text.includes(name))) result.named = true;
    }
  }
  result.outputs = outcomes
    .map((o) => `$ ${o.command} → exit ${o.run.status}\n${o.run.stdout}${o.run.stderr}`)
    .join('');
  result.ms = Math.round(performance.now() - started);
  rmSync(root, { recursive: true, force: true });
  dirs.splice(dirs.indexOf(root), 1);
  results.push(result);
  return result;
}

/** The properties every damaged case must have; a failure prints what the commands said. */
// ---------------------------------------------------------------------------------------------------------
// `restore latest` cannot see a deleted snapshot: nothing is left to see (rollback is for Object Lock and the
// evidence branch to stop). A damaged newest snapshot is skipped with a warning that names it, so that a
// restore during an incident still gives the newest readable data; that is not a silent fall-back.
const LATEST_FALLS_BACK = /^snapshot \/ delete/;

/** The properties every damaged case must have; a failure prints what the commands said. */
function expectHandled(result: CaseResult): void {
  const key = `${result.type} / ${result.mutation}`;
  const context = `${key}\n${result.outputs}`;
  expect.soft(result.crashes, context).toEqual([]);
  expect.soft(result.silentlyWrong, context).toEqual([]);
  expect.soft(result.wrongFiles, context).toEqual([]);
  expect
    .soft(
      result.unavailable.length > 0,
      `undamaged snapshots not restored: ${result.unavailable}; ${context}`,
    )
    .toBe(false);
  expect
    .soft(result.fellBack, `restore latest fell back to an older snapshot: ${context}`)
    .toBe(LATEST_FALLS_BACK.test(key));
  if (result.byDesign) return;
  expect.soft(result.detected, `not detected: ${context}`).toBe(true);
  expect.soft(result.named, `detected but the object is not named: ${context}`).toBe(true);
}

let ws: Workspace;
const random = new Random(SEED);

beforeAll(async () => {
  ws = await buildWorkspace(random);
}, 60_000);

describe('hostile repository content, without the key: every object type, every mutation', () => {
  it('the undamaged repository verifies, lists and restores every snapshot byte-identically (the control)', async () => {
    const result = await runCase(ws, {
      type: 'pack',
      mutation: '(none)',
      damaged: [],
      names: [],
      apply: () => {},
    });
    results.pop();
    expect(result.crashes).toEqual([]);
    expect(result.detected, result.outputs).toBe(false);
    expect(result.unavailable).toEqual([]);
    expect(result.silentlyWrong).toEqual([]);
    expect(result.fellBack).toBe(false);
  });

  it('config', async () => {
    const other = tempDir();
    writeFileSync(join(other, 'policy.yaml'), POLICY);
    mkdirSync(join(other, 'data'));
    writeFileSync(join(other, 'data/x'), 'another repository\n');
    await mustRun(['backup', 'policy.yaml', '--no-evidence', '--root', other], PASSPHRASE_ENV);
    const cases = standardMutations(random, 'config', 'config', ['config', ws.configId.slice(0, 12)], {
      credentials: 'passphrase',
    });
    // The config is the one plain object: only one exists, so the swap brings another repository's.
    cases.push({
      type: 'config',
      mutation: 'swap',
      damaged: ['config'],
      names: ['config', 'key wrapper', 'keys/'],
      credentials: 'passphrase',
      apply: (repo) => cpSync(join(other, 'repo/config'), join(repo, 'config')),
    });
    cases.push({
      type: 'config',
      mutation: 'flip in "created"',
      damaged: [],
      names: ['config'],
      apply: (repo) => {
        const path = join(repo, 'config');
        const text = readFileSync(path, 'utf8');
        const at = text.indexOf('"created": "') + '"created": "'.length + 3; // the year's last digit
        flipAt(path, at, 0);
      },
      byDesign: '`created` is plain and informational: nothing reads it (format, version and id are checked)',
    });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('key wrapper', async () => {
    const name = `keys/${ws.passphraseWrapper}`;
    const cases = standardMutations(random, 'key wrapper', name, [name, ws.passphraseWrapper.slice(0, 16)], {
      credentials: 'passphrase',
      swapFrom: `keys/${ws.recipientWrapper}`,
      deleteNames: ['no key wrapper of'],
    });
    // The other wrapper (for a recipient's public key) damaged: the passphrase still opens the repository;
    // `key list` must show the damage.
    const other = `keys/${ws.recipientWrapper}`;
    cases.push({
      type: 'key wrapper',
      mutation: 'flip (another recipient’s wrapper)',
      damaged: [other],
      names: [ws.recipientWrapper.slice(0, 16)],
      credentials: 'passphrase',
      apply: (repo) =>
        flipAt(join(repo, other), positionIn(random, 'middle', 0, statSync(join(repo, other)).size), 2),
    });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('index', async () => {
    const [, second, third] = ws.indexes as [string, string, string];
    // The newest index: the snapshots before it do not need it, so what a damaged index costs them shows.
    const name = `index/${third}`;
    const cases = standardMutations(random, 'index', name, [name], {
      swapFrom: `index/${second}`,
      // The blobs the lost index listed are named, and the files they cost.
      deleteNames: ['is in no index'],
    });
    // A replayed old index: the index directory rolled back to what it held after the first backup.
    cases.push({
      type: 'index',
      mutation: 'replay (rolled back to backup 1)',
      damaged: [`index/${second}`, `index/${third}`],
      names: ['is in no index'],
      apply: (repo) => {
        rmSync(join(repo, 'index', second));
        rmSync(join(repo, 'index', third));
      },
    });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('pack', async () => {
    // The second backup's pack: the first snapshot does not need it, the later two do.
    const [, second, third] = ws.packs.map(packName) as [string, string, string];
    const cases = standardMutations(random, 'pack', second, [second], { swapFrom: third });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('snapshot', async () => {
    const [, second, third] = ws.snapshots as [string, string, string];
    const name = `snapshots/${third}`;
    const cases = standardMutations(random, 'snapshot', name, [name], {
      swapFrom: `snapshots/${second}`,
      // Gone, it can only be named by the id a restore asks for.
      deleteNames: [third],
      deleteByDesign:
        'a deleted snapshot leaves no trace in the repository: rollback is what Object Lock and the evidence branch defend against (docs/security.md)',
    });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('listing blob', async () => {
    const second = ws.snapshots[1]!;
    const [tree] = ws.listing.get(second)!;
    expect(ws.listing.get(second)).toHaveLength(1);
    const name = packName(tree!.pack);
    const names = [`blob ${tree!.blob} in ${name}`, tree!.blob];
    const cases: DamageCase[] = REGIONS.map((region) => ({
      type: 'listing blob' as const,
      mutation: `flip ${region}`,
      damaged: [name],
      names,
      apply: (repo: string) =>
        flipAt(
          join(repo, name),
          positionIn(random, region, tree!.offset, tree!.offset + tree!.length),
          random.int(8),
        ),
    }));
    cases.push({
      type: 'listing blob',
      mutation: 'zeroed',
      damaged: [name],
      names,
      apply: (repo) => {
        const bytes = readFileSync(join(repo, name));
        bytes.fill(0, tree!.offset, tree!.offset + tree!.length);
        writeFileSync(join(repo, name), bytes);
      },
    });
    // Another blob's sealed bytes in its place (a blob moved under another id fails authentication).
    cases.push({
      type: 'listing blob',
      mutation: 'swap (another blob’s bytes)',
      damaged: [name],
      names,
      apply: (repo) => {
        const firstPack = packName(ws.packs[0]!);
        const donor = ws.packBlobs.get(ws.packs[0]!)!.find((blob) => blob.length >= tree!.length)!;
        const source = readFileSync(join(repo, firstPack)).subarray(
          donor.offset,
          donor.offset + tree!.length,
        );
        const bytes = readFileSync(join(repo, name));
        source.copy(bytes, tree!.offset);
        writeFileSync(join(repo, name), bytes);
      },
    });
    for (const damage of cases) expectHandled(await runCase(ws, damage));
  });

  it('lock: a backup refuses beside a lock it cannot read, and names it', async () => {
    // Two live shared locks of another backup in a copy of the workspace; a shared lock beside them is
    // allowed, so the backup fails only because of the damage. Other commands take no lock.
    const root = tempDir();
    cpSync(ws.root, root, { recursive: true });
    const backend = new LocalBackend(join(root, 'repo'));
    const repo = new Repository(backend, (await readConfig(backend))!, ws.masterKey);
    const locks: string[] = [];
    for (let i = 0; i < 2; i++)
      locks.push((await acquireLock(repo, 'shared', { purpose: `backup other-${i}` })).name);
    const locked = { ...ws, root };
    const control = await runCase(
      locked,
      { type: 'lock', mutation: '(none)', damaged: [], names: [], apply: () => {} },
      { lockCommands: true },
    );
    results.pop();
    expect(control.detected, control.outputs).toBe(false);

    const [first, second] = locks as [string, string];
    const cases = standardMutations(random, 'lock', first, [first], {
      swapFrom: second,
      deleteByDesign:
        'locks are advisory: a deleted lock is a released one (docs/repository-format.md, Locks)',
    });
    for (const damage of cases) expectHandled(await runCase(locked, damage, { lockCommands: true }));
  });
});

// ---------------------------------------------------------------------------------------------------------
// Crafted listings, sealed with the key: a key holder gone rogue, or a bug in a writer

interface Attack {
  name: string;
  /** Listing lines: nodes (files get the one content blob unless they say otherwise) or raw text. */
  nodes: (Partial<Node> | string)[];
  /** Paths of which at least one must be reported `not restored: <path>:` (empty: nothing need be refused). */
  refused: string[];
  /** A restore that refuses the whole listing (malformed), naming it instead of any path. */
  refusesListing?: RegExp;
  /** Paths that must exist inside the target afterwards (written there, harmlessly). */
  inside?: string[];
}

const CONTENT = 'hostile content\n';
const craftedResults: {
  attack: string;
  /** `allowed` when the entry is harmless and restored inside the target. */
  refused: boolean | 'allowed';
  named: boolean;
  outside: string[];
  crash?: string;
  raw?: string;
}[] = [];

async function writeCrafted(repo: Repository, nodes: (Partial<Node> | string)[]): Promise<string> {
  const store = new BlobStore(repo, await loadIndex(repo));
  const content = await store.store('data', Buffer.from(CONTENT));
  const lines = nodes.map((node) => {
    if (typeof node === 'string') return node;
    const full = { type: 'file', mode: 0o644, mtime: '1764050000123456789', uid: 0, gid: 0, ...node };
    if (full.type === 'file' && !('content' in node))
      Object.assign(full, { size: CONTENT.length, ...node, content: [content] });
    return JSON.stringify(full);
  });
  const tree = await store.store('tree', Buffer.from(`${lines.join('\n')}\n`));
  await store.close();
  const snapshot: Snapshot = {
    version: 1,
    system: 'files',
    policy: 'hostile',
    time: new Date().toISOString(),
    hostname: 'rogue',
    source: { kind: 'paths', paths: ['data'] },
    tree: [tree],
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
  };
  return writeSnapshot(repo, snapshot);
}

/** Everything under `dir` except what lies under the given relative prefixes (the restore targets). */
async function outsideTargets(dir: string, targets: string[]): Promise<Map<string, ManifestEntry>> {
  const all = await treeManifest(dir);
  for (const path of [...all.keys()]) {
    if (targets.some((target) => path === target || path.startsWith(`${target}/`))) all.delete(path);
  }
  return all;
}

function attacks(watch: string): Attack[] {
  const outside = join(watch, 'outside');
  const ok = { path: 'ok.txt' };
  const link = (path: string, target: string): Partial<Node> => ({
    path,
    type: 'symlink',
    target,
    mode: 0o777,
  });
  const dir = (path: string): Partial<Node> => ({ path, type: 'dir', mode: 0o755 });
  return [
    { name: '`../escape`', nodes: [ok, { path: '../escape' }], refused: ['../escape'] },
    { name: '`../../escape`', nodes: [ok, { path: '../../escape' }], refused: ['../../escape'] },
    { name: 'absolute `/etc/evil`', nodes: [ok, { path: '/etc/evil' }], refused: ['/etc/evil'] },
    {
      name: 'absolute, into the watched parent',
      nodes: [ok, { path: `${outside}/abs-evil` }],
      refused: [`${outside}/abs-evil`],
    },
    { name: '`a/../../x`', nodes: [ok, dir('a'), { path: 'a/../../x' }], refused: ['a/../../x'] },
    { name: 'empty name', nodes: [ok, { path: '' }], refused: [''] },
    { name: '`.` and `./x`', nodes: [ok, dir('.'), { path: './dot.txt' }], refused: ['.', './dot.txt'] },
    {
      name: 'NUL in a name',
      nodes: [ok, { path: 'nul\0name' }, { path: 'x\0/../../nul-escape' }],
      refused: ['nul\0name'],
    },
    {
      name: '`/` inside a name (`a//b`, `trailing/`)',
      nodes: [ok, { path: 'a//b' }, { path: 'trailing/' }],
      refused: ['a//b', 'trailing/'],
    },
    {
      name: 'a directory, then a file of the same name',
      nodes: [ok, dir('same'), { path: 'same' }],
      refused: ['same'],
    },
    {
      name: 'a file, then a directory of the same name and a file in it',
      nodes: [ok, { path: 'same2' }, dir('same2'), { path: 'same2/child' }],
      refused: ['same2', 'same2/child'],
    },
    {
      name: 'a symlink out, then a file under it',
      nodes: [ok, link('link', outside), { path: 'link/file' }],
      refused: ['link', 'link/file'],
    },
    {
      name: 'a file under a path, then that path a symlink out',
      nodes: [ok, { path: 'link2/file' }, link('link2', outside)],
      refused: ['link2', 'link2/file'],
    },
    {
      name: 'a symlink out, then a directory and a file under it',
      nodes: [ok, link('link3', outside), dir('link3/d'), { path: 'link3/d/f' }],
      refused: ['link3', 'link3/d', 'link3/d/f'],
    },
    {
      name: 'a symlink out, then a symlink under it',
      nodes: [ok, link('p', outside), link('p/q', '/etc/passwd')],
      refused: ['p/q'],
    },
    {
      name: 'a symlink pointing outside (allowed: nothing is written through it)',
      nodes: [ok, link('to-victim', `${outside}/victim.txt`), link('to-outside', outside)],
      refused: [],
      inside: ['to-victim', 'to-outside'],
    },
    {
      name: 'a file and a symlink out with the same name (the file must not be written through the link)',
      nodes: [ok, link('twice', `${outside}/victim.txt`), { path: 'twice' }],
      refused: [],
      inside: ['twice'],
    },
    {
      name: 'backslashes (plain characters here)',
      nodes: [ok, { path: '..\\evil' }],
      refused: [],
      inside: ['..\\evil'],
    },
    {
      name: 'a line that is not JSON',
      nodes: [ok, '{"path": "../x", '],
      refused: [],
      refusesListing: /listing holds a line that is not JSON/,
    },
    {
      name: 'a node of unknown type, or without a string path',
      nodes: [ok, { path: 'fifo', type: 'fifo' as Node['type'] }],
      refused: [],
      refusesListing: /listing holds a malformed node/,
    },
    {
      name: 'content naming a blob no index has',
      nodes: [ok, { path: 'ghost', size: 5, content: ['0'.repeat(64)] }],
      refused: ['ghost'],
    },
    { name: 'a size the blobs do not hold', nodes: [ok, { path: 'short', size: 999 }], refused: ['short'] },
    {
      name: 'an mtime that is not a number',
      nodes: [ok, { path: 'bad-time', mtime: 'yesterday' }],
      refused: ['bad-time'],
    },
    {
      name: 'a name too long for the file system',
      nodes: [ok, { path: 'n'.repeat(300) }],
      refused: ['n'.repeat(300)],
    },
  ];
}

describe('crafted listings sealed with the key: nothing is written outside the target', () => {
  it('refuses each hostile entry by path, restores the rest, and changes nothing outside', async () => {
    const root = tempDir();
    cpSync(join(ws.root, 'policy.yaml'), join(root, 'policy.yaml'));
    cpSync(join(ws.root, 'repo'), join(root, 'repo'), { recursive: true });
    const backend = new LocalBackend(join(root, 'repo'));
    const repo = new Repository(backend, (await readConfig(backend))!, ws.masterKey);
    // The watched tree: <watch>/outside (a victim file), <watch>/parent/<target>. `..` from a target lands
    // in parent, `../..` in watch: both are compared before and after every restore.
    const watch = tempDir('restorable-hostile-watch-');
    mkdirSync(join(watch, 'outside'));
    writeFileSync(join(watch, 'outside/victim.txt'), 'victim\n');
    mkdirSync(join(watch, 'parent'));
    const etcEvilBefore = existsSync('/etc/evil');
    const env = { RESTORABLE_REPOSITORY_KEY_FILE: ws.keyFile };

    const list = attacks(watch);
    for (const [n, attack] of list.entries()) {
      const id = await writeCrafted(repo, attack.nodes);
      const target = `parent/target-${n}`;
      mkdirSync(join(watch, target));
      const before = await outsideTargets(watch, [target]);
      const run = await runInProcess(
        [
          'restore',
          'policy.yaml',
          '--system',
          'files',
          '--snapshot',
          id,
          '--target',
          join(watch, target),
          '--root',
          root,
        ],
        env,
      );
      const after = await outsideTargets(watch, [target]);
      const outside = manifestDifferences(before, after);
      if (!etcEvilBefore && existsSync('/etc/evil')) outside.push('/etc/evil');
      const crash = crashOf(run);
      const reported = [...run.stderr.matchAll(/^not restored: (.*?): /gms)].map((m) => m[1]);
      const named = attack.refusesListing
        ? attack.refusesListing.test(run.stderr)
        : attack.refused.length === 0 || attack.refused.some((path) => reported.includes(path));
      const refused = attack.refused.length === 0 && !attack.refusesListing ? 'allowed' : run.status === 1;
      const raw = rawRuntimeMessage(run);
      craftedResults.push({
        attack: attack.name,
        refused,
        named,
        outside,
        ...(crash ? { crash } : {}),
        ...(raw ? { raw } : {}),
      });
      const context = `${attack.name}: exit ${run.status}\n${run.stdout}${run.stderr}`;
      expect.soft(outside, context).toEqual([]);
      expect.soft(crash, context).toBeUndefined();
      // Each refusal is a sentence naming what is wrong, never a JavaScript runtime message.
      expect.soft(raw, context).toBeUndefined();
      expect.soft(refused, context).not.toBe(false);
      expect.soft(named, context).toBe(true);
      if (!attack.refusesListing) {
        expect.soft(readFileSync(join(watch, target, 'ok.txt'), 'utf8'), context).toBe(CONTENT);
      }
      for (const path of attack.inside ?? []) {
        expect
          .soft(existsSync(join(watch, target, path)) || isLink(join(watch, target, path)), context)
          .toBe(true);
      }
    }
    expect(readFileSync(join(watch, 'outside/victim.txt'), 'utf8')).toBe('victim\n');
    expect(readdirSync(join(watch, 'outside'))).toEqual(['victim.txt']);
    expect(craftedResults).toHaveLength(list.length);
  });
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

describe('the built CLI agrees with the in-process runs', () => {
  it('one damage per object type: the same exit status, the object named, no stack trace', async () => {
    const middleFlip = (name: string) => (repo: string) =>
      flipAt(
        join(repo, name),
        positionIn(random, 'middle', 0, statSync(join(repo, name)).size),
        random.int(8),
      );
    const tree = ws.listing.get(ws.snapshots[1]!)![0]!;
    const samples: { label: string; name: string; apply: (repo: string) => void; passphrase?: boolean }[] = [
      {
        label: 'config',
        name: 'config',
        apply: (repo) => truncateSync(join(repo, 'config'), 40),
        passphrase: true,
      },
      {
        label: 'key wrapper',
        name: `keys/${ws.passphraseWrapper}`,
        apply: middleFlip(`keys/${ws.passphraseWrapper}`),
        passphrase: true,
      },
      { label: 'index', name: `index/${ws.indexes[2]}`, apply: middleFlip(`index/${ws.indexes[2]}`) },
      { label: 'pack', name: packName(ws.packs[0]!), apply: middleFlip(packName(ws.packs[0]!)) },
      {
        label: 'snapshot',
        name: `snapshots/${ws.snapshots[2]}`,
        apply: middleFlip(`snapshots/${ws.snapshots[2]}`),
      },
      {
        label: 'listing blob',
        name: tree.blob,
        apply: (repo) => flipAt(join(repo, packName(tree.pack)), tree.offset + (tree.length >> 1), 3),
      },
    ];
    for (const sample of samples) {
      const root = copyWorkspace(ws);
      sample.apply(join(root, 'repo'));
      const env = sample.passphrase ? PASSPHRASE_ENV : { RESTORABLE_REPOSITORY_KEY_FILE: ws.keyFile };
      for (const argv of [
        ['repo', 'verify', 'policy.yaml', '--read-data'],
        [
          'restore',
          'policy.yaml',
          '--system',
          'files',
          '--snapshot',
          ws.snapshots[1]!,
          '--target',
          join(root, 'out'),
        ],
      ]) {
        const cli = await restorable([...argv, '--root', root], { cwd: root, env });
        rmSync(join(root, 'out'), { recursive: true, force: true });
        const inProcess = await runInProcess([...argv, '--root', root], env);
        rmSync(join(root, 'out'), { recursive: true, force: true });
        const context = `${sample.label}: ${argv.join(' ')}\n--- CLI: exit ${cli.status}\n${cli.stdout}${cli.stderr}\n--- in process: exit ${inProcess.status}\n${inProcess.stdout}${inProcess.stderr}`;
        expect.soft(crashOf({ ...cli, status: cli.status }), context).toBeUndefined();
        expect.soft(cli.status, context).toBe(inProcess.status);
        // A restore goes on past a damaged index it does not need, warning with the index's name.
        if (argv[0] === 'repo' || (sample.label !== 'snapshot' && sample.label !== 'index')) {
          expect.soft(cli.status, context).toBe(1);
        }
        if (argv[0] === 'repo' || sample.label !== 'snapshot') {
          expect.soft(`${cli.stdout}${cli.stderr}`, context).toContain(sample.name);
        }
      }
    }
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------------
// The table and the figures

afterAll(() => {
  if (results.length + craftedResults.length === 0) return;
  const yes = (value: boolean) => (value ? 'yes' : 'NO');
  const rows = [['object type', 'mutation', 'detected/refused', 'object named', 'crash', 'note']];
  for (const r of results) {
    const notes = [
      r.byDesign ? `by design: ${r.byDesign}` : '',
      r.unavailable.length ? `undamaged ${r.unavailable.join(', ')} not restored` : '',
      r.fellBack ? 'restore latest gave an older snapshot without a warning (deleted: by design)' : '',
    ].filter(Boolean);
    rows.push([
      r.type,
      r.mutation,
      r.byDesign && !r.detected ? 'n/a' : yes(r.detected),
      r.byDesign && !r.detected ? 'n/a' : yes(r.named),
      r.crashes.length ? `CRASH: ${r.crashes.join('; ')}` : 'no',
      notes.join('; '),
    ]);
  }
  for (const c of craftedResults) {
    rows.push([
      'crafted listing',
      c.attack,
      c.refused === 'allowed' ? 'allowed, inside' : yes(c.refused),
      yes(c.named),
      c.crash ? `CRASH: ${c.crash}` : 'no',
      [c.outside.length ? `WROTE OUTSIDE: ${c.outside.join(', ')}` : '', c.raw ? `raw message: ${c.raw}` : '']
        .filter(Boolean)
        .join('; '),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.min(60, Math.max(...rows.map((row) => row[c]!.length))));
  const lines = rows.map((row) =>
    row
      .map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join(' | ')
      .trimEnd(),
  );
  const byKind = new Map<string, number>();
  for (const r of results) {
    const kind = r.mutation.split(' ')[0]!.replace(/[()"]/g, '');
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
  }
  byKind.set('crafted listing', craftedResults.length);
  const undetected = results.filter((r) => !r.byDesign && (!r.detected || !r.named)).length;
  const silent = results.reduce((n, r) => n + r.silentlyWrong.length + r.wrongFiles.length, 0);
  const crashes =
    results.reduce((n, r) => n + r.crashes.length, 0) + craftedResults.filter((c) => c.crash).length;
  const outside = craftedResults.reduce((n, c) => n + c.outside.length, 0);
  console.log(
    [
      `hostile-repository (seed ${SEED}):`,
      ...lines,
      '',
      `hostile inputs tried: ${results.length + craftedResults.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`,
      `by design not detectable: ${results.filter((r) => r.byDesign && !r.detected).length}`,
      `undetected or unnamed corruptions: ${undetected}; restores with wrong bytes: ${silent}`,
      `writes outside the target: ${outside}; crashes: ${crashes}`,
      `availability gaps (undamaged snapshots refused): ${results.filter((r) => r.unavailable.length).length} cases; restore latest fell back silently: ${results.filter((r) => r.fellBack).length} cases`,
    ].join('\n'),
  );
});
