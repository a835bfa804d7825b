import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCheck } from '../src/commands/check.ts';
import type { CheckReport, Finding } from '../src/controls/result.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const FIXTURES = 'test/fixtures/controls';

interface ControlFile {
  id: string;
  file: string;
  evaluation: 'static' | 'runtime';
}

/** Every shipped control, read from the directory itself, so a new control without fixtures fails here. */
const CONTROLS: ControlFile[] = readdirSync(join(ROOT, 'controls'))
  .filter((name) => /\.ya?ml$/.test(name))
  .sort()
  .map((name) => {
    const data = parse(readFileSync(join(ROOT, 'controls', name), 'utf8')) as {
      id: string;
      check: { static?: unknown; runtime?: unknown };
    };
    return { id: data.id, file: `controls/${name}`, evaluation: data.check.static ? 'static' : 'runtime' };
  });
const STATIC = CONTROLS.filter((c) => c.evaluation === 'static').map((c) => c.id);
const RUNTIME = CONTROLS.filter((c) => c.evaluation === 'runtime').map((c) => c.id);

/**
 * Where each failing fixture's finding must point: the line, and the text found there from the
 * reported column on (the YAML node that is wrong, or the nearest enclosing node when the value is
 * missing altogether).
 */
const FAIL_AT: Record<string, { line: number; at: string }> = {
  // the recipient key file that is missing
  'RB-ENC-003': { line: 21, at: 'examples/keys/missing.asc' },
  // no drill: the system
  'RB-DRILL-001': { line: 14, at: 'name: db' },
  'RB-DRILL-002': { line: 23, at: '"0 5 1 1,4,7,10 *"' },
  'RB-DRILL-003': { line: 24, at: '3h' },
  // no verify: the drill mapping, which begins at its first key
  'RB-DRILL-004': { line: 22, at: 'drill:' },
  'RB-ENC-001': { line: 20, at: '{ cipher: aes-256-gcm }' },
  'RB-ENC-002': { line: 22, at: 'hunter2-but-longer' },
  'RB-GOV-001': { line: 7, at: 'Operations Team' },
  'RB-GOV-002': { line: 16, at: 'docs/dr/no-such-runbook.md' },
  // no classification anywhere: the system
  'RB-GOV-003': { line: 13, at: 'name: db' },
  // no objectLock: the s3 mapping of the unlocked repository
  'RB-IMM-001': { line: 14, at: 's3: { bucket: acme-fixture-dr, region: eu-west-1 }' },
  'RB-IMM-002': { line: 17, at: '{ mode: compliance, days: 30 }' },
  'RB-IMM-003': { line: 15, at: '{ mode: compliance, years: 8 }' },
  'RB-IMM-004': { line: 16, at: 'governance' },
  'RB-OFF-001': { line: 21, at: '[primary, copy]' },
  'RB-RET-001': { line: 21, at: '14d' },
  'RB-RET-002': { line: 21, at: '10y' },
  'RB-RET-003': { line: 21, at: '30d' },
  // no rto: the system
  'RB-RPO-001': { line: 14, at: 'name: db' },
  'RB-RPO-002': { line: 16, at: '"0 */12 * * *"' },
  // no schedule: the system
  'RB-SCHED-001': { line: 14, at: 'name: db' },
  'RB-SCHED-002': { line: 16, at: '"0 2 * * 0"' },
  'RB-TLS-001': { line: 16, at: 'http://minio.dr.acme.example:9000' },
};

function fixture(id: string, kind: 'pass' | 'fail'): string {
  return `${FIXTURES}/${id}.${kind}.yaml`;
}

/** The one finding of a control for the one system of a fixture. */
function findingOf(report: CheckReport, id: string): Finding {
  const findings = report.findings.filter((f) => f.ruleId === id);
  expect(findings, `findings of ${id}`).toHaveLength(1);
  return findings[0]!;
}

function sourceAt(file: string, line: number, column: number): string {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  return (lines[line - 1] ?? '').slice(column - 1);
}

describe('the control library', () => {
  it('has static and runtime controls', () => {
    expect(STATIC.length).toBeGreaterThan(0);
    expect(RUNTIME.length).toBeGreaterThan(0);
  });

  it('every static control has a pass and a fail fixture, and an expected failure location', () => {
    const missing = STATIC.flatMap((id) => [
      ...(['pass', 'fail'] as const)
        .map((kind) => fixture(id, kind))
        .filter((path) => !existsSync(join(ROOT, path))),
      ...(FAIL_AT[id] ? [] : [`FAIL_AT['${id}']`]),
    ]);
    expect(missing).toEqual([]);
  });

  it('every fixture belongs to a static control', () => {
    const stray = readdirSync(join(ROOT, FIXTURES)).filter((name) => {
      const match = /^(.+)\.(pass|fail)\.yaml$/.exec(name);
      return !match || !STATIC.includes(match[1]!);
    });
    expect(stray).toEqual([]);
    expect(Object.keys(FAIL_AT).filter((id) => !STATIC.includes(id))).toEqual([]);
  });
});

describe.each(STATIC)('%s', (id) => {
  it('passes on its pass fixture', () => {
    const file = fixture(id, 'pass');
    const report = runCheck({ root: ROOT, paths: [file] });
    expect(report.findings.filter((f) => f.kind === 'problem')).toEqual([]);
    const finding = findingOf(report, id);
    expect(finding.status, finding.message).toBe('pass');
    expect(finding.location.file).toBe(file);
  });

  it('fails on its fail fixture, at the YAML node that is wrong', () => {
    const file = fixture(id, 'fail');
    const report = runCheck({ root: ROOT, paths: [file] });
    expect(report.findings.filter((f) => f.kind === 'problem')).toEqual([]);
    const finding = findingOf(report, id);
    expect(finding.status).toBe('fail');
    expect(finding.kind).toBe('control');
    expect(finding.system).toBe('db');
    expect(finding.message).not.toBe('');
    expect(finding.remediation ?? '').not.toBe('');
    expect(finding.location.file).toBe(file);
    const expected = FAIL_AT[id]!;
    expect(finding.location.line).toBe(expected.line);
    expect(sourceAt(file, finding.location.line, finding.location.column)).toMatch(
      new RegExp(`^${expected.at.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
    );
    expect(report.failed).toBe(true);
  });
});

describe('runtime controls', () => {
  const report = runCheck({ root: ROOT, paths: ['examples/pass/payments-postgres-s3.yaml'] });

  it.each(RUNTIME)('%s is listed as a runtime control and produces no findings in check', (id) => {
    const summary = report.controls.find((c) => c.id === id);
    expect(summary, id).toBeDefined();
    expect(summary!.evaluation).toBe('runtime');
    expect(summary!.source).toBe(CONTROLS.find((c) => c.id === id)!.file);
    expect(report.findings.filter((f) => f.ruleId === id)).toEqual([]);
  });

  it('static controls are listed as static, with one finding per system', () => {
    for (const id of STATIC) {
      expect(report.controls.find((c) => c.id === id)?.evaluation, id).toBe('static');
      expect(
        report.findings.filter((f) => f.ruleId === id),
        id,
      ).toHaveLength(report.systems.length);
    }
    expect(report.controls.map((c) => c.id).sort()).toEqual(CONTROLS.map((c) => c.id).sort());
  });
});

// ---------------------------------------------------------------------------------------------
// Profiles: .restorable/config.yaml and the organisation's own controls, in a scratch repository.

const POLICY_PATH = '.restorable/policies/app.yaml';

/** A policy that passes every shipped control; `lock` false leaves the S3 repositories unlocked. */
function appPolicy({ lock = true } = {}): string {
  const objectLock = lock ? ', objectLock: { mode: compliance, days: 35 }' : '';
  return [
    'apiVersion: restorable/v1',
    'kind: BackupPolicy',
    'metadata:',
    '  name: app',
    '  owner: "@acme/app"',
    '  classification: confidential',
    '  runbook: docs/runbook.md',
    'repositories:',
    `  primary: { s3: { bucket: acme-app, region: us-east-1${objectLock} } }`,
    `  offsite: { s3: { bucket: acme-app-dr, region: eu-west-1${objectLock} } }`,
    'systems:',
    '  - name: app-db',
    '    source: { command: [pg_dump, --format=custom] }',
    '    schedule: "0 */6 * * *"',
    '    rpo: 6h',
    '    rto: 2h',
    '    retention:',
    '      minimum: 35d',
    '      maximum: 7y',
    '    encryption: { passphrase: { env: RESTORABLE_PASSPHRASE } }',
    '    repositories: [primary, offsite]',
    '    drill:',
    '      schedule: "0 5 * * 1"',
    '      select: { algorithm: latest }',
    '      verify: [{ command: [pg_restore, --list, "{restore.path}/app-db.out"] }]',
    '',
  ].join('\n');
}
/** Lines of appPolicy(), for asserting locations. */
const LINE = { minimum: 18, repositories: 21 };

const CONFIG_HEAD = 'apiVersion: restorable/v1\nkind: Config\n';

const scratch: string[] = [];
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function repository(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'restorable-profile-'));
  scratch.push(root);
  const all: Record<string, string> = { 'docs/runbook.md': '# App runbook\n', ...files };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function fails(report: CheckReport): Finding[] {
  return report.findings.filter((f) => f.status === 'fail');
}

describe('profiles', () => {
  it('the scratch policy passes every control with the default profile', () => {
    const root = repository({ [POLICY_PATH]: appPolicy() });
    const report = runCheck({ root, paths: [] });
    expect(report.files).toEqual([POLICY_PATH]);
    expect(fails(report)).toEqual([]);
    expect(report.failed).toBe(false);
    expect(findingOf(report, 'RB-RET-001').status).toBe('pass');
  });

  it('a parameter override raises the minimum retention: a 35d policy fails a 365d profile', () => {
    const root = repository({
      [POLICY_PATH]: appPolicy(),
      '.restorable/config.yaml': `${CONFIG_HEAD}controls:\n  parameters:\n    RB-RET-001: { minimum: 365d }\n`,
    });
    const report = runCheck({ root, paths: [] });
    expect(report.counts.problems).toBe(0);
    expect(fails(report).map((f) => f.ruleId)).toEqual(['RB-RET-001']);
    const finding = findingOf(report, 'RB-RET-001');
    // 365d is exactly one year (a year counts 365 days); message and remediation show it the same way.
    expect(finding.message).toBe('minimum retention is 35d; the profile requires at least 1y');
    expect(finding.remediation).toBe(
      'Set `retention.minimum` to at least 1y, e.g. `retention: { minimum: 1y }`.',
    );
    expect(finding.location).toMatchObject({ file: POLICY_PATH, line: LINE.minimum, column: 16 });
    expect(report.failed).toBe(true);
  });

  it('exclude with a wildcard removes the controls and their findings', () => {
    const unlocked = repository({ [POLICY_PATH]: appPolicy({ lock: false }) });
    const before = runCheck({ root: unlocked, paths: [] });
    expect(fails(before).map((f) => f.ruleId)).toEqual(['RB-IMM-001']);

    const root = repository({
      [POLICY_PATH]: appPolicy({ lock: false }),
      '.restorable/config.yaml': `${CONFIG_HEAD}controls:\n  exclude: [RB-IMM-*]\n`,
    });
    const report = runCheck({ root, paths: [] });
    expect(report.counts.problems).toBe(0);
    expect(report.findings.filter((f) => f.ruleId.startsWith('RB-IMM-'))).toEqual([]);
    expect(report.controls.filter((c) => c.id.startsWith('RB-IMM-'))).toEqual([]);
    expect(report.controls.length).toBe(CONTROLS.length - 4);
    expect(report.failed).toBe(false);
  });

  it('an unknown control id in parameters is a config/unknown-control problem at its key', () => {
    const config = [
      'apiVersion: restorable/v1',
      'kind: Config',
      'controls:',
      '  parameters:',
      '    RB-RET-001: { minimum: 35d }',
      '    RB-RET-099: { minimum: 365d }',
      '',
    ].join('\n');
    const root = repository({ [POLICY_PATH]: appPolicy(), '.restorable/config.yaml': config });
    const report = runCheck({ root, paths: [] });
    const problems = report.findings.filter((f) => f.kind === 'problem');
    expect(problems.map((f) => f.ruleId)).toEqual(['config/unknown-control']);
    expect(problems[0]!.message).toContain('RB-RET-099');
    expect(problems[0]!.location).toMatchObject({ file: '.restorable/config.yaml', line: 6, column: 5 });
    expect(problems[0]!.status).toBe('fail');
    expect(report.failed).toBe(true);
  });

  it('an exclude pattern that matches no control is a problem at the pattern', () => {
    const root = repository({
      [POLICY_PATH]: appPolicy(),
      '.restorable/config.yaml': `${CONFIG_HEAD}controls:\n  exclude:\n    - RB-DRILL-*\n    - RB-IMN-*\n`,
    });
    const report = runCheck({ root, paths: [] });
    const problems = report.findings.filter((f) => f.kind === 'problem');
    expect(problems.map((f) => f.ruleId)).toEqual(['config/unknown-control']);
    expect(problems[0]!.location).toMatchObject({ file: '.restorable/config.yaml', line: 6 });
  });

  it('a parameter the control does not have is a config/unknown-parameter problem', () => {
    const root = repository({
      [POLICY_PATH]: appPolicy(),
      '.restorable/config.yaml': `${CONFIG_HEAD}controls:\n  parameters:\n    RB-RET-001: { minimun: 365d }\n`,
    });
    const report = runCheck({ root, paths: [] });
    const problems = report.findings.filter((f) => f.kind === 'problem');
    expect(problems.map((f) => f.ruleId)).toEqual(['config/unknown-parameter']);
    expect(problems[0]!.location).toMatchObject({ file: '.restorable/config.yaml', line: 5 });
  });

  it('a severity override with failOn decides whether a failure fails the run', () => {
    const root = repository({
      [POLICY_PATH]: appPolicy({ lock: false }),
      '.restorable/config.yaml': `${CONFIG_HEAD}failOn: medium\ncontrols:\n  severity: { RB-IMM-001: low }\n`,
    });
    const report = runCheck({ root, paths: [] });
    const finding = findingOf(report, 'RB-IMM-001');
    expect(finding.status).toBe('fail');
    expect(finding.severity).toBe('low');
    expect(report.failOn).toBe('medium');
    expect(report.failed).toBe(false);
    expect(runCheck({ root, paths: [], failOn: 'low' }).failed).toBe(true);
  });

  describe("the organisation's own controls", () => {
    const acme = [
      'apiVersion: restorable/v1',
      'kind: Control',
      'id: ACME-001',
      'title: Three copies',
      'description: Every snapshot is written to at least three repositories (the 3-2-1 rule).',
      'criteria: { soc2: [A1.2], iso27001: [A.8.13] }',
      'severity: medium',
      'parameters:',
      '  copies: { type: number, default: 3, description: How many repositories receive each snapshot. }',
      'check:',
      '  static:',
      '    require: { fact: repositories.count, gte: { param: copies } }',
      '    message: "`{fact:system.name}` is written to {actual} repositories; ACME requires {expected}"',
      'remediation: List at least {param.copies} repositories under the system.',
      '',
    ].join('\n');

    it('are loaded from .restorable/controls and evaluated', () => {
      const root = repository({ [POLICY_PATH]: appPolicy(), '.restorable/controls/ACME-001.yaml': acme });
      const report = runCheck({ root, paths: [] });
      expect(report.counts.problems).toBe(0);
      expect(report.files).toEqual([POLICY_PATH]);
      const summary = report.controls.find((c) => c.id === 'ACME-001');
      expect(summary).toMatchObject({
        evaluation: 'static',
        severity: 'medium',
        source: '.restorable/controls/ACME-001.yaml',
        remediation: 'List at least 3 repositories under the system.',
      });
      expect(report.controls.length).toBe(CONTROLS.length + 1);
      expect(fails(report).map((f) => f.ruleId)).toEqual(['ACME-001']);
      const finding = findingOf(report, 'ACME-001');
      expect(finding.message).toBe('`app-db` is written to 2 repositories; ACME requires at least 3');
      expect(finding.location).toMatchObject({ file: POLICY_PATH, line: LINE.repositories });
    });

    it('take parameters from the profile like the shipped ones', () => {
      const root = repository({
        [POLICY_PATH]: appPolicy(),
        '.restorable/controls/ACME-001.yaml': acme,
        '.restorable/config.yaml': `${CONFIG_HEAD}controls:\n  parameters:\n    ACME-001: { copies: 2 }\n`,
      });
      const report = runCheck({ root, paths: [] });
      expect(report.counts.problems).toBe(0);
      expect(findingOf(report, 'ACME-001').status).toBe('pass');
      expect(report.failed).toBe(false);
    });

    it('a control that names an unknown fact is a problem, not a silent pass', () => {
      const broken = acme.replace('fact: repositories.count', 'fact: repositories.total');
      const root = repository({ [POLICY_PATH]: appPolicy(), '.restorable/controls/ACME-001.yaml': broken });
      const report = runCheck({ root, paths: [] });
      const problems = report.findings.filter((f) => f.kind === 'problem');
      expect(problems.map((f) => f.ruleId)).toEqual(['control/unknown-fact']);
      expect(problems[0]!.location.file).toBe('.restorable/controls/ACME-001.yaml');
      expect(report.controls.find((c) => c.id === 'ACME-001')).toBeUndefined();
      expect(report.failed).toBe(true);
    });
  });
});
