/**
 * Seeded fuzzing of the whole check: mutated policies go through runCheck (loader, schema, cross-checks,
 * every control) and the report renderers, as the CLI runs them. Every case must end in a well-formed
 * report, without throwing, in under a second.
 *
 * Replay: FUZZ_SEED=<seed> reruns a whole run; FUZZ_CASE=<case seed> runs one case and keeps its input
 * (both accept decimal or 0x-hex, as printed). FUZZ_CASES=<n> changes how many cases a run has;
 * FUZZ_TOP=<n> lists the n slowest.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Document,
  isAlias,
  isCollection,
  isMap,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseAllDocuments,
  Scalar,
  stringify,
  visit,
  type YAMLMap,
} from 'yaml';
import { type LoadedProfile, loadProfile, runCheck } from '../src/commands/check.ts';
import { type CheckReport, SEVERITIES } from '../src/controls/result.ts';
import { selectAnnotations } from '../src/report/annotations.ts';
import { renderJson } from '../src/report/json.ts';
import { renderJunit } from '../src/report/junit.ts';
import { renderSarif } from '../src/report/sarif.ts';
import { renderSummary } from '../src/report/summary.ts';
import { renderText } from '../src/report/text.ts';
import { deriveSeed, Random, seedFromEnv } from './helpers/random.ts';

// runCheck reads the profile and the control library on every call (15-30 ms here), which would dominate
// 10,000 cases. Nothing in the fuzzed directory changes them, so the profile is loaded once, for real, and
// handed to runCheck; everything else runs end to end on every case.
let profile: LoadedProfile | undefined;
const check = (root: string, paths: string[]): CheckReport => {
  profile ??= loadProfile(root, undefined);
  return runCheck({ root, paths }, profile);
};

const REPO = fileURLToPath(new URL('..', import.meta.url));
const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

const MASTER_SEED = seedFromEnv('FUZZ_SEED', 0x5eed_2024);
const REPLAY = process.env.FUZZ_CASE ? seedFromEnv('FUZZ_CASE', 0) : undefined;
const CASES = Number(process.env.FUZZ_CASES ?? 10_000);
/** About 3 ms a case here; a long run (bench/fuzz) gets the time it needs. */
const RUN_TIMEOUT_MS = Math.max(120_000, CASES * 20);
const BUDGET_MS = 1_000;
/** FUZZ_TOP=<n> lists the n slowest cases. */
const TOP = Number(process.env.FUZZ_TOP ?? 0);

// ---------------------------------------------------------------------------------------------
// Seed policies: the shipped examples, plus a few built here to cover other shapes.

interface Seed {
  name: string;
  text: string;
}

const LOCAL_AND_B2 = {
  apiVersion: 'restorable/v1',
  kind: 'BackupPolicy',
  metadata: {
    name: 'wiki',
    description: 'Wiki pages and uploads.',
    owner: 'ops@example.com',
    classification: 'internal',
    runbook: 'https://runbooks.example.com/wiki',
    labels: { team: 'docs', tier: '2' },
  },
  repositories: {
    nas: { local: { path: '/srv/backups/wiki' } },
    b2: {
      s3: {
        bucket: 'wiki-offsite',
        region: 'eu-central-003',
        endpoint: 'https://s3.eu-central-003.backblazeb2.com',
        forcePathStyle: true,
        checksums: 'when-required',
        storageClass: 'STANDARD',
        objectLock: { mode: 'governance', years: 1 },
      },
    },
  },
  systems: [
    {
      name: 'wiki-files',
      source: {
        paths: ['data/wiki', 'data/uploads'],
        exclude: ['**/*.tmp', 'cache/**'],
        followSymlinks: false,
      },
      schedule: '30 2 * * *',
      rpo: '1d',
      rto: '4h',
      retention: {
        keep: { last: 3, daily: 7, weekly: 4, within: '2d' },
        minimum: '30d',
        maximum: '1y',
        timezone: 'Europe/Berlin',
      },
      encryption: { cipher: 'aes-256-gcm', passphrase: { env: 'WIKI_PASSPHRASE' } },
      repositories: ['nas', 'b2'],
      drill: {
        schedule: '0 6 1 * *',
        select: { algorithm: 'latest' },
        timeout: '6h',
        verify: [
          {
            name: 'index present',
            command: ['test', '-f', '{restore.path}/data/wiki/index.md'],
            expectExitCode: 0,
          },
        ],
      },
    },
  ],
};

/** Several systems, some of which fail controls (literal passphrase, plain http, no drill, rare cron). */
const MIXED = {
  apiVersion: 'restorable/v1',
  kind: 'BackupPolicy',
  metadata: { name: 'platform', owner: '@acme/platform', classification: 'restricted' },
  repositories: {
    main: {
      s3: { bucket: 'acme-platform', region: 'us-west-2', objectLock: { mode: 'compliance', days: 30 } },
    },
    minio: { s3: { bucket: 'platform-dr', endpoint: 'http://minio.internal:9000', forcePathStyle: true } },
    disk: { local: { path: 'backups' } },
  },
  systems: [
    {
      name: 'orders-db',
      runbook: 'examples/runbooks/payments.md',
      source: {
        command: ['mysqldump', '--single-transaction', 'orders'],
        timeout: '2h',
        filename: 'orders.sql',
      },
      schedule: '*/15 * * * *',
      rpo: '15m',
      rto: '1h',
      retention: { keep: { hourly: 48, daily: 30 }, minimum: '35d', maximum: '400d' },
      encryption: { recipients: ['keys/ops.asc', 'keys/dr.asc'] },
      repositories: ['main', 'minio'],
      drill: {
        schedule: '0 3 * * 0',
        repository: 'minio',
        select: { algorithm: 'random-within', window: '2w' },
        verify: [{ command: ['mysql', '-e', 'select 1'] }],
      },
    },
    {
      name: 'leap-day-reports',
      owner: 'not an owner',
      source: { paths: ['reports'] },
      schedule: '0 0 29 2 *',
      rpo: '1y',
      encryption: { passphrase: 'hunter2' },
      repositories: ['disk'],
    },
    {
      name: 'audit-log',
      classification: 'confidential',
      runbook: '../outside.md',
      source: { command: ['cat', '/var/log/audit.log'] },
      schedule: '@hourly',
      rpo: '2h',
      rto: '30m',
      retention: { minimum: '7y' },
      encryption: { recipients: ['/etc/keys/audit.asc'], cipher: 'aes-256-gcm' },
      repositories: ['main', 'disk'],
      drill: { schedule: '0 0 1 1,7 *', timeout: '45m' },
    },
  ],
};

const MINIMAL = {
  apiVersion: 'restorable/v1',
  kind: 'BackupPolicy',
  metadata: { name: 'tiny' },
  repositories: { here: { local: { path: '.backups' } } },
  systems: [{ name: 'notes', source: { paths: ['notes'] }, repositories: ['here'] }],
};

/** Anchors and aliases that a careful author might use; valid as written. */
const ANCHORS = `apiVersion: restorable/v1
kind: BackupPolicy
metadata:
  name: anchored
  owner: "@acme/sre"
  classification: confidential
  runbook: examples/runbooks/payments.md
repositories:
  east:
    s3: { bucket: sre-east, region: us-east-1, objectLock: &lock { mode: compliance, days: 35 } }
  west:
    s3: { bucket: sre-west, region: us-west-2, objectLock: *lock }
systems:
  - name: redis
    source: { command: [redis-cli, --rdb, "-"] }
    schedule: &every-6h "0 */6 * * *"
    rpo: &rpo 6h
    rto: 1h
    retention: &retention
      keep: { daily: 14, weekly: 8 }
      minimum: 35d
      maximum: 2y
    encryption: &encryption
      recipients: [examples/keys/backup-ops.asc]
    repositories: &both [east, west]
    drill: &drill
      schedule: "0 4 * * 2"
      select: { algorithm: latest }
      verify: [{ name: ping, command: [redis-check-rdb, "{restore.path}/dump.rdb"] }]
  - name: redis-cache
    source: { command: [redis-cli, -n, "1", --rdb, "-"] }
    schedule: *every-6h
    rpo: *rpo
    rto: 2h
    retention: *retention
    encryption: *encryption
    repositories: *both
    drill: *drill
`;

function builtSeeds(): Seed[] {
  return [
    { name: 'built/local-and-b2', text: stringify(LOCAL_AND_B2) },
    { name: 'built/mixed', text: stringify(MIXED) },
    { name: 'built/minimal', text: stringify(MINIMAL) },
    { name: 'built/anchors', text: ANCHORS },
    { name: 'built/two-documents', text: `${stringify(MINIMAL)}---\n${stringify(LOCAL_AND_B2)}` },
    { name: 'built/json', text: JSON.stringify(MIXED, null, 2) },
    { name: 'built/flow', text: stringify(LOCAL_AND_B2, { collectionStyle: 'flow' }) },
  ];
}

function exampleSeeds(): Seed[] {
  const dir = join(REPO, 'examples/pass');
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => ({ name: `examples/pass/${name}`, text: readFileSync(join(dir, name), 'utf8') }));
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** Values of every type, for structure-aware replacement. */
const EVIL_VALUES: readonly unknown[] = [
  0,
  -1,
  -86_400,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  true,
  false,
  null,
  '',
  ' ',
  '\u0000',
  '\u202egnp.exe',
  '💾 ünïcödé',
  'constructor',
  '__proto__',
  'toString',
  'hasOwnProperty',
  'x'.repeat(5_000),
  {},
  [],
  [[]],
  [null],
  [{}],
  { env: 'X' },
  { env: 'lower' },
  { a: { b: { c: {} } } },
  ['primary', 'primary'],
  Array.from({ length: 300 }, (_, i) => `n${i}`),
];

const EVIL_CRONS = [
  '61 * * * *',
  '* * * *',
  '* * * * * *',
  '@every',
  '@every 5m',
  '@reboot',
  '0 0 30 2 *',
  '0 0 31 4,6,9,11 *',
  '*/0 * * * *',
  '1-60 * * * *',
  '5-1 * * * *',
  '*/61 * * * *',
  '0 0 * * 8',
  'L * * * *',
  '? * * * *',
  '0 0 1-31/0 * *',
  '0,,5 * * * *',
  '1/2/3 * * * *',
  '0 24 * * *',
  '',
  '   ',
  '0\t0\t*\t*\t*',
  // valid, but far apart or unusual
  '0 0 29 2 *',
  '0 0 29 2 1',
  '0 0 31 * 5',
  '59 23 31 12 *',
  '*/7 */5 1-31/3 JAN-DEC/5 MON-FRI',
  '0 0 1 1 *',
  '@yearly',
  '@ANNUALLY',
  '* * * * *',
  '0-59/1,0-59/2 0-23 * * *',
  '0 0 * * 7',
  '0 12 13 * FRI',
];

const EVIL_DURATIONS = [
  '0d',
  '0',
  '0s',
  '99999999999y',
  '9007199254740993s',
  '292471208y',
  '-5d',
  '1.5h',
  '6H',
  '1d 2h',
  '1h1d',
  '1d1d',
  'd',
  '1',
  '00000000000000000000000000000001s',
  `${'9'.repeat(400)}s`,
  '1y1w1d1h1m1s',
  '1s',
  '100000w',
  '35d',
  '7y',
];

const EVIL_NAMES = [
  'a',
  'a'.repeat(63),
  'a'.repeat(64),
  '-a',
  'a-',
  'A',
  'payments_db',
  '0',
  'constructor',
  '__proto__',
  'toString',
  'primary',
  'offsite',
  'nas',
];

const EVIL_PATHS = [
  'examples/runbooks/payments.md',
  'examples/runbooks/payments.md#restore',
  'examples/runbooks/missing.md',
  'examples/runbooks',
  '../../etc/passwd',
  '/etc/shadow',
  '~/.ssh/id_rsa',
  'C:\\Windows\\win.ini',
  'a\\b',
  'http://insecure.example/runbook',
  'HTTPS://runbooks.example.com/x',
  'javascript:alert(1)',
  'file:///etc/passwd',
  '.',
  '',
];

const EVIL_INTS = [
  0,
  1,
  -1,
  35,
  36_500,
  36_501,
  100,
  101,
  1_000,
  1_001,
  100_000,
  100_001,
  1.5,
  2 ** 31,
  2 ** 53,
];

const EVIL_OWNERS = ['@acme/team', '@x', 'a@b.c', 'nobody', '@', `@${'a'.repeat(40)}`, 'a b@c.d', '@org/'];

/** Replacement texts for the value of a `key: value` line. */
const EVIL_SCALAR_TEXT = [
  '0',
  '-1',
  '-0',
  '0x1F',
  '0o17',
  '1e400',
  '-.inf',
  '.nan',
  'true',
  'False',
  'yes',
  'on',
  'null',
  '~',
  '',
  "''",
  '""',
  '0d',
  '"0d"',
  '99999999999y',
  '"99999999999y"',
  '-5d',
  '61 * * * *',
  '"61 * * * *"',
  '* * * *',
  '"* * * *"',
  '"@every"',
  '@every',
  '"@every 1h"',
  '"*/0 * * * *"',
  '"0 0 30 2 *"',
  '"0 0 29 2 1"',
  '2001-12-14t21:59:43.10-05:00',
  '!!binary aGVsbG8=',
  '!!int abc',
  '!!float x',
  '!!str 1',
  '!!map {}',
  '!!seq []',
  '!!set { a, b }',
  '!!omap [ a: 1 ]',
  '!custom value',
  '!<tag:yaml.org,2002:str> x',
  '*undefined',
  '&anchor value',
  '|',
  '>-',
  '|-\n  block\n  text',
  '{',
  '[',
  '}',
  ']',
  '"unterminated',
  "'unterminated",
  "'it''s'",
  '[a, b',
  '{a: 1, a: 2}',
  '[1, [2, [3, [4]]]]',
  '{ env: lower_case }',
  '{ env: "$(rm -rf /)" }',
  '"\\u0000"',
  '"\\x00\\xff"',
  '"\\uD800"',
  '? complex',
  'a: b: c',
  '- item',
  '% directive',
  '@at',
  '`backtick`',
  '#comment',
  'value # comment',
  '"\\t\\r\\n"',
  '"\\e[31mred\\e[0m"',
];

/** Byte sequences that are not UTF-8, or are but should not be in a policy. */
const ODD_BYTES: readonly (readonly number[])[] = [
  [0x00],
  [0x80],
  [0xbf],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf5],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xef, 0xbb, 0xbf],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x92],
  [0xf0, 0x9f, 0x92, 0xbe],
  [0x1b, 0x5b, 0x32, 0x4a],
  [0x0d],
  [0x09],
];

const ODD_CHARS = [
  '\u0000',
  '\t',
  '\r',
  '\r\n',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\uffff',
  '\u{1f4be}',
  '#',
  ':',
  ': ',
  '-',
  '- ',
  "'",
  '"',
  '&',
  '*',
  '!',
  '|',
  '>',
  '%',
  '@',
  '`',
  '{',
  '}',
  '[',
  ']',
  ',',
  '?',
  ' ',
  '\n',
  '\n---\n',
  '\n...\n',
];

// ---------------------------------------------------------------------------------------------
// Structure-aware mutations: on the parsed value, written back with the yaml package.

type Path = (string | number)[];
type Container = Record<string, unknown> | unknown[];

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

function collectPaths(value: unknown, path: Path, out: Path[], depth = 0): void {
  out.push(path);
  if (!isContainer(value) || depth > 10 || out.length > 5_000) return;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) collectPaths(item, [...path, i], out, depth + 1);
  } else {
    for (const key of Object.keys(value)) collectPaths(value[key], [...path, key], out, depth + 1);
  }
}

function getAt(root: unknown, path: Path): unknown {
  let node = root;
  for (const step of path) node = isContainer(node) ? (node as Record<string, unknown>)[step] : undefined;
  return node;
}

/** Sets an own property, even one named `__proto__`. */
function setOwn(target: Container, key: string | number, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const parent = getAt(root, path.slice(0, -1));
  if (isContainer(parent)) setOwn(parent, path.at(-1)!, value);
  return root;
}

function deleteAt(root: unknown, path: Path): unknown {
  if (path.length === 0) return null;
  const parent = getAt(root, path.slice(0, -1));
  const key = path.at(-1)!;
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else if (isContainer(parent)) delete (parent as Record<string, unknown>)[key];
  return root;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** A value suited to the key it replaces most of the time, any hostile value otherwise. */
function evilFor(rng: Random, key: string | number | undefined): unknown {
  if (rng.chance(0.3)) return clone(rng.pick(EVIL_VALUES));
  switch (key) {
    case 'schedule':
      return rng.pick(EVIL_CRONS);
    case 'rpo':
    case 'rto':
    case 'minimum':
    case 'maximum':
    case 'timeout':
    case 'window':
    case 'within':
      return rng.pick(EVIL_DURATIONS);
    case 'name':
    case 'repository':
      return rng.pick(EVIL_NAMES);
    case 'runbook':
    case 'path':
      return rng.pick(EVIL_PATHS);
    case 'owner':
      return rng.pick(EVIL_OWNERS);
    case 'days':
    case 'years':
    case 'last':
    case 'hourly':
    case 'daily':
    case 'weekly':
    case 'monthly':
    case 'yearly':
    case 'expectExitCode':
      return rng.pick(EVIL_INTS);
    case 'repositories':
      return rng.pick([['primary'], ['nas', 'nas'], ['missing'], [], 'primary', Array(17).fill('x')]);
    case 'recipients':
      return rng.pick([['../key.asc'], ['/abs.asc'], ['C:\\k.asc'], [''], Array(65).fill('k.asc')]);
    case 'passphrase':
      return rng.pick(['literal-secret', { env: 'OK_NAME' }, { env: '1BAD' }, { env: 'A', extra: 1 }, {}]);
    default:
      return clone(rng.pick(EVIL_VALUES));
  }
}

const ODD_KEYS = [
  'unknown',
  'extra',
  'Name',
  'nmae',
  '__proto__',
  'constructor',
  'toString',
  '$ref',
  '<<',
  '',
  ' ',
  '0',
];

function mutateValue(rng: Random, root: unknown, steps: string[]): unknown {
  const paths: Path[] = [];
  collectPaths(root, [], paths);
  const path = rng.pick(paths);
  const key = path.at(-1);
  const op = rng.weighted([
    ['replace', 5],
    ['delete', 2],
    ['add-key', 2],
    ['dup-item', 1],
    ['swap', 1],
    ['rename-key', 1],
    ['nest', 0.5],
    ['retype', 1],
    // Big inputs are slow to parse: rare, so that the run stays short.
    ['many-systems', 0.03],
    ['many-keys', 0.3],
  ] as const);
  steps.push(`${op}@${path.join('.')}`);
  switch (op) {
    case 'replace':
      return setAt(root, path, evilFor(rng, key));
    case 'delete':
      return deleteAt(root, path);
    case 'add-key': {
      const objects = paths.filter((p) => {
        const v = getAt(root, p);
        return isContainer(v) && !Array.isArray(v);
      });
      if (objects.length === 0) return root;
      const target = getAt(root, rng.pick(objects)) as Record<string, unknown>;
      setOwn(target, rng.pick(ODD_KEYS), clone(rng.pick(EVIL_VALUES)));
      return root;
    }
    case 'dup-item': {
      const arrays = paths.filter((p) => Array.isArray(getAt(root, p)));
      if (arrays.length === 0) return root;
      const list = getAt(root, rng.pick(arrays)) as unknown[];
      if (list.length > 0) list.splice(rng.int(list.length + 1), 0, clone(rng.pick(list)));
      return root;
    }
    case 'swap': {
      const other = rng.pick(paths);
      const a = clone(getAt(root, path));
      const b = clone(getAt(root, other));
      if (path.length === 0 || other.length === 0) return root;
      setAt(root, path, b);
      return setAt(root, other, a);
    }
    case 'rename-key': {
      if (typeof key !== 'string' || path.length === 0) return root;
      const parent = getAt(root, path.slice(0, -1)) as Record<string, unknown>;
      const value = parent[key];
      delete parent[key];
      const typo =
        rng.pick([key.slice(1), key.toUpperCase(), `${key}s`, key.replace(/[aeiou]/, ''), ` ${key}`]) || 'x';
      setOwn(parent, typo, value);
      return root;
    }
    case 'nest': {
      let value = getAt(root, path);
      const depth = rng.between(2, 300);
      for (let i = 0; i < depth; i++) value = rng.chance(0.5) ? [value] : { n: value };
      return setAt(root, path, value);
    }
    case 'retype': {
      const value = getAt(root, path);
      if (Array.isArray(value))
        return setAt(root, path, Object.fromEntries(value.map((v, i) => [`k${i}`, v])));
      if (isContainer(value)) return setAt(root, path, Object.values(value));
      return setAt(root, path, rng.chance(0.5) ? [value] : { value });
    }
    case 'many-systems': {
      const systems = getAt(root, ['systems']);
      if (!Array.isArray(systems) || systems.length === 0) return root;
      const count = rng.weighted([
        [20, 4],
        [50, 3],
        [200, 2],
        [1_001, 1],
      ] as const);
      const first = systems[0];
      for (let i = systems.length; i < count; i++) {
        const copy = clone(first);
        if (isContainer(copy) && !Array.isArray(copy) && rng.chance(0.9)) copy.name = `system-${i}`;
        systems.push(copy);
      }
      return root;
    }
    case 'many-keys': {
      const target = getAt(root, rng.pick([['metadata', 'labels'], ['repositories'], ['metadata']]));
      if (!isContainer(target) || Array.isArray(target)) return root;
      for (let i = 0; i < 70; i++)
        setOwn(target, `key-${i}`, rng.chance(0.5) ? `v${i}` : { local: { path: 'x' } });
      return root;
    }
  }
}

/** The seeds' documents as plain values, parsed once. */
const parsedSeeds = new Map<string, unknown[]>();

function structural(rng: Random, seed: Seed, steps: string[]): string {
  let parsed = parsedSeeds.get(seed.name);
  if (parsed === undefined) {
    parsed = parseAllDocuments(seed.text).map((d) => d.toJS() as unknown);
    parsedSeeds.set(seed.name, parsed);
  }
  const docs = [...parsed];
  const index = rng.int(docs.length);
  let value = clone(docs[index]);
  const count = rng.between(1, 3);
  for (let i = 0; i < count; i++) value = mutateValue(rng, value, steps);
  docs[index] = value;
  // JSON is YAML too, and much faster to write than the yaml package's block style.
  return docs
    .map((d) =>
      rng.chance(0.6)
        ? `${JSON.stringify(d, null, 2)}\n`
        : stringify(d, { aliasDuplicateObjects: rng.chance(0.5) }),
    )
    .join('---\n');
}

// ---------------------------------------------------------------------------------------------
// Document-level mutations: on the YAML syntax tree itself (the yaml package's Document), so that what a
// plain value cannot hold survives into the text: anchors and aliases (also to an enclosing node, a cycle),
// merge keys, a key twice in one mapping, keys that are not strings, tags, scalar styles, comments, and
// numbers too large or too odd for a double.

/** Number literals that are valid YAML but no policy value; spliced in for placeholders after printing. */
const HUGE_NUMBERS = [
  '1e309',
  '-1e309',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '-0',
  '0x7fffffffffffffffffff',
  '0o7777777777777777777777',
  '0b1111111111111111111111111111111111111111111111111111111111111111',
  '1_000_000',
  '.inf',
  '-.Inf',
  '.NaN',
  '+12',
  '12e3',
  '99999999999999999999d',
  '1e400y',
  '0.0000000000000000000001h',
];

const NODE_TAGS = [
  '!!str',
  '!!int',
  '!!float',
  '!!bool',
  '!!null',
  '!!map',
  '!!seq',
  '!!set',
  '!!omap',
  '!local',
  '!<tag:evil,2024:x>',
];

const ODD_COMMENTS = [
  ' comment',
  ' :',
  ' - item',
  ' &anchor *alias',
  ' \u2028 line separator',
  ' {[',
  ` ${'#'.repeat(500)}`,
];

type DocOp =
  | 'alias-node'
  | 'alias-ancestor'
  | 'merge-key'
  | 'dup-pair'
  | 'key-type'
  | 'node-tag'
  | 'huge-number'
  | 'scalar-style'
  | 'flow-style'
  | 'comment'
  | 'swap-values';

interface DocNodes {
  nodes: Node[];
  pairs: Pair[];
  maps: YAMLMap[];
  scalars: Scalar[];
  /** Each node's enclosing collections, outermost first. */
  ancestors: Map<Node, Node[]>;
}

function docNodes(doc: Document): DocNodes {
  const out: DocNodes = { nodes: [], pairs: [], maps: [], scalars: [], ancestors: new Map() };
  visit(doc, {
    Node(_, node, path) {
      if (isAlias(node)) return;
      out.nodes.push(node);
      out.ancestors.set(
        node,
        path.filter((p): p is Node => isCollection(p as Node)),
      );
      if (isMap(node)) out.maps.push(node as YAMLMap);
      if (isScalar(node)) out.scalars.push(node);
    },
    Pair(_, pair) {
      out.pairs.push(pair as Pair);
    },
  });
  return out;
}

/** One mutation of the document in place; returns false when the document offers nothing to mutate. */
function mutateDocument(rng: Random, doc: Document, op: DocOp, placeholders: Map<string, string>): boolean {
  const found = docNodes(doc);
  const valuePairs = found.pairs.filter((p) => p.value !== null && p.value !== undefined);
  switch (op) {
    case 'alias-node': {
      if (valuePairs.length === 0 || found.nodes.length === 0) return false;
      const target = rng.pick(found.nodes);
      rng.pick(valuePairs).value = doc.createAlias(target as Scalar, `a${rng.int(1000)}`);
      return true;
    }
    case 'alias-ancestor': {
      const nested = valuePairs.filter((p) => (found.ancestors.get(p.value as Node)?.length ?? 0) > 0);
      if (nested.length === 0) return false;
      const pair = rng.pick(nested);
      const ancestor = rng.pick(found.ancestors.get(pair.value as Node)!);
      pair.value = doc.createAlias(ancestor as YAMLMap, `cycle${rng.int(1000)}`);
      return true;
    }
    case 'merge-key': {
      if (found.maps.length === 0) return false;
      const target = rng.pick([...found.maps, ...found.nodes]);
      rng
        .pick(found.maps)
        .items.unshift(doc.createPair('<<', doc.createAlias(target as YAMLMap, `m${rng.int(1000)}`)));
      return true;
    }
    case 'dup-pair': {
      const maps = found.maps.filter((m) => m.items.length > 0);
      if (maps.length === 0) return false;
      const map = rng.pick(maps);
      const pair = rng.pick(map.items);
      const value = rng.chance(0.5) ? doc.createNode(rng.pick(EVIL_VALUES)) : (pair.value as Node)?.clone?.();
      map.items.splice(
        rng.int(map.items.length + 1),
        0,
        doc.createPair((pair.key as Node)?.clone?.() ?? pair.key, value),
      );
      return true;
    }
    case 'key-type': {
      if (found.pairs.length === 0) return false;
      const key = rng.pick<unknown>([0, 1.5, -1, null, true, [], ['a', 'b'], { k: 'v' }, 2 ** 64, '']);
      rng.pick(found.pairs).key = doc.createNode(key);
      return true;
    }
    case 'node-tag': {
      if (found.nodes.length === 0) return false;
      rng.pick(found.nodes).tag = rng.pick(NODE_TAGS);
      return true;
    }
    case 'huge-number': {
      if (valuePairs.length === 0) return false;
      const placeholder = `HUGE_NUMBER_${placeholders.size}_PLACEHOLDER`;
      placeholders.set(placeholder, rng.pick(HUGE_NUMBERS));
      rng.pick(valuePairs).value = new Scalar(placeholder);
      return true;
    }
    case 'scalar-style': {
      if (found.scalars.length === 0) return false;
      const scalar = rng.pick(found.scalars);
      scalar.type = rng.pick([
        'BLOCK_FOLDED',
        'BLOCK_LITERAL',
        'QUOTE_DOUBLE',
        'QUOTE_SINGLE',
        'PLAIN',
      ] as const);
      return true;
    }
    case 'flow-style': {
      const collections = found.nodes.filter((n) => isMap(n) || isSeq(n)) as YAMLMap[];
      if (collections.length === 0) return false;
      const collection = rng.pick(collections);
      collection.flow = !collection.flow;
      return true;
    }
    case 'comment': {
      if (found.nodes.length === 0) return false;
      const node = rng.pick(found.nodes);
      if (rng.chance(0.5)) node.commentBefore = rng.pick(ODD_COMMENTS);
      else node.comment = rng.pick(ODD_COMMENTS);
      return true;
    }
    case 'swap-values': {
      if (valuePairs.length < 2) return false;
      const a = rng.pick(valuePairs);
      const b = rng.pick(valuePairs);
      [a.value, b.value] = [b.value, a.value];
      return true;
    }
  }
}

/** How often each document-level operation was applied, and printed, over a run. */
const documentOps = new Map<string, number>();

/** The seeds' syntax trees, parsed once and cloned for each case. */
const parsedDocuments = new Map<string, Document[]>();

function documentLevel(rng: Random, seed: Seed, steps: string[]): string {
  let parsed = parsedDocuments.get(seed.name);
  if (parsed === undefined) {
    parsed = parseAllDocuments(seed.text) as Document[];
    parsedDocuments.set(seed.name, parsed);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return seed.text;
  const docs = parsed.map((d) => d.clone());
  const doc = rng.pick(docs) as Document;
  const placeholders = new Map<string, string>();
  const count = rng.between(1, 3);
  for (let i = 0; i < count; i++) {
    const op = rng.weighted<DocOp>([
      ['alias-node', 2],
      ['alias-ancestor', 1],
      ['merge-key', 1],
      ['dup-pair', 2],
      ['key-type', 1],
      ['node-tag', 1.5],
      ['huge-number', 2],
      ['scalar-style', 1],
      ['flow-style', 1],
      ['comment', 0.5],
      ['swap-values', 2],
    ]);
    const applied = mutateDocument(rng, doc, op, placeholders);
    steps.push(`doc:${op}${applied ? '' : '(nothing to mutate)'}`);
    if (applied) documentOps.set(op, (documentOps.get(op) ?? 0) + 1);
  }
  const print = () => docs.map((d) => d.toString({ lineWidth: 0 })).join('');
  let text: string;
  try {
    text = print();
  } catch {
    // The printer refuses an alias met before its anchor (what alias-node and swap-values can make): write
    // every alias as text instead, so the loader meets `*name` before `&name`.
    for (const d of docs) {
      visit(d, {
        Alias(_, alias) {
          const placeholder = `ALIAS_${placeholders.size}_PLACEHOLDER`;
          placeholders.set(placeholder, `*${alias.source}`);
          return new Scalar(placeholder);
        },
      });
    }
    try {
      text = print();
      steps.push('doc:alias-before-anchor');
      documentOps.set('alias-before-anchor', (documentOps.get('alias-before-anchor') ?? 0) + 1);
    } catch (error) {
      steps.push(`doc:unprintable (${(error as Error).message.slice(0, 40)})`);
      documentOps.set('unprintable', (documentOps.get('unprintable') ?? 0) + 1);
      return seed.text;
    }
  }
  for (const [placeholder, literal] of placeholders) text = text.split(placeholder).join(literal);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Textual mutations

const KEY_VALUE_LINE = /^(\s*(?:- )?[^\s:#"'][^:#]*:)[ \t]+(\S.*)$/;

function aliasBomb(levels: number, width: number, indent = ''): string {
  const lines = [`${indent}lol0: &l0 "lol"`];
  for (let i = 1; i <= levels; i++) {
    lines.push(
      `${indent}lol${i}: &l${i} [${Array(width)
        .fill(`*l${i - 1}`)
        .join(', ')}]`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function deepNesting(rng: Random): string {
  const depth = rng.weighted([
    [100, 2],
    [1_000, 2],
    [10_000, 1],
    [rng.between(1, 20_000), 0.5],
  ] as const);
  const closed = rng.chance(0.5);
  switch (rng.int(4)) {
    case 0:
      return '['.repeat(depth) + (closed ? ']'.repeat(depth) : '');
    case 1:
      return '{a: '.repeat(depth) + (closed ? `1${'}'.repeat(depth)}` : '');
    case 2:
      return `${'- '.repeat(depth)}x`;
    default:
      return Array.from({ length: Math.min(depth, 1_400) }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
  }
}

function textual(rng: Random, text: string, seeds: readonly Seed[], steps: string[]): string {
  const lines = text.split('\n');
  const line = () => rng.int(lines.length);
  const op = rng.weighted([
    ['del-line', 3],
    ['dup-line', 3],
    ['swap-lines', 2],
    ['move-line', 1],
    ['indent', 3],
    ['tabs', 1],
    ['scalar', 6],
    ['anchor-alias', 2],
    ['alias-bomb', 0.5],
    ['deep-nesting', 0.1],
    ['long-line', 0.15],
    ['many-docs', 0.15],
    ['crlf', 1],
    ['bom', 1],
    ['insert-char', 3],
    ['truncate', 2],
    ['directive', 1],
    ['dup-key', 2],
    ['tag', 1],
    ['splice', 1],
  ] as const);
  steps.push(op);
  switch (op) {
    case 'del-line':
      lines.splice(line(), 1);
      break;
    case 'dup-line': {
      const i = line();
      lines.splice(i, 0, lines[i]!);
      break;
    }
    case 'swap-lines': {
      const [i, j] = [line(), line()];
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      break;
    }
    case 'move-line': {
      const [removed] = lines.splice(line(), 1);
      lines.splice(line(), 0, removed ?? '');
      break;
    }
    case 'indent': {
      const i = line();
      const delta = rng.pick([-4, -2, -1, 1, 2, 3, 4, 40]);
      lines[i] =
        delta > 0 ? ' '.repeat(delta) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-delta}}`), '');
      break;
    }
    case 'tabs': {
      const i = line();
      lines[i] = rng.chance(0.5)
        ? lines[i]!.replace(/^( +)/, (s) => '\t'.repeat(Math.ceil(s.length / 2)))
        : `\t${lines[i]}`;
      break;
    }
    case 'scalar': {
      const candidates = lines.flatMap((l, i) => (KEY_VALUE_LINE.test(l) ? [i] : []));
      const i = candidates.length ? rng.pick(candidates) : line();
      const replacement = rng.chance(0.8) ? rng.pick(EVIL_SCALAR_TEXT) : JSON.stringify(rng.pick(EVIL_CRONS));
      lines[i] = lines[i]!.replace(KEY_VALUE_LINE, (_, k: string) => `${k} ${replacement}`);
      break;
    }
    case 'anchor-alias': {
      const candidates = lines.flatMap((l, i) => (KEY_VALUE_LINE.test(l) ? [i] : []));
      if (candidates.length < 2) break;
      const [from, to] = [rng.pick(candidates), rng.pick(candidates)];
      const name = `fz${rng.int(3)}`;
      lines[from] = lines[from]!.replace(KEY_VALUE_LINE, (_, k: string, v: string) => `${k} &${name} ${v}`);
      lines[to] = lines[to]!.replace(KEY_VALUE_LINE, (_, k: string) =>
        rng.chance(0.2) ? `${k}\n  <<: *${name}` : `${k} *${name}`,
      );
      break;
    }
    case 'alias-bomb': {
      const [levels, width] = rng.pick([
        [9, 9],
        [12, 10],
        [4, 3],
        [30, 2],
        [2, 60],
      ] as const);
      const where = rng.int(3);
      if (where === 0) return aliasBomb(levels, width) + text;
      if (where === 1) return `${text}\n---\n${aliasBomb(levels, width)}`;
      // Under metadata.labels, where string values are allowed.
      return text.replace(/^metadata:\n/m, `metadata:\n  labels:\n${aliasBomb(levels, width, '    ')}`);
    }
    case 'deep-nesting': {
      const i = line();
      const nesting = deepNesting(rng);
      if (KEY_VALUE_LINE.test(lines[i]!) && rng.chance(0.7)) {
        lines[i] = lines[i]!.replace(KEY_VALUE_LINE, (_, k: string) => `${k} ${nesting}`);
      } else {
        lines.splice(i, 0, nesting);
      }
      break;
    }
    case 'long-line': {
      const length = rng.pick([10_000, 100_000, 500_000, 900_000, 1_100_000]);
      const body = rng.chance(0.5)
        ? 'x'.repeat(length)
        : rng.string(Math.min(length, 200_000)).repeat(Math.ceil(length / 200_000));
      const shape = rng.int(3);
      lines.splice(line(), 0, shape === 0 ? `# ${body}` : shape === 1 ? `description: "${body}"` : body);
      break;
    }
    case 'many-docs': {
      const count = rng.weighted([
        [2, 4],
        [10, 3],
        [100, 1],
        [101, 1],
        [1_000, 1],
        [5_000, 0.5],
      ] as const);
      // Full copies up to about the size limit; empty documents beyond.
      if (rng.chance(0.5) || count * text.length > 300_000) {
        const empty = rng.pick(['---\n', '--- {}\n', '--- ~\n', '...\n---\n']);
        return text + (text.endsWith('\n') ? '' : '\n') + empty.repeat(count);
      }
      return Array(count).fill(text).join('\n---\n');
    }
    case 'crlf':
      return rng.chance(0.7) ? text.replace(/\n/g, '\r\n') : text.replace(/\n/g, '\r');
    case 'bom': {
      if (rng.chance(0.6)) return `\ufeff${text}`;
      const at = rng.int(text.length + 1);
      return `${text.slice(0, at)}\ufeff${text.slice(at)}`;
    }
    case 'insert-char': {
      let out = text;
      const n = rng.between(1, 5);
      for (let k = 0; k < n; k++) {
        const at = rng.int(out.length + 1);
        out = out.slice(0, at) + rng.pick(ODD_CHARS) + out.slice(at);
      }
      return out;
    }
    case 'truncate':
      return text.slice(0, rng.int(text.length + 1));
    case 'directive':
      return (
        rng.pick([
          '%YAML 1.1\n---\n',
          '%YAML 9.9\n---\n',
          '%TAG ! tag:example.com,2000:\n---\n',
          '%FOO bar\n',
          '%YAML 1.2\n',
        ]) + text
      );
    case 'dup-key': {
      const candidates = lines.flatMap((l, i) => (KEY_VALUE_LINE.test(l) ? [i] : []));
      if (rng.chance(0.3) && text.includes('{ ')) return text.replace('{ ', '{ days: 1, days: 2, ');
      if (candidates.length === 0) break;
      const i = rng.pick(candidates);
      const key = lines[i]!.match(KEY_VALUE_LINE)![1]!.replace(/^(\s*)- /, '$1  ');
      lines.splice(i + 1, 0, `${key} ${rng.pick(EVIL_SCALAR_TEXT)}`);
      break;
    }
    case 'tag': {
      const candidates = lines.flatMap((l, i) => (KEY_VALUE_LINE.test(l) ? [i] : []));
      if (candidates.length === 0) break;
      const i = rng.pick(candidates);
      const tag = rng.pick([
        '!!str',
        '!!int',
        '!!float',
        '!!bool',
        '!!null',
        '!!binary',
        '!!timestamp',
        '!!set',
        '!!omap',
        '!!pairs',
        '!local',
        '!!map',
        '!!seq',
      ]);
      lines[i] = lines[i]!.replace(KEY_VALUE_LINE, (_, k: string, v: string) => `${k} ${tag} ${v}`);
      break;
    }
    case 'splice': {
      const other = rng.pick(seeds).text.split('\n');
      const start = rng.int(other.length);
      lines.splice(line(), 0, ...other.slice(start, start + rng.between(1, 10)));
      break;
    }
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Byte mutations (last: the result need not be text)

function byteLevel(rng: Random, input: Uint8Array, steps: string[]): Uint8Array {
  const op = rng.weighted([
    ['flip', 3],
    ['insert-bytes', 3],
    ['truncate-bytes', 1],
    ['overwrite', 1],
  ] as const);
  steps.push(op);
  let bytes = input;
  /** bytes with `remove` bytes at `at` replaced by chunk. */
  const splice = (at: number, remove: number, chunk: Uint8Array | readonly number[]) => {
    const out = new Uint8Array(bytes.length - Math.min(remove, bytes.length - at) + chunk.length);
    out.set(bytes.subarray(0, at));
    out.set(chunk, at);
    out.set(bytes.subarray(at + remove), at + chunk.length);
    return out;
  };
  switch (op) {
    case 'flip': {
      bytes = bytes.slice();
      const n = rng.between(1, 8);
      for (let k = 0; k < n && bytes.length; k++) bytes[rng.int(bytes.length)]! ^= 1 << rng.int(8);
      break;
    }
    case 'insert-bytes': {
      const n = rng.between(1, 4);
      for (let k = 0; k < n; k++) {
        const chunk = rng.chance(0.7) ? rng.pick(ODD_BYTES) : rng.bytes(rng.between(1, 8));
        bytes = splice(rng.int(bytes.length + 1), 0, chunk);
      }
      break;
    }
    case 'truncate-bytes':
      bytes = bytes.slice(0, rng.int(bytes.length + 1));
      break;
    case 'overwrite': {
      const at = rng.int(bytes.length + 1);
      const chunk = rng.bytes(rng.between(1, 64));
      bytes = splice(at, chunk.length, chunk);
      break;
    }
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Cases

interface Case {
  seed: number;
  from: string;
  steps: string[];
  path: string;
  bytes: Uint8Array;
}

const CASE_PATHS = ['policy.yaml', '.restorable/policies/case.yml', 'deep/a b/ünï.yaml'];
const encoder = new TextEncoder();

function makeCase(seed: number, seeds: readonly Seed[]): Case {
  const rng = new Random(seed);
  const path = rng.pick(CASE_PATHS);
  if (rng.chance(0.01)) {
    const bytes = rng.chance(0.5)
      ? rng.bytes(rng.int(2_000))
      : encoder.encode(rng.string(rng.int(2_000), ' -:[]{}#&*!|>\'"%@`,?\n\tab01'));
    return { seed, from: 'garbage', steps: ['garbage'], path, bytes };
  }
  const from = rng.pick(seeds);
  const steps: string[] = [];
  let text = from.text;
  const family = rng.weighted([
    ['value', 0.35],
    ['document', 0.3],
    ['text', 0.35],
  ] as const);
  if (family === 'value') text = structural(rng, from, steps);
  if (family === 'document') text = documentLevel(rng, from, steps);
  if (rng.chance(family === 'document' ? 0.4 : 0.7) || steps.length === 0) {
    const n = rng.weighted([
      [1, 6],
      [2, 3],
      [3, 1],
    ] as const);
    for (let i = 0; i < n; i++) text = textual(rng, text, seeds, steps);
  }
  let bytes: Uint8Array = encoder.encode(text);
  if (rng.chance(0.15)) bytes = byteLevel(rng, bytes, steps);
  // A few untouched seeds, so that passing reports are checked too.
  if (rng.chance(0.02))
    return { seed, from: from.name, steps: ['none'], path, bytes: encoder.encode(from.text) };
  return { seed, from: from.name, steps, path, bytes };
}

/** What is wrong with a report for the given input; empty when it is well-formed. */
function malformations(report: CheckReport, path: string): string[] {
  const out: string[] = [];
  const positive = (n: unknown) => Number.isInteger(n) && (n as number) >= 1;
  if (report.files.length !== 1 || report.files[0] !== path)
    out.push(`files is ${JSON.stringify(report.files)}`);
  report.findings.forEach((f, i) => {
    const at = `findings[${i}] (${String(f.ruleId)})`;
    if (typeof f.ruleId !== 'string' || f.ruleId === '') out.push(`${at}: no ruleId`);
    if (f.kind !== 'control' && f.kind !== 'problem') out.push(`${at}: kind ${String(f.kind)}`);
    if (!['pass', 'fail', 'not-applicable'].includes(f.status)) out.push(`${at}: status ${String(f.status)}`);
    if (!SEVERITIES.includes(f.severity)) out.push(`${at}: severity ${String(f.severity)}`);
    if (typeof f.message !== 'string' || f.message.trim() === '') out.push(`${at}: empty message`);
    const loc = f.location;
    if (!loc) {
      out.push(`${at}: no location`);
      return;
    }
    if (loc.file !== path) out.push(`${at}: location.file ${JSON.stringify(loc.file)}`);
    if (!positive(loc.line) || !positive(loc.column)) out.push(`${at}: position ${loc.line}:${loc.column}`);
    if (!positive(loc.endLine) || !positive(loc.endColumn)) {
      out.push(`${at}: end position ${loc.endLine}:${loc.endColumn}`);
    } else if (loc.endLine < loc.line || (loc.endLine === loc.line && loc.endColumn < loc.column)) {
      out.push(
        `${at}: range ends before it starts (${loc.line}:${loc.column}-${loc.endLine}:${loc.endColumn})`,
      );
    }
  });
  const problems = report.findings.filter((f) => f.kind === 'problem').length;
  if (report.counts.problems !== problems)
    out.push(`counts.problems ${report.counts.problems} != ${problems}`);
  return out;
}

/** Messages that leak an implementation detail; counted and shown, not failed. */
const SUSPICIOUS = /\bundefined\b|\bNaN\b|\[object Object\]/;

// ---------------------------------------------------------------------------------------------

describe('fuzz: mutated policies through the whole check', () => {
  let root: string;
  let seeds: Seed[];
  // Inputs of failing (and replayed) cases are kept here, named by case seed.
  const keepDir = join(tmpdir(), 'restorable-fuzz-cases');

  beforeAll(() => {
    seeds = [...exampleSeeds(), ...builtSeeds()];
    root = mkdtempSync(join(tmpdir(), 'restorable-fuzz-'));
    // The runbook the examples point to, so that an unmutated seed can pass.
    cpSync(join(REPO, 'examples/runbooks'), join(root, 'examples/runbooks'), { recursive: true });
    for (const path of CASE_PATHS) mkdirSync(dirname(join(root, path)), { recursive: true });
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('starts from seeds that load', () => {
    for (const seed of seeds) {
      writeFileSync(join(root, 'policy.yaml'), seed.text);
      const report = check(root, ['policy.yaml']);
      const problems = report.findings.filter((f) => f.kind === 'problem');
      expect(problems, seed.name).toEqual([]);
      expect(report.counts.systems, seed.name).toBeGreaterThan(0);
    }
  });

  const title = REPLAY === undefined ? `${CASES} cases (seed ${hex(MASTER_SEED)})` : `case ${hex(REPLAY)}`;
  it(`survives ${title}`, { timeout: RUN_TIMEOUT_MS }, () => {
    const caseSeeds =
      REPLAY === undefined ? Array.from({ length: CASES }, (_, i) => deriveSeed(MASTER_SEED, i)) : [REPLAY];
    const ruleCounts = new Map<string, number>();
    const failures: string[] = [];
    const suspicious: string[] = [];
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).length;
    let slowest = { ms: -1, seed: 0, steps: '' };
    const timings: (typeof slowest)[] = [];
    let clean = 0;
    let loaded = 0;
    let empty = 0;
    const outcomes = new Map<string, number>();
    const outcome = (name: string) => outcomes.set(name, (outcomes.get(name) ?? 0) + 1);
    let documentCases = 0;

    const keep = (c: Case): string => {
      mkdirSync(keepDir, { recursive: true });
      const file = join(keepDir, `case-${hex(c.seed)}.yaml`);
      writeFileSync(file, c.bytes);
      return file;
    };

    for (const [index, seed] of caseSeeds.entries()) {
      const c = makeCase(seed, seeds);
      // Unlink first: truncating a file in place makes ext4 flush it, which costs milliseconds.
      rmSync(join(root, c.path), { force: true });
      writeFileSync(join(root, c.path), c.bytes);
      const describeCase = `case ${hex(seed)} (${c.from}: ${c.steps.join(', ')})`;
      if (REPLAY !== undefined) console.log(`${describeCase}\ninput kept in ${keep(c)}`);

      const started = performance.now();
      let report: CheckReport;
      try {
        // A policy under .restorable/ is found by the default globs, as `restorable check` alone finds it.
        report = check(root, c.path.startsWith('.restorable/') ? [] : [c.path]);
        // Every report format, on every eighth case (rendering costs about as much as a small check).
        if (index % 8 === 0) {
          renderJson(report);
          renderText(report, { color: true, verbose: true });
          renderSarif(report);
          renderJunit(report);
          renderSummary(report);
          selectAnnotations(report);
        }
      } catch (error) {
        outcome('threw');
        failures.push(`${describeCase} threw ${(error as Error)?.stack ?? String(error)}; input: ${keep(c)}`);
        continue;
      }
      const ms = performance.now() - started;
      if (TOP > 0)
        timings.push({ ms, seed, steps: `${c.from}: ${c.steps.join(', ')} [${c.bytes.length} bytes]` });
      if (ms > slowest.ms) slowest = { ms, seed, steps: `${c.from}: ${c.steps.join(', ')}` };

      const wrong = malformations(report, c.path);
      if (wrong.length) failures.push(`${describeCase}: ${wrong.slice(0, 5).join('; ')}; input: ${keep(c)}`);
      if (c.steps.some((step) => step.startsWith('doc:'))) documentCases++;
      const problems = report.findings.filter((f) => f.kind === 'problem').length;
      outcome(
        wrong.length
          ? 'malformed'
          : problems > 0
            ? report.counts.systems > 0
              ? 'partly-loaded'
              : 'rejected'
            : report.failed
              ? 'loaded-failing'
              : 'loaded-passing',
      );
      if (Object.getOwnPropertyNames(Object.prototype).length !== protoKeys) {
        failures.push(`${describeCase} polluted Object.prototype; input: ${keep(c)}`);
        break;
      }
      for (const f of report.findings) {
        if (f.kind === 'problem') ruleCounts.set(f.ruleId, (ruleCounts.get(f.ruleId) ?? 0) + 1);
        if (SUSPICIOUS.test(f.message) && suspicious.length < 10) {
          suspicious.push(`${hex(seed)} ${f.ruleId}: ${f.message.slice(0, 160)}`);
        }
      }
      if (report.findings.length === 0) empty++;
      if (report.counts.systems > 0) loaded++;
      if (!report.failed) clean++;
      if (failures.length >= 20) break;
    }

    const rules = [...ruleCounts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    console.log(
      `fuzz seed=${hex(MASTER_SEED)} cases=${caseSeeds.length} runCheck=${caseSeeds.length} passes=${clean} ` +
        `loaded=${loaded} empty-reports=${empty} failures=${failures.length} ` +
        `problems by rule (${rules.length} ids): ${rules.map(([id, n]) => `${id}=${n}`).join(' ')} ` +
        `slowest=${slowest.ms.toFixed(1)}ms (FUZZ_CASE=${hex(slowest.seed)}: ${slowest.steps})`,
    );
    const classes = ['threw', 'malformed', 'rejected', 'partly-loaded', 'loaded-failing', 'loaded-passing'];
    console.log(
      `fuzz outcomes: ${classes.map((name) => `${name}=${outcomes.get(name) ?? 0}`).join(' ')}; ` +
        `document-level cases=${documentCases} ops: ${[...documentOps].map(([op, n]) => `${op}=${n}`).join(' ')}`,
    );
    if (TOP > 0) {
      timings.sort((a, b) => b.ms - a.ms);
      const total = timings.reduce((sum, t) => sum + t.ms, 0);
      console.log(
        `total ${total.toFixed(0)} ms; slowest ${TOP}:\n${timings
          .slice(0, TOP)
          .map((t) => `  ${t.ms.toFixed(0)} ms ${hex(t.seed)} ${t.steps}`)
          .join('\n')}`,
      );
    }
    if (suspicious.length) console.warn(`suspicious messages:\n  ${suspicious.join('\n  ')}`);

    expect(failures, failures.join('\n')).toEqual([]);
    expect(
      slowest.ms,
      `slowest case took ${slowest.ms.toFixed(0)} ms; replay with FUZZ_CASE=${hex(slowest.seed)} (${slowest.steps})`,
    ).toBeLessThan(BUDGET_MS);
  });
});
