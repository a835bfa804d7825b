import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/commands/check.ts';

/** The examples name runbooks and keys relative to the repository root, so that is where check runs. */
const ROOT = fileURLToPath(new URL('../', import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(new URL(`../${dir}/`, import.meta.url))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => `${dir}/${name}`);
}

const PASS = yamlFiles('examples/pass');
const FAIL = yamlFiles('examples/fail');

/** The rule ids listed in a `# expect-fail: A, B` header line. */
function expectedFailures(file: string): string[] {
  const text = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
  const header = /^# expect-fail:(.*)$/m.exec(text);
  if (!header) throw new Error(`${file} has no "# expect-fail:" header`);
  return header[1]!
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '')
    .sort();
}

function lineCount(file: string): number {
  return readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').split('\n').length;
}

describe('examples/pass', () => {
  it('holds the shipped examples', () => {
    expect(PASS).toEqual(
      expect.arrayContaining([
        'examples/pass/files-local-dir.yaml',
        'examples/pass/payments-postgres-s3.yaml',
        'examples/pass/platform-multi.yaml',
      ]),
    );
  });

  it.each(PASS)('%s passes every control with the default profile', (file) => {
    const report = runCheck({ root: ROOT, paths: [file] });
    const failing = report.findings.filter((f) => f.status === 'fail');
    expect(failing).toEqual([]);
    expect(report.counts.problems).toBe(0);
    expect(report.counts.failed).toBe(0);
    expect(report.failed).toBe(false);
    expect(report.counts.systems).toBeGreaterThan(0);
    expect(report.counts.passed).toBeGreaterThan(0);
    expect(report.files).toEqual([file]);
  });

  it('every policy starts with the schema comment and says what it shows', () => {
    for (const file of PASS) {
      const [first, second] = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').split('\n');
      expect(first, file).toBe('# yaml-language-server: $schema=../../schemas/policy.schema.json');
      expect(second, file).toMatch(/^# \S/);
    }
  });

  it('platform-multi.yaml holds two policies and at least three systems sharing repositories', () => {
    const report = runCheck({ root: ROOT, paths: ['examples/pass/platform-multi.yaml'] });
    expect(report.counts.policies).toBe(2);
    const platform = report.systems.filter((s) => s.policy === 'platform');
    expect(platform.length).toBeGreaterThanOrEqual(3);
    expect(new Set(report.systems.map((s) => s.policy)).size).toBe(2);
  });

  it('all pass examples together have unique policy names', () => {
    const report = runCheck({ root: ROOT, paths: ['examples/pass'] });
    expect(report.counts.problems).toBe(0);
    expect(report.failed).toBe(false);
    expect(report.files).toEqual(PASS);
  });
});

describe('examples/fail', () => {
  it('holds at least six failing policies', () => {
    expect(FAIL.length).toBeGreaterThanOrEqual(6);
  });

  it.each(FAIL)('%s fails exactly the rules in its expect-fail header', (file) => {
    const expected = expectedFailures(file);
    expect(expected.length, `${file}: empty expect-fail header`).toBeGreaterThan(0);

    const report = runCheck({ root: ROOT, paths: [file] });
    const failing = report.findings.filter((f) => f.status === 'fail');
    const actual = [...new Set(failing.map((f) => f.ruleId))].sort();
    expect(actual).toEqual(expected);
    expect(report.failed).toBe(true);

    const lines = lineCount(file);
    for (const finding of failing) {
      const where = `${finding.ruleId} at ${finding.location.file}:${finding.location.line}:${finding.location.column}`;
      expect(finding.location.file, where).toBe(file);
      expect(finding.location.line, where).toBeGreaterThanOrEqual(1);
      expect(finding.location.line, where).toBeLessThanOrEqual(lines);
      expect(finding.location.column, where).toBeGreaterThanOrEqual(1);
      expect(finding.message, where).not.toBe('');
    }
  });

  it('every policy starts with the schema comment, says what it shows and lists its failures', () => {
    for (const file of FAIL) {
      const [first, second, third] = readFileSync(new URL(`../${file}`, import.meta.url), 'utf8').split('\n');
      expect(first, file).toBe('# yaml-language-server: $schema=../../schemas/policy.schema.json');
      expect(second, file).toMatch(/^# (?!expect-fail:)\S/);
      expect(third, file).toMatch(/^# expect-fail: /);
    }
  });

  it('covers the failures the examples are meant to show', () => {
    const all = new Set(FAIL.flatMap(expectedFailures));
    for (const id of [
      'RB-RET-001',
      'RB-RET-002',
      'RB-ENC-001',
      'RB-ENC-002',
      'RB-OFF-001',
      'RB-IMM-001',
      'RB-TLS-001',
      'RB-SCHED-002',
      'RB-RPO-002',
      'RB-DRILL-001',
      'RB-DRILL-002',
      'RB-DRILL-003',
      'RB-GOV-001',
      'RB-GOV-002',
      'policy/schema/additionalProperties',
      'policy/schema/format',
    ]) {
      expect(all.has(id), id).toBe(true);
    }
  });
});
