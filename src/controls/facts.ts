import { cronMaxIntervalSeconds, parseCron } from '../policy/cron.ts';
import { parseDuration } from '../policy/duration.ts';
import type { PolicyData, RepositoryData } from '../policy/model.ts';
import type { SourcePath } from '../policy/source.ts';

export type FactValue = string | number | boolean;
export type FactType = 'duration' | 'number' | 'string' | 'boolean' | 'list';

/** The facts of one system (or of one element of a list fact), each with the YAML node it comes from. */
export interface FactScope {
  values: Record<string, FactValue | undefined>;
  at: Record<string, SourcePath>;
  lists: Record<string, FactScope[]>;
  /** The node that stands for the whole scope (the system, or the list element). */
  self: SourcePath;
  /** For a list element: the system, whose facts are visible inside `each`. */
  parent?: FactScope;
}

/** A fact's value, looked up in the scope and then in the scopes around it. */
export function factValue(scope: FactScope, name: string): FactValue | undefined {
  for (let s: FactScope | undefined = scope; s; s = s.parent) {
    if (name in s.values) return s.values[name];
  }
  return undefined;
}

/** The YAML node a fact comes from (the scope's own node when the fact has none). */
export function factPath(scope: FactScope, name: string): SourcePath {
  for (let s: FactScope | undefined = scope; s; s = s.parent) {
    if (name in s.values) return s.at[name] ?? s.self;
  }
  return scope.self;
}

export interface FactInfo {
  name: string;
  type: FactType;
  description: string;
}

/** Every fact a control may name, for validation of control files and for the generated docs. */
export const SYSTEM_FACTS: readonly FactInfo[] = [
  { name: 'policy.name', type: 'string', description: "The policy's `metadata.name`." },
  { name: 'system.name', type: 'string', description: "The system's name." },
  { name: 'source.kind', type: 'string', description: '`command` or `paths`.' },
  { name: 'classification', type: 'string', description: "The system's classification, else the policy's." },
  { name: 'owner', type: 'string', description: "The system's owner, else the policy's." },
  {
    name: 'owner.valid',
    type: 'boolean',
    description: 'The owner is a GitHub team or user (`@org/team`, `@login`) or an e-mail address.',
  },
  { name: 'runbook', type: 'string', description: "The system's runbook, else the policy's." },
  {
    name: 'runbook.status',
    type: 'string',
    description:
      '`file` (a path that exists in the repository), `url` (an https:// URL), `missing-file`, `outside-repository` (absolute or `..`), `insecure-url` (http://).',
  },
  { name: 'schedule', type: 'string', description: 'The backup schedule (cron).' },
  { name: 'schedule.interval', type: 'duration', description: 'Longest gap between two scheduled backups.' },
  { name: 'rpo', type: 'duration', description: 'Recovery point objective.' },
  { name: 'rto', type: 'duration', description: 'Recovery time objective.' },
  { name: 'retention.minimum', type: 'duration', description: 'Minimum retention.' },
  { name: 'retention.maximum', type: 'duration', description: 'Maximum retention (disposal).' },
  { name: 'retention.keepRules', type: 'number', description: 'How many keep rules are set.' },
  {
    name: 'encryption',
    type: 'boolean',
    description: 'Encryption is configured with at least one recipient or a passphrase.',
  },
  {
    name: 'encryption.cipher',
    type: 'string',
    description: 'Content cipher (`aes-256-gcm`, the default, when encryption is configured).',
  },
  { name: 'encryption.recipients', type: 'number', description: 'Number of OpenPGP recipients.' },
  {
    name: 'encryption.passphrase',
    type: 'string',
    description: '`env` (from an environment variable), `literal` (written in the policy) or `none`.',
  },
  {
    name: 'encryption.keyPathsInRepository',
    type: 'boolean',
    description:
      'Every recipient key path is relative and stays inside the repository (no `..`, not absolute).',
  },
  {
    name: 'encryption.recipientKeys',
    type: 'string',
    description:
      'What the recipient key files hold, the worst first: `private-key`, `missing-file`, `not-a-public-key`, `public-keys` (all are OpenPGP public keys), or `none` (no recipients). Only files inside the repository are read, and only their first bytes.',
  },
  {
    name: 'repositories',
    type: 'list',
    description: "The system's repositories; each has the `repository.*` facts.",
  },
  { name: 'repositories.count', type: 'number', description: 'How many repositories receive each snapshot.' },
  {
    name: 'repositories.locations',
    type: 'number',
    description: 'How many distinct locations (provider endpoint and region) they are in.',
  },
  {
    name: 'offsite',
    type: 'boolean',
    description: 'At least two repositories are in different locations (another region or provider).',
  },
  { name: 'drill', type: 'boolean', description: 'A drill is declared.' },
  { name: 'drill.schedule', type: 'string', description: 'The drill schedule (cron).' },
  { name: 'drill.interval', type: 'duration', description: 'Longest gap between two scheduled drills.' },
  { name: 'drill.timeout', type: 'duration', description: "The drill's timeout; the RTO when none is set." },
  {
    name: 'drill.verifySteps',
    type: 'number',
    description: 'How many verify commands the drill runs after restoring.',
  },
  { name: 'drill.select', type: 'string', description: '`latest` or `random-within`.' },
];

export const REPOSITORY_FACTS: readonly FactInfo[] = [
  { name: 'name', type: 'string', description: 'Repository name.' },
  { name: 'kind', type: 'string', description: '`s3` or `local`.' },
  { name: 'region', type: 'string', description: 'S3 region.' },
  { name: 'endpoint', type: 'string', description: "S3 endpoint URL, when not AWS's default." },
  {
    name: 'tls',
    type: 'boolean',
    description: "Traffic to the repository uses TLS (AWS's default endpoint, or an https:// endpoint).",
  },
  {
    name: 'location',
    type: 'string',
    description: 'Provider endpoint and region, for telling offsite copies apart.',
  },
  { name: 'objectLock', type: 'boolean', description: 'S3 Object Lock is configured.' },
  { name: 'objectLock.mode', type: 'string', description: '`governance` or `compliance`.' },
  { name: 'objectLock.retention', type: 'duration', description: 'Object Lock retention period.' },
];

/** Facts that only run-time checks see. */
export const RUNTIME_FACTS: readonly FactInfo[] = [
  {
    name: 'measured',
    type: 'duration',
    description:
      'The measured value from the newest evidence record: a duration for snapshotAge, drillAge and restoreDuration; true or false for drillPassed, restoredComplete and backupSucceeded.',
  },
];

export interface FactProbe {
  /** Whether a path relative to the repository root names an existing file. */
  fileExists(relativePath: string): boolean;
  /**
   * The first bytes of a file inside the repository, or undefined when there is no such file (or it
   * leads outside the repository).
   */
  readHead(relativePath: string, bytes: number): Uint8Array | undefined;
}

const DAY = 86_400;

export function systemFacts(policy: PolicyData, systemIndex: number, probe: FactProbe): FactScope {
  const system = policy.systems[systemIndex]!;
  const base: SourcePath = ['systems', systemIndex];
  const sys = (...rest: (string | number)[]): SourcePath => [...base, ...rest];
  const values: FactScope['values'] = {};
  const at: FactScope['at'] = {};
  const set = (name: string, value: FactValue | undefined, path: SourcePath) => {
    values[name] = value;
    at[name] = path;
  };

  set('policy.name', policy.metadata.name, ['metadata', 'name']);
  set('system.name', system.name, sys('name'));
  set('source.kind', system.source.command ? 'command' : 'paths', sys('source'));

  const inherited = (key: 'classification' | 'owner' | 'runbook'): [string | undefined, SourcePath] =>
    system[key] !== undefined
      ? [system[key], sys(key)]
      : [policy.metadata[key], policy.metadata[key] ? ['metadata', key] : base];
  const [classification, classificationAt] = inherited('classification');
  set('classification', classification, classificationAt);
  const [owner, ownerAt] = inherited('owner');
  set('owner', owner, ownerAt);
  set('owner.valid', owner === undefined ? undefined : isValidOwner(owner), ownerAt);
  const [runbook, runbookAt] = inherited('runbook');
  set('runbook', runbook, runbookAt);
  set('runbook.status', runbook === undefined ? undefined : runbookStatus(runbook, probe), runbookAt);

  set('schedule', system.schedule, sys('schedule'));
  set('schedule.interval', intervalOf(system.schedule), sys('schedule'));
  set('rpo', parseDuration(system.rpo ?? ''), sys('rpo'));
  set('rto', parseDuration(system.rto ?? ''), sys('rto'));

  const retention = system.retention;
  set('retention.minimum', parseDuration(retention?.minimum ?? ''), sys('retention', 'minimum'));
  set('retention.maximum', parseDuration(retention?.maximum ?? ''), sys('retention', 'maximum'));
  set('retention.keepRules', Object.keys(retention?.keep ?? {}).length, sys('retention', 'keep'));

  const encryption = system.encryption;
  const recipients = encryption?.recipients ?? [];
  const passphrase = encryption?.passphrase;
  const passphraseKind =
    passphrase === undefined ? 'none' : typeof passphrase === 'string' ? 'literal' : 'env';
  set(
    'encryption',
    encryption !== undefined && (recipients.length > 0 || passphrase !== undefined),
    sys('encryption'),
  );
  set(
    'encryption.cipher',
    encryption ? (encryption.cipher ?? 'aes-256-gcm') : undefined,
    sys('encryption', 'cipher'),
  );
  set('encryption.recipients', recipients.length, sys('encryption', 'recipients'));
  set('encryption.passphrase', passphraseKind, sys('encryption', 'passphrase'));
  const badKey = recipients.findIndex((p) => !staysInside(p));
  set(
    'encryption.keyPathsInRepository',
    badKey === -1,
    badKey === -1 ? sys('encryption', 'recipients') : sys('encryption', 'recipients', badKey),
  );

  const [keyStatus, keyIndex] = recipientKeys(recipients, probe);
  set(
    'encryption.recipientKeys',
    keyStatus,
    keyIndex === -1 ? sys('encryption', 'recipients') : sys('encryption', 'recipients', keyIndex),
  );

  const repositories = system.repositories.map((name, i) =>
    repositoryFacts(name, policy.repositories?.[name], sys('repositories', i)),
  );
  const locations = new Set(repositories.map((r) => r.values.location).filter((l) => l !== undefined));
  set('repositories.count', repositories.length, sys('repositories'));
  set('repositories.locations', locations.size, sys('repositories'));
  set('offsite', locations.size >= 2, sys('repositories'));

  const drill = system.drill;
  set('drill', drill !== undefined, sys('drill'));
  set('drill.schedule', drill?.schedule, sys('drill', 'schedule'));
  set('drill.interval', intervalOf(drill?.schedule), sys('drill', 'schedule'));
  set(
    'drill.timeout',
    drill ? (parseDuration(drill.timeout ?? '') ?? values.rto) : undefined,
    drill?.timeout ? sys('drill', 'timeout') : sys('drill'),
  );
  set('drill.verifySteps', drill?.verify?.length ?? 0, sys('drill', 'verify'));
  set('drill.select', drill ? (drill.select?.algorithm ?? 'latest') : undefined, sys('drill', 'select'));

  const scope: FactScope = { values, at, lists: { repositories }, self: base };
  for (const repository of repositories) repository.parent = scope;
  return scope;
}

function repositoryFacts(name: string, repo: RepositoryData | undefined, reference: SourcePath): FactScope {
  const values: FactScope['values'] = { name };
  const at: FactScope['at'] = {};
  const node: SourcePath = ['repositories', name];
  const s3 = repo?.s3;
  if (s3) {
    const lock = s3.objectLock;
    Object.assign(values, {
      kind: 's3',
      region: s3.region,
      endpoint: s3.endpoint,
      tls: s3.endpoint === undefined || s3.endpoint.toLowerCase().startsWith('https://'),
      location: locationOf(s3.endpoint, s3.region),
      objectLock: lock !== undefined,
      'objectLock.mode': lock?.mode,
      'objectLock.retention': lock ? (lock.days ?? 0) * DAY + (lock.years ?? 0) * 365 * DAY : undefined,
    });
    Object.assign(at, {
      region: [...node, 's3', 'region'],
      endpoint: [...node, 's3', 'endpoint'],
      tls: [...node, 's3', 'endpoint'],
      location: [...node, 's3'],
      objectLock: [...node, 's3', 'objectLock'],
      'objectLock.mode': [...node, 's3', 'objectLock', 'mode'],
      'objectLock.retention': [...node, 's3', 'objectLock'],
    });
  } else if (repo?.local) {
    Object.assign(values, { kind: 'local', tls: true, location: 'local', objectLock: false });
    Object.assign(at, { objectLock: [...node, 'local'] });
  }
  // A repository the policy does not define is a reference problem reported by the loader.
  return { values, at, lists: {}, self: repo ? node : reference };
}

function intervalOf(schedule: string | undefined): number | undefined {
  if (schedule === undefined) return undefined;
  const parsed = parseCron(schedule);
  return parsed.ok ? cronMaxIntervalSeconds(parsed.cron) : undefined;
}

/**
 * Where an S3 repository is: provider and region. AWS endpoints (`s3.eu-west-1.amazonaws.com`, dual-stack,
 * FIPS) count as AWS, so an explicit endpoint is not mistaken for another provider. An AWS repository with
 * no region has no known location: it cannot prove that it is offsite.
 */
function locationOf(endpoint: string | undefined, region: string | undefined): string | undefined {
  let host = 'aws';
  if (endpoint !== undefined) {
    try {
      host = new URL(endpoint).hostname.toLowerCase();
    } catch {
      host = endpoint.toLowerCase();
    }
  }
  const aws = host === 'aws' || host.endsWith('.amazonaws.com') || host === 'amazonaws.com';
  if (aws) {
    const fromHost = /(?:^|[.-])s3[.-](?:dualstack\.|fips\.)*([a-z]{2}(?:-gov)?-[a-z]+-\d)\./.exec(host)?.[1];
    const known = region ?? fromHost;
    return known === undefined ? undefined : `aws:${known}`;
  }
  return `${host}:${region ?? ''}`;
}

function isValidOwner(owner: string): boolean {
  return (
    /^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]{1,100})?$/.test(owner) ||
    /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(owner)
  );
}

/** A relative path that cannot leave the repository: not absolute, no `..`, no backslashes. */
export function staysInside(path: string): boolean {
  if (path.startsWith('/') || path.startsWith('~') || /^[A-Za-z]:/.test(path) || path.includes('\\'))
    return false;
  return !path.split('/').some((part) => part === '..');
}

const KEY_STATUS_ORDER = ['private-key', 'missing-file', 'not-a-public-key', 'public-keys'] as const;

/** The worst of the recipient key files, and which one it is (-1 when all are fine or there are none). */
function recipientKeys(paths: readonly string[], probe: FactProbe): [string, number] {
  if (paths.length === 0) return ['none', -1];
  let worst = KEY_STATUS_ORDER.length - 1;
  let at = -1;
  paths.forEach((path, index) => {
    if (!staysInside(path)) return; // RB-ENC-002's concern; never read
    const rank = KEY_STATUS_ORDER.indexOf(keyFileStatus(probe.readHead(path, 64)));
    if (rank < worst) {
      worst = rank;
      at = index;
    }
  });
  return [KEY_STATUS_ORDER[worst]!, at];
}

/** What the start of a key file says it is: an armored block's header, or a binary packet's tag. */
export function keyFileStatus(head: Uint8Array | undefined): (typeof KEY_STATUS_ORDER)[number] {
  if (head === undefined) return 'missing-file';
  const text = new TextDecoder('latin1').decode(head).trimStart();
  if (text.startsWith('-----BEGIN PGP PRIVATE KEY BLOCK-----')) return 'private-key';
  if (text.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----')) return 'public-keys';
  const first = head[0];
  if (first === undefined || (first & 0x80) === 0) return 'not-a-public-key';
  // Binary OpenPGP: the packet tag is bits 5-0 (new format) or 5-2 (old format).
  const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
  if (tag === 5 || tag === 7) return 'private-key';
  return tag === 6 ? 'public-keys' : 'not-a-public-key';
}

function runbookStatus(runbook: string, probe: FactProbe): string {
  if (/^https:\/\//i.test(runbook)) return 'url';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(runbook)) return 'insecure-url';
  if (!staysInside(runbook)) return 'outside-repository';
  return probe.fileExists(runbook.replace(/#.*$/, '')) ? 'file' : 'missing-file';
}
