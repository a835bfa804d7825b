import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';

const CLI = join(REPO_ROOT, 'dist/cli.js');
const cli = (...args: string[]) => runNode([CLI, ...args], { cwd: REPO_ROOT });

describe('the restorable CLI (dist/cli.js)', () => {
  for (const name of readdirSync(join(REPO_ROOT, 'examples/pass'))) {
    it(`check examples/pass/${name} exits 0`, () => {
      const run = cli('check', `examples/pass/${name}`, '--no-color');
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.stdout).toMatch(/0 failed, 0 problems\n$/);
    });
  }

  for (const name of readdirSync(join(REPO_ROOT, 'examples/fail'))) {
    it(`check examples/fail/${name} exits 1 and names each expected rule at file:line:col`, () => {
      const path = `examples/fail/${name}`;
      const header = /^# expect-fail: (.+)$/m.exec(readFileSync(join(REPO_ROOT, path), 'utf8'));
      expect(header).not.toBeNull();
      const run = cli('check', path, '--no-color');
      expect(run.status).toBe(1);
      for (const rule of header![1]!.split(',').map((r) => r.trim())) {
        expect(run.stdout).toMatch(
          new RegExp(`^${path.replace(/\./g, '\\.')}:\\d+:\\d+ +\\S+ +${rule} `, 'm'),
        );
      }
    });
  }

  it('--format json prints the whole report', () => {
    const run = cli('check', 'examples/pass', '--format', 'json');
    const report = JSON.parse(run.stdout);
    expect(report.schemaVersion).toBe(1);
    expect(report.counts.failed).toBe(0);
    expect(report.systems.length).toBeGreaterThanOrEqual(3);
  });

  it('usage errors exit 2 with a message', () => {
    const unknown = cli('frobnicate');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    const failOn = cli('check', '--fail-on', 'severe');
    expect(failOn.status).toBe(2);
    expect(failOn.stderr).toContain(
      '--fail-on must be one of critical, high, medium, low, never, not "severe"',
    );
    const option = cli('check', '--nope');
    expect(option.status).toBe(2);
    expect(option.stderr).toContain("Unknown option '--nope'");
  });

  it('--version prints the package version', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(cli('--version').stdout).toBe(`${pkg.version}\n`);
  });
});
