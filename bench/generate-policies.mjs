#!/usr/bin/env node
// Writes realistic backup policies for benchmarking `restorable check`.
//
//   node bench/generate-policies.mjs <out-dir> [files=1000] [systems-per-file=10] [seed=1]
//
// Files go to <out-dir>/.restorable/policies/<team>/<policy>.yaml. They vary as real ones do: several
// repository layouts (AWS in two regions, AWS plus an S3-compatible provider, a local directory plus a
// bucket), command and path sources, schedules from every 15 minutes to weekly, keep rules, Object Lock,
// drills and verify steps. About one system in eight breaks one control (no drill, a literal passphrase, a
// too-short retention, a plain-http endpoint, ...). The policies point to the runbook RUNBOOK_PATH, which
// the caller copies into <out-dir>; a few point to a missing file or an https:// URL instead.
// Prints one JSON line: what was written.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { random } from './random.mjs';

/** Where the policies say the runbook is, relative to the out dir. */
const RUNBOOK_PATH = 'docs/runbooks/recovery.md';

const USAGE = 'usage: node bench/generate-policies.mjs <out-dir> [files=1000] [systems-per-file=10] [seed=1]';

const TEAMS = [
  'payments',
  'identity',
  'search',
  'billing',
  'platform',
  'data',
  'growth',
  'support',
  'mobile',
  'infra',
];
const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'];
const CLASSIFICATIONS = ['internal', 'confidential', 'restricted', 'public'];

/** Source commands, by kind of system. */
const SOURCES = [
  { kind: 'postgres', command: ['pg_dump', '--format=custom', '--dbname=$DATABASE_URL'], file: 'db.dump' },
  { kind: 'mysql', command: ['mysqldump', '--single-transaction', '--routines', 'app'], file: 'db.sql' },
  { kind: 'mongo', command: ['mongodump', '--archive', '--gzip', '--uri=$MONGO_URI'], file: 'db.archive.gz' },
  { kind: 'redis', command: ['redis-cli', '--rdb', '-'], file: 'dump.rdb' },
  {
    kind: 'volume',
    command: ['tar', '--create', '--gzip', '--file=-', '--directory=/srv/data', '.'],
    file: 'data.tar.gz',
  },
  { kind: 'files', paths: ['data/uploads', 'data/exports'], exclude: ['**/*.tmp', '**/cache/**'] },
  { kind: 'config', paths: ['etc/app', 'etc/nginx'] },
];

/** Backup schedules with the RPO each meets. */
const SCHEDULES = [
  { cron: '*/15 * * * *', rpo: '15m' },
  { cron: '5 * * * *', rpo: '1h' },
  { cron: '0 */4 * * *', rpo: '4h' },
  { cron: '0 */6 * * *', rpo: '6h' },
  { cron: '30 1 * * *', rpo: '1d' },
  { cron: '0 2,14 * * *', rpo: '12h' },
  { cron: '@hourly', rpo: '2h' },
  { cron: '0 */12 * * *', rpo: '12h' },
];

const DRILL_SCHEDULES = ['0 5 * * 1', '0 6 * * 0', '30 4 1 * *', '0 7 * * 3', '0 3 1,15 * *', '0 2 * * 6'];

/** Ways a system breaks a control; each is applied to about one system in eight. */
const FLAWS = [
  'no-drill', // RB-DRILL-001
  'literal-passphrase', // RB-ENC-002
  'no-encryption', // RB-ENC-001
  'slow-schedule', // RB-RPO-002: daily backups for a 1h RPO
  'short-retention', // RB-RET-001
  'missing-runbook', // RB-GOV-002
  'bad-owner', // RB-GOV-001
  'rare-drill', // RB-DRILL-002: quarterly
  'long-drill', // RB-DRILL-003: drill timeout above the RTO
  'no-rpo', // RB-RPO-001
];

const q = (text) => JSON.stringify(text);
const flow = (list) =>
  `[${list.map((s) => (/^[\w./=$-]+$/.test(s) && !/^[-]/.test(s) ? s : q(s))).join(', ')}]`;

function repositories(rng, team) {
  const layout = rng.pick([
    'aws-two-regions',
    'aws-two-regions',
    'aws-and-b2',
    'local-and-aws',
    'minio',
    'aws-unlocked',
  ]);
  const [a, b] = [rng.pick(REGIONS), rng.pick(REGIONS.filter((r) => r !== REGIONS[0]))];
  const lockDays = rng.pick([35, 40, 60, 90]);
  const lock = `{ mode: ${rng.chance(0.9) ? 'compliance' : 'governance'}, days: ${lockDays} }`;
  const s3 = (name, bucket, region, extra = '') =>
    `  ${name}:\n    s3:\n      bucket: ${bucket}\n      region: ${region}\n      prefix: ${team}/\n${extra}`;
  const lines = [];
  const names = [];
  switch (layout) {
    case 'aws-two-regions':
      lines.push(s3('primary', `acme-${team}-backups`, a, `      objectLock: ${lock}\n`));
      lines.push(s3('offsite', `acme-${team}-dr`, a === b ? 'eu-north-1' : b, `      objectLock: ${lock}\n`));
      names.push('primary', 'offsite');
      break;
    case 'aws-and-b2':
      lines.push(s3('primary', `acme-${team}-backups`, a, `      objectLock: ${lock}\n`));
      lines.push(
        s3(
          'b2',
          `acme-${team}-b2`,
          'eu-central-003',
          `      endpoint: https://s3.eu-central-003.backblazeb2.com\n      forcePathStyle: true\n      checksums: when-required\n      objectLock: ${lock}\n`,
        ),
      );
      names.push('primary', 'b2');
      break;
    case 'local-and-aws':
      lines.push(`  nas:\n    local:\n      path: /mnt/nas/backups/${team}\n`);
      lines.push(
        s3('cloud', `acme-${team}-cloud`, a, `      storageClass: STANDARD_IA\n      objectLock: ${lock}\n`),
      );
      names.push('nas', 'cloud');
      break;
    case 'minio':
      // Plain http to an S3-compatible store fails RB-TLS-001.
      lines.push(s3('primary', `acme-${team}-backups`, a, `      objectLock: ${lock}\n`));
      lines.push(
        s3(
          'minio',
          `${team}-dr`,
          'dc-2',
          `      endpoint: http://minio.dc2.internal:9000\n      forcePathStyle: true\n`,
        ),
      );
      names.push('primary', 'minio');
      break;
    default:
      // No Object Lock fails RB-IMM-001.
      lines.push(s3('primary', `acme-${team}-backups`, a));
      lines.push(s3('offsite', `acme-${team}-dr`, a === 'us-west-2' ? 'us-east-1' : 'us-west-2'));
      names.push('primary', 'offsite');
  }
  return { yaml: `repositories:\n${lines.join('')}`, names, lockDays };
}

function system(rng, name, repos, flaw) {
  const source = rng.pick(SOURCES);
  const schedule = flaw === 'slow-schedule' ? { cron: '0 1 * * *', rpo: '1h' } : rng.pick(SCHEDULES);
  const rto = rng.pick(['1h', '2h', '4h', '8h']);
  const minimumDays = flaw === 'short-retention' ? 7 : repos.lockDays;
  const out = [`  - name: ${name}`];
  if (rng.chance(0.3)) out.push(`    description: ${source.kind} data of ${name}.`);
  if (flaw === 'bad-owner') out.push('    owner: the backup people');
  else if (rng.chance(0.2)) out.push(`    owner: "@acme/${name.split('-')[0]}-oncall"`);
  if (flaw === 'missing-runbook') out.push(`    runbook: docs/runbooks/${name}.md`);
  else if (rng.chance(0.1)) out.push(`    runbook: https://runbooks.example.com/${name}`);
  out.push('    source:');
  if (source.command) {
    out.push(`      command: ${flow(source.command)}`);
    out.push(`      filename: ${source.file}`);
    if (rng.chance(0.5)) out.push(`      timeout: ${rng.pick(['30m', '1h', '2h'])}`);
  } else {
    out.push(`      paths: ${flow(source.paths)}`);
    if (source.exclude) out.push(`      exclude: ${flow(source.exclude)}`);
  }
  out.push(`    schedule: ${q(schedule.cron)}`);
  if (flaw !== 'no-rpo') out.push(`    rpo: ${schedule.rpo}`, `    rto: ${rto}`);
  out.push('    retention:');
  out.push(
    rng.chance(0.5)
      ? `      keep: { daily: ${rng.pick([7, 14, 30])}, weekly: ${rng.pick([4, 8])}, monthly: ${rng.pick([6, 12])} }`
      : `      keep:\n        hourly: 48\n        daily: 14\n        yearly: ${rng.pick([1, 3, 7])}`,
  );
  out.push(`      minimum: ${minimumDays}d`, `      maximum: ${rng.pick(['1y', '2y', '400d', '7y'])}`);
  if (flaw === 'literal-passphrase') {
    out.push('    encryption:', '      passphrase: correct-horse-battery-staple');
  } else if (flaw !== 'no-encryption') {
    out.push('    encryption:');
    out.push(`      recipients: [keys/${rng.pick(['backup-ops', 'dr-team', 'security'])}.asc]`);
    if (rng.chance(0.6)) out.push('      passphrase: { env: RESTORABLE_PASSPHRASE }');
  }
  out.push(`    repositories: ${flow(rng.chance(0.05) ? [repos.names[0]] : repos.names)}`);
  if (flaw !== 'no-drill') {
    out.push('    drill:');
    out.push(`      schedule: ${q(flaw === 'rare-drill' ? '0 5 1 1,5,9 *' : rng.pick(DRILL_SCHEDULES))}`);
    if (rng.chance(0.5)) out.push(`      repository: ${repos.names[0]}`);
    out.push(
      rng.chance(0.6)
        ? `      select: { algorithm: random-within, window: ${rng.pick(['7d', '14d', '30d'])} }`
        : '      select: { algorithm: latest }',
    );
    if (flaw === 'long-drill') out.push('      timeout: 12h');
    else if (rng.chance(0.4)) out.push(`      timeout: ${rto}`);
    out.push('      verify:');
    out.push('        - name: restored files are there');
    out.push(`          command: [test, -s, "{restore.path}/${source.file ?? source.paths[0]}"]`);
    if (rng.chance(0.3)) out.push('          timeout: 10m');
  }
  return out.join('\n');
}

function policy(rng, index, systemsPerFile) {
  const team = TEAMS[index % TEAMS.length];
  const name = `${team}-${String(index).padStart(4, '0')}`;
  const repos = repositories(rng, team);
  const systems = [];
  let flawed = 0;
  for (let s = 0; s < systemsPerFile; s++) {
    const flaw = rng.chance(0.125) ? rng.pick(FLAWS) : undefined;
    if (flaw) flawed++;
    systems.push(system(rng, `${team}-svc-${s}`, repos, flaw));
  }
  const runbook = rng.chance(0.05) ? `https://runbooks.example.com/${name}` : RUNBOOK_PATH;
  const classification = rng.chance(0.03) ? undefined : rng.pick(CLASSIFICATIONS);
  const text = [
    `# Backups of the ${team} team (generated for benchmarks).`,
    'apiVersion: restorable/v1',
    'kind: BackupPolicy',
    'metadata:',
    `  name: ${name}`,
    `  owner: "@acme/${team}"`,
    ...(classification ? [`  classification: ${classification}`] : []),
    `  runbook: ${runbook}`,
    `  labels: { team: ${team}, generated: "true" }`,
    repos.yaml.trimEnd(),
    'systems:',
    ...systems,
    '',
  ].join('\n');
  return { team, name, text, flawed };
}

function main(argv) {
  const [out, filesText = '1000', systemsText = '10', seedText = '1'] = argv;
  const files = Number(filesText);
  const systemsPerFile = Number(systemsText);
  const seed = Number(seedText);
  if (
    !out ||
    !Number.isInteger(files) ||
    files < 1 ||
    !Number.isInteger(systemsPerFile) ||
    systemsPerFile < 1
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const rng = random(seed);
  const base = join(out, '.restorable', 'policies');
  rmSync(base, { recursive: true, force: true });
  let bytes = 0;
  let flawed = 0;
  for (let i = 0; i < files; i++) {
    const p = policy(rng, i, systemsPerFile);
    mkdirSync(join(base, p.team), { recursive: true });
    writeFileSync(join(base, p.team, `${p.name}.yaml`), p.text);
    bytes += Buffer.byteLength(p.text);
    flawed += p.flawed;
  }
  process.stdout.write(
    `${JSON.stringify({ dir: base, files, systems: files * systemsPerFile, flawedSystems: flawed, bytes, runbook: RUNBOOK_PATH })}\n`,
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
