import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/commands/check.ts';
import type { Finding } from '../src/controls/result.ts';
import { parseYamlFile, YAML_LIMITS } from '../src/policy/yaml-file.ts';
import { workspace } from './helpers/workspace.ts';

const VALID = `apiVersion: restorable/v1
kind: BackupPolicy
metadata:
  name: shop
  owner: "@acme/shop"
repositories:
  primary: { local: { path: backups } }
systems:
  - name: shop-db
    source: { command: [pg_dump, shop] }
    repositories: [primary]
`;

function problems(files: Record<string, string | Uint8Array>, paths: string[] = []): Finding[] {
  const report = runCheck({ root: workspace(files), paths });
  return report.findings.filter((f) => f.kind === 'problem');
}

function only(list: Finding[]): Finding {
  expect(list).toHaveLength(1);
  return list[0]!;
}

describe('YAML loading', () => {
  it('loads a valid policy without problems', () => {
    expect(problems({ '.restorable/shop.yaml': VALID })).toEqual([]);
  });

  it('reports a duplicate key at the second key', () => {
    const text = VALID.replace('kind: BackupPolicy\n', 'kind: BackupPolicy\nkind: BackupPolicy\n');
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.ruleId).toBe('yaml/duplicate-key');
    expect(p.message).toBe('duplicate key `kind`');
    expect([p.location.file, p.location.line, p.location.column]).toEqual(['.restorable/shop.yaml', 3, 1]);
  });

  it('stops an alias bomb quickly with a clear error', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const started = performance.now();
    const p = only(problems({ '.restorable/bomb.yaml': `${levels.join('\n')}\n` }));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(p.ruleId).toBe('yaml/alias-limit');
    expect(p.message).toContain(String(YAML_LIMITS.maxNodes));
  });

  it('refuses an alias to an enclosing node (a cycle) as it refuses a bomb, without a crash', () => {
    const text =
      'apiVersion: restorable/v1\nkind: BackupPolicy\nmetadata: &m { name: x, owner: a@b.c, self: *m }\n';
    const p = only(problems({ '.restorable/cycle.yaml': text }));
    expect(p.ruleId).toBe('yaml/alias-limit');
  });

  it('reads no policy, profile or control that a symbolic link leads outside the repository to', () => {
    // What a pull request could add to make check parse files of the runner and quote them back.
    const outside = workspace({
      'secret.yaml': VALID.replace('name: shop\n', 'name: runner-secret-sentinel\n'),
      'config.yaml': 'apiVersion: restorable/v1\nkind: Config\nfailOn: never\n',
      'control.yaml': 'id: RB-SENTINEL-001\n',
    });
    const root = workspace({ '.restorable/shop.yaml': VALID, '.restorable/controls/.keep': '' });
    symlinkSync(join(outside, 'secret.yaml'), join(root, '.restorable/linked.yaml'));
    symlinkSync(join(outside, 'config.yaml'), join(root, '.restorable/config.yaml'));
    symlinkSync(join(outside, 'control.yaml'), join(root, '.restorable/controls/linked.yaml'));
    const report = runCheck({ root, paths: [] });
    const found = report.findings
      .filter((f) => f.kind === 'problem')
      .map((f) => `${f.ruleId} ${f.location.file}`);
    expect(found.sort()).toEqual([
      'config/outside .restorable/config.yaml',
      'control/outside .restorable/controls/linked.yaml',
      'policy/outside .restorable/linked.yaml',
    ]);
    expect(JSON.stringify(report)).not.toContain('sentinel');
    expect(JSON.stringify(report)).not.toContain('SENTINEL');
    // A link that stays inside the repository is read as usual.
    const inside = workspace({ 'policies/shop.yaml': VALID });
    symlinkSync(join(inside, 'policies/shop.yaml'), join(inside, 'policies/alias.yaml'));
    expect(
      runCheck({ root: inside, paths: ['policies/alias.yaml'] }).findings.filter((f) => f.kind === 'problem'),
    ).toEqual([]);
  });

  it('rejects bytes that are not UTF-8 and names the line', () => {
    const bytes = Buffer.concat([
      Buffer.from('apiVersion: restorable/v1\nkind: Backup'),
      Buffer.from([0xc3, 0x28]),
    ]);
    const p = only(problems({ '.restorable/bad.yaml': bytes }));
    expect(p.ruleId).toBe('yaml/encoding');
    expect([p.location.line, p.location.column]).toEqual([2, 13]);
  });

  it('rejects files over the size limit without parsing them', () => {
    const big = `${VALID}# ${'x'.repeat(YAML_LIMITS.maxBytes)}\n`;
    const p = only(problems({ '.restorable/big.yaml': big }));
    expect(p.ruleId).toBe('yaml/too-large');
  });

  it('reports syntax errors at their position', () => {
    const p = only(problems({ '.restorable/s.yaml': 'apiVersion: restorable/v1\nmetadata: [\n' }));
    expect(p.ruleId).toBe('yaml/syntax');
    expect(p.location.line).toBeGreaterThanOrEqual(2);
  });

  it('accepts a byte-order mark and CRLF line ends', () => {
    const text = `\ufeff${VALID.replace(/\n/g, '\r\n')}`;
    expect(problems({ '.restorable/shop.yaml': text })).toEqual([]);
  });

  it('reads several documents in one file and locates each', () => {
    const second = VALID.replace('name: shop\n', 'name: shop-two\n');
    const file = parseYamlFile('p.yaml', Buffer.from(`${VALID}---\n${second}`));
    expect(file.problems).toEqual([]);
    expect(file.documents).toHaveLength(2);
    expect(file.documents[1]!.locate(['metadata', 'name']).line).toBe(16);
  });

  it('reports an empty policy file instead of passing it silently', () => {
    for (const content of ['', '# only a comment\n', '\ufeff', '   \n']) {
      const p = only(problems({ '.restorable/empty.yaml': content }));
      expect(p.ruleId).toBe('policy/empty');
    }
  });

  it('refuses deep flow nesting before parsing, the same way every time', () => {
    const deep = `apiVersion: restorable/v1\nmetadata: ${'['.repeat(500)}${']'.repeat(500)}\n`;
    const p = only(problems({ '.restorable/deep.yaml': deep }));
    expect(p.ruleId).toBe('yaml/too-deep');
    expect([p.location.line, p.location.column]).toEqual([2, 11 + YAML_LIMITS.maxDepth]);
  });

  it('a mistake in one document does not hide the others', () => {
    const broken = VALID.replace('name: shop\n', 'name: broken\n').replace(
      'kind: BackupPolicy\n',
      'kind: BackupPolicy\nkind: Again\n',
    );
    const typo = VALID.replace('name: shop\n', 'name: typo\n').replace(
      'repositories: [primary]',
      'repositories: [primari]',
    );
    const list = problems({ '.restorable/three.yaml': `${VALID}---\n${broken}---\n${typo}` });
    expect(list.map((p) => [p.ruleId, p.location.line])).toEqual([
      ['yaml/duplicate-key', 15],
      ['policy/unknown-repository', 36],
    ]);
  });

  it('survives extreme nesting', () => {
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}\n`;
    const list = problems({ '.restorable/deep.yaml': deep });
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((p) => p.location.file === '.restorable/deep.yaml')).toBe(true);
  });
});

describe('schema errors name the node and what to write', () => {
  it('a misspelt key points at the key and suggests the right one', () => {
    const text = VALID.replace(
      '    repositories: [primary]\n',
      '    repositories: [primary]\n    retension: { minimum: 35d }\n',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.ruleId).toBe('policy/schema/additionalProperties');
    expect(p.message).toBe('unknown key `retension` in `systems[0]`');
    expect(p.remediation).toContain('Did you mean `retention`?');
    expect([p.location.line, p.location.column]).toEqual([12, 5]);
  });

  it('a wrong type names what was found', () => {
    const p = only(problems({ '.restorable/shop.yaml': VALID.replace('name: shop-db', 'name: 42') }));
    expect(p.ruleId).toBe('policy/schema/type');
    expect(p.message).toBe('`systems[0].name` must be a string, found a number (42)');
    expect([p.location.line, p.location.column]).toEqual([9, 11]);
  });

  it('a bad cron expression is an error at its line, with the reason', () => {
    const text = VALID.replace(
      '    repositories: [primary]\n',
      '    repositories: [primary]\n    schedule: "0 25 * * *"\n',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.ruleId).toBe('policy/schema/format');
    expect(p.message).toContain('hour field "25"');
    expect(p.location.line).toBe(12);
  });

  it('a bad duration is one error, not two', () => {
    const text = VALID.replace(
      '    repositories: [primary]\n',
      '    repositories: [primary]\n    rpo: 6 hours\n',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.message).toBe('`systems[0].rpo`: "6 hours" is not a valid duration');
  });

  it('a missing required key names it and says what it is', () => {
    const p = only(
      problems({ '.restorable/shop.yaml': VALID.replace('    source: { command: [pg_dump, shop] }\n', '') }),
    );
    expect(p.ruleId).toBe('policy/schema/required');
    expect(p.message).toBe('`systems[0]` is missing `source`');
    expect(p.location.line).toBe(9);
  });

  it('both command and paths in a source is one clear error', () => {
    const text = VALID.replace(
      'source: { command: [pg_dump, shop] }',
      'source: { command: [pg_dump], paths: [data] }',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.message).toBe('`systems[0].source` sets `command` and `paths`; only one is allowed');
  });

  it('an unknown repository suggests the nearest name', () => {
    const p = only(
      problems({
        '.restorable/shop.yaml': VALID.replace('repositories: [primary]', 'repositories: [primari]'),
      }),
    );
    expect(p.ruleId).toBe('policy/unknown-repository');
    expect(p.remediation).toBe('Did you mean `primary`?');
    expect([p.location.line, p.location.column]).toEqual([11, 20]);
  });

  it('duplicate policy names across files are reported at the second', () => {
    const list = problems({ '.restorable/a.yaml': VALID, '.restorable/b.yaml': VALID });
    const p = only(list);
    expect(p.ruleId).toBe('policy/duplicate-name');
    expect(p.location.file).toBe('.restorable/b.yaml');
    expect(p.message).toContain('.restorable/a.yaml:4');
  });
});

describe('discovery', () => {
  it('finds .restorable/**/*.{yml,yaml} but not the config or organisation controls', () => {
    const report = runCheck({
      root: workspace({
        '.restorable/shop.yaml': VALID,
        '.restorable/nested/other.yml': VALID.replace('name: shop\n', 'name: other\n'),
        '.restorable/config.yaml': 'apiVersion: restorable/v1\nkind: Config\n',
        '.restorable/controls/README.yaml': 'not: a policy\n',
      }),
      paths: [],
    });
    expect(report.files).toEqual(['.restorable/nested/other.yml', '.restorable/shop.yaml']);
  });

  it('a path that does not exist is a problem, not a silent pass', () => {
    const report = runCheck({ root: workspace({}), paths: ['policies/missing.yaml'] });
    expect(report.failed).toBe(true);
    expect(report.findings.map((f) => f.ruleId)).toEqual(['policy/not-found']);
  });

  it('no policy at all fails', () => {
    const report = runCheck({ root: workspace({ 'README.md': '# hi\n' }), paths: [] });
    expect(report.failed).toBe(true);
    expect(report.findings.map((f) => f.ruleId)).toEqual(['policy/none-found']);
  });
});

describe('cross-checks the schema cannot express', () => {
  it('a field of the other source kind is named at its key', () => {
    const text = VALID.replace(
      'source: { command: [pg_dump, shop] }',
      'source: { command: [pg_dump, shop], exclude: ["*.tmp"] }',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.ruleId).toBe('policy/source-field');
    expect(p.message).toBe('`exclude` applies to a `paths` source; the source of `shop-db` is a command');
    expect([p.location.line, p.location.column]).toEqual([10, 41]);
  });

  it('an unknown placeholder in a verify command is named with the ones that exist', () => {
    const text = VALID.replace(
      '    repositories: [primary]\n',
      '    repositories: [primary]\n    drill:\n      verify: [ { command: [pg_restore, --list, "{restore.dir}/x.dump"] } ]\n',
    );
    const p = only(problems({ '.restorable/shop.yaml': text }));
    expect(p.ruleId).toBe('policy/placeholder');
    expect(p.message).toBe('unknown placeholder `{restore.dir}` in a verify command of `shop-db`');
    expect(p.remediation).toBe(
      'Use one of `{restore.path}`, `{restore.file}`, `{snapshot.id}`, `{snapshot.time}`, `{system.name}`, `{repository.name}`, `{drill.id}`.',
    );
    expect(p.location.line).toBe(13);
  });
});
