import { describe, expect, it } from 'vitest';
import type {
  CheckReport,
  ControlSummary,
  Finding,
  Severity,
  Status,
  SystemRef,
} from '../src/controls/result.ts';
import { annotationOverflow, selectAnnotations } from '../src/report/annotations.ts';
import { renderJson } from '../src/report/json.ts';
import { renderJunit } from '../src/report/junit.ts';
import { renderSarif } from '../src/report/sarif.ts';
import { renderSummary } from '../src/report/summary.ts';
import { renderText } from '../src/report/text.ts';

// ---------------------------------------------------------------------------------------------
// Fixtures

function control(id: string, overrides: Partial<ControlSummary> = {}): ControlSummary {
  return {
    id,
    title: `Title of ${id}`,
    description: `Description of ${id}.`,
    severity: 'high',
    evaluation: 'static',
    criteria: { soc2: ['A1.2'], iso27001: ['A.8.13'], nist80053: ['CP-9'] },
    remediation: `Remediate ${id}.`,
    source: 'controls/library.yaml',
    ...overrides,
  };
}

const RETENTION = control('RB-RET-001', {
  title: 'Minimum retention',
  severity: 'high',
  criteria: { soc2: ['A1.2', 'CC7.5'], iso27001: ['A.8.13'], nist80053: ['CP-9'] },
});
const ENCRYPTION = control('RB-ENC-001', { title: 'Encrypted backups', severity: 'critical' });
const DRILL = control('RB-DRL-001', { title: 'Restore drills', severity: 'medium', evaluation: 'runtime' });

function system(policy: string, name: string, file = `policies/${policy}.yaml`): SystemRef {
  return { policy, system: name, file };
}

let line = 0;
function finding(overrides: Partial<Finding> & { ruleId: string }): Finding {
  line += 1;
  const file = overrides.location?.file ?? 'policies/payments.yaml';
  return {
    kind: 'control',
    title: 'A control',
    severity: 'high',
    status: 'fail',
    policy: 'payments',
    system: 'payments-db',
    message: `message ${line}`,
    ...overrides,
    location: overrides.location ?? { file, line, column: 3, endLine: line, endColumn: 10 },
  };
}

function at(file: string, ln: number, column = 1): Finding['location'] {
  return { file, line: ln, column, endLine: ln, endColumn: column + 5 };
}

function evaluation(c: ControlSummary, s: SystemRef, status: Status, extra: Partial<Finding> = {}): Finding {
  return finding({
    ruleId: c.id,
    title: c.title,
    severity: c.severity,
    status,
    policy: s.policy,
    system: s.system,
    location: at(s.file, 10),
    message: `${c.id} ${status} on ${s.system}`,
    ...(status === 'fail' ? { remediation: c.remediation } : {}),
    ...extra,
  });
}

function problem(
  ruleId: string,
  severity: Severity,
  location: Finding['location'],
  message: string,
): Finding {
  return {
    kind: 'problem',
    ruleId,
    title: `Problem ${ruleId}`,
    severity,
    status: 'fail',
    location,
    message,
  };
}

function makeReport(parts: {
  controls?: ControlSummary[];
  systems?: SystemRef[];
  findings: Finding[];
  failOn?: Severity | 'never';
}): CheckReport {
  const controls = parts.controls ?? [RETENTION, ENCRYPTION, DRILL];
  const systems = parts.systems ?? [];
  const { findings } = parts;
  const controlFindings = findings.filter((f) => f.kind === 'control');
  const failing = controlFindings.filter((f) => f.status === 'fail');
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const f of failing) bySeverity[f.severity] += 1;
  const files = [...new Set([...systems.map((s) => s.file), ...findings.map((f) => f.location.file)])];
  const failOn = parts.failOn ?? 'high';
  return {
    tool: { name: 'restorable', version: '0.1.0' },
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 1234,
    files,
    systems,
    controls,
    findings,
    counts: {
      files: files.length,
      policies: new Set(systems.map((s) => s.policy)).size,
      systems: systems.length,
      controls: controls.length,
      passed: controlFindings.filter((f) => f.status === 'pass').length,
      failed: failing.length,
      notApplicable: controlFindings.filter((f) => f.status === 'not-applicable').length,
      problems: findings.filter((f) => f.kind === 'problem').length,
      bySeverity,
    },
    failOn,
    failed:
      findings.some((f) => f.kind === 'problem') ||
      (failOn !== 'never' &&
        failing.some(
          (f) =>
            ['critical', 'high', 'medium', 'low'].indexOf(f.severity) <=
            ['critical', 'high', 'medium', 'low'].indexOf(failOn),
        )),
  };
}

/** `n` failing findings of one severity, in files/lines given in reverse so sorting matters. */
function failures(n: number, severity: Severity, prefix: string): Finding[] {
  return Array.from({ length: n }, (_, i) =>
    finding({
      ruleId: `RB-${prefix}-001`,
      severity,
      system: `sys-${i}`,
      location: at(`policies/${prefix}.yaml`, n - i),
      message: `${prefix} ${n - i}`,
    }),
  );
}

/** Splits a Markdown table row into cells, honouring `\|` escapes. */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  const out: string[] = [];
  let cell = '';
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c === '\\' && i + 1 < inner.length) {
      cell += c + inner[i + 1]!;
      i += 1;
    } else if (c === '|') {
      out.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  out.push(cell.trim());
  return out;
}

function tableRows(markdown: string, headerStart: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(headerStart));
  expect(start).toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(cells(lines[i]!));
  return rows;
}

// ---------------------------------------------------------------------------------------------
// Annotations

describe('selectAnnotations', () => {
  const findings = [
    ...failures(9, 'high', 'HIGH'),
    ...failures(15, 'medium', 'MED'),
    ...failures(11, 'low', 'LOW'),
    ...failures(3, 'critical', 'CRIT'),
    finding({ ruleId: 'RB-PASS-001', status: 'pass', severity: 'critical' }),
    finding({ ruleId: 'RB-NA-001', status: 'not-applicable', severity: 'critical' }),
  ];
  const report = makeReport({ findings });

  it('caps each level at 10, worst first', () => {
    const annotations = selectAnnotations(report);
    const byLevel = (level: string) => annotations.filter((a) => a.level === level);
    expect(byLevel('error')).toHaveLength(10);
    expect(byLevel('warning')).toHaveLength(10);
    expect(byLevel('notice')).toHaveLength(10);
    expect(annotations).toHaveLength(30);
    // All three criticals come before the highs, and only 7 of the 9 highs fit.
    const errors = byLevel('error').map((a) => a.title.split(' ')[0]);
    expect(errors).toEqual([...Array(3).fill('RB-CRIT-001'), ...Array(7).fill('RB-HIGH-001')]);
    // Within a severity, by file and line: the lowest lines are kept.
    expect(
      byLevel('error')
        .slice(3)
        .map((a) => a.startLine),
    ).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(byLevel('warning').map((a) => a.startLine)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('counts what was left out', () => {
    // 2 highs, 5 mediums and 1 low do not fit; passes and n/a are never annotated.
    expect(annotationOverflow(report)).toBe(8);
    expect(annotationOverflow(makeReport({ findings: failures(3, 'low', 'LOW') }))).toBe(0);
  });

  it('never annotates passes', () => {
    const titles = selectAnnotations(report).map((a) => a.title);
    expect(titles.some((t) => t.startsWith('RB-PASS') || t.startsWith('RB-NA'))).toBe(false);
  });

  it('builds title, message with fix, and position', () => {
    const f = finding({
      ruleId: 'RB-RET-001',
      title: 'Minimum retention',
      system: 'payments-db',
      severity: 'medium',
      message: 'Retention is 7 days.',
      remediation: 'Set retention.days to 30 or more.',
      location: { file: 'policies\\payments.yaml', line: 12, column: 5, endLine: 12, endColumn: 9 },
    });
    expect(selectAnnotations(makeReport({ findings: [f] }))).toEqual([
      {
        level: 'warning',
        title: 'RB-RET-001 Minimum retention (payments-db)',
        message: 'Retention is 7 days.\nFix: Set retention.days to 30 or more.',
        file: 'policies/payments.yaml',
        startLine: 12,
        startColumn: 5,
        endLine: 12,
        endColumn: 9,
      },
    ]);
    const noFix = finding({ ruleId: 'RB-X-001', severity: 'low', message: 'only this' });
    expect(selectAnnotations(makeReport({ findings: [noFix] }))[0]).toMatchObject({
      level: 'notice',
      message: 'only this',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Summary

describe('renderSummary', () => {
  const a = system('payments', 'payments-db');
  const b = system('payments', 'ledger');
  const c = system('search', 'index');

  it('renders the verdict and the controls × systems matrix', () => {
    const report = makeReport({
      systems: [a, b, c],
      findings: [
        evaluation(RETENTION, a, 'pass'),
        evaluation(RETENTION, b, 'fail'),
        evaluation(RETENTION, c, 'not-applicable'),
        evaluation(ENCRYPTION, a, 'fail'),
        evaluation(ENCRYPTION, b, 'pass'),
        evaluation(ENCRYPTION, c, 'pass'),
      ],
    });
    const md = renderSummary(report);
    expect(md).toContain('❌ **Failed**');
    expect(md).toContain('3 systems in 2 policies, 3 controls; 3 passed, 2 failed (1 critical, 1 high)');
    const rows = tableRows(md, '| Control |');
    expect(rows[0]).toEqual(['Control', 'SOC 2', 'payments/payments-db', 'payments/ledger', 'search/index']);
    // Runtime controls are not in the matrix.
    expect(rows).toHaveLength(2 + 2);
    expect(rows[2]).toEqual(['**RB-RET-001** Minimum retention', 'A1.2, CC7.5', '✅', '❌ high', '➖']);
    expect(rows[3]).toEqual(['**RB-ENC-001** Encrypted backups', 'A1.2', '❌ critical', '✅', '✅']);
    expect(md).not.toContain('RB-DRL-001');
  });

  it('applies a policy-wide finding to every system of the policy', () => {
    const wide = evaluation(RETENTION, a, 'fail', { system: undefined, severity: 'medium' });
    const report = makeReport({
      systems: [a, b, c],
      findings: [
        wide,
        evaluation(RETENTION, a, 'pass'),
        evaluation(RETENTION, b, 'pass'),
        evaluation(RETENTION, c, 'pass'),
      ],
    });
    const rows = tableRows(renderSummary(report), '| Control |');
    expect(rows[2]).toEqual([
      '**RB-RET-001** Minimum retention',
      'A1.2, CC7.5',
      '❌ medium',
      '❌ medium',
      '✅',
    ]);
    expect(rows[3]!.slice(2)).toEqual(['', '', '']);
  });

  it('shows a pass verdict', () => {
    const md = renderSummary(makeReport({ systems: [a], findings: [evaluation(RETENTION, a, 'pass')] }));
    expect(md).toContain('✅ **Passed**');
    expect(md).toContain('### Failures and problems (0)');
  });

  it('transposes past 12 systems', () => {
    const systems = Array.from({ length: 13 }, (_, i) =>
      system('fleet', `node-${String(i).padStart(2, '0')}`),
    );
    const findings = systems.flatMap((s, i) => [
      evaluation(RETENTION, s, i === 4 ? 'fail' : 'pass'),
      evaluation(ENCRYPTION, s, i === 7 ? 'not-applicable' : 'pass'),
    ]);
    const md = renderSummary(makeReport({ systems, findings }));
    expect(md).not.toContain('| Control |');
    const rows = tableRows(md, '| System |');
    expect(rows[0]).toEqual(['System', 'RB-RET-001', 'RB-ENC-001']);
    expect(rows).toHaveLength(2 + 13);
    expect(rows[2 + 4]).toEqual(['fleet/node-04', '❌ high', '✅']);
    expect(rows[2 + 7]).toEqual(['fleet/node-07', '✅', '➖']);
    // The controls are explained under the table, with their criteria.
    expect(md).toContain('**RB-RET-001** Minimum retention (SOC 2 A1.2, CC7.5)');

    // 12 systems still use the normal layout.
    const twelve = renderSummary(makeReport({ systems: systems.slice(0, 12), findings }));
    expect(tableRows(twelve, '| Control |')[0]).toHaveLength(2 + 12);
  });

  it('escapes pipes and newlines in cells', () => {
    const s = system('pay|ments', 'db');
    const f = evaluation(RETENTION, s, 'fail', {
      message: 'retention | days is 7\nsecond line',
      remediation: 'use a|b',
    });
    const md = renderSummary(makeReport({ systems: [s], findings: [f] }));
    const header = tableRows(md, '| Control |')[0]!;
    expect(header).toHaveLength(3);
    expect(header[2]).toBe('pay\\|ments/db');
    const list = tableRows(md, '|  | Severity |');
    expect(list[0]).toHaveLength(7);
    expect(list[2]).toHaveLength(7);
    expect(list[2]![5]).toBe('retention \\| days is 7<br>second line');
    expect(list[2]![6]).toBe('use a\\|b');
    expect(md).not.toContain('\nsecond line');
  });

  it('lists every failure and problem, worst first, even past the annotation cap', () => {
    const findings = [
      ...failures(12, 'low', 'LOW'),
      ...failures(12, 'high', 'HIGH'),
      problem('yaml/duplicate-key', 'medium', at('policies/broken.yaml', 4, 2), 'duplicate key "a"'),
    ];
    const md = renderSummary(makeReport({ findings }));
    expect(md).toContain('### Failures and problems (25)');
    const rows = tableRows(md, '|  | Severity |').slice(2);
    expect(rows).toHaveLength(25);
    expect(rows.map((r) => r[1])).toEqual([...Array(12).fill('high'), 'medium', ...Array(12).fill('low')]);
    expect(rows[0]![4]).toBe('policies/HIGH.yaml:1:1');
    expect(rows[12]).toEqual([
      '⚠️',
      'medium',
      '**yaml/duplicate-key**',
      '',
      'policies/broken.yaml:4:2',
      'duplicate key "a"',
      '',
    ]);
    expect(md).not.toContain('more not shown');
  });

  it('truncates the failure list before it nears 1 MiB', () => {
    const big = 'x'.repeat(2000);
    const findings = Array.from({ length: 600 }, (_, i) =>
      finding({ ruleId: 'RB-BIG-001', system: `s${i}`, message: big, location: at('p.yaml', i + 1) }),
    );
    const md = renderSummary(makeReport({ findings }));
    const size = Buffer.byteLength(md, 'utf8');
    expect(size).toBeLessThan(900_000);
    const shown = tableRows(md, '|  | Severity |').length - 2;
    expect(shown).toBeGreaterThan(300);
    expect(shown).toBeLessThan(600);
    expect(md).toContain(`… and ${600 - shown} more not shown`);
    expect(md).toContain('the JSON report has all of them');
  });
});

// ---------------------------------------------------------------------------------------------
// SARIF

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: {
      artifactLocation: { uri: string; uriBaseId: string };
      region: { startLine: number; startColumn: number; endLine: number; endColumn: number };
    };
  }[];
  partialFingerprints: Record<string, string>;
}

interface SarifRule {
  id: string;
  name: string;
  shortDescription: { text: string };
  fullDescription?: { text: string };
  help?: { text: string; markdown: string };
  defaultConfiguration: { level: string };
  properties: { tags: string[]; 'security-severity'?: string };
}

interface SarifLog {
  $schema: string;
  version: string;
  runs: {
    tool: { driver: { name: string; version: string; informationUri: string; rules: SarifRule[] } };
    results: SarifResult[];
  }[];
}

describe('renderSarif', () => {
  const a = system('payments', 'payments-db');
  const b = system('payments', 'ledger');
  const LOW = control('RB-LOW-001', {
    title: 'Tagged backups',
    severity: 'low',
    criteria: { soc2: [], iso27001: [], nist80053: [] },
  });
  const report = makeReport({
    controls: [RETENTION, ENCRYPTION, DRILL, LOW],
    systems: [a, b],
    findings: [
      evaluation(RETENTION, a, 'fail'),
      evaluation(RETENTION, b, 'fail'),
      evaluation(ENCRYPTION, a, 'pass'),
      evaluation(ENCRYPTION, b, 'not-applicable'),
      problem('yaml/duplicate-key', 'low', at('policies/my dir/x.yaml', 3, 7), 'duplicate key'),
      problem('policy/schema/required', 'high', at('.\\policies\\y.yaml', 1, 1), 'missing spec'),
      problem('yaml/duplicate-key', 'low', at('policies/my dir/x.yaml', 9, 7), 'duplicate key again'),
    ],
  });
  const log = renderSarif(report) as SarifLog;

  it('has the SARIF 2.1.0 shape', () => {
    expect(log.$schema).toBe('https://json.schemastore.org/sarif-2.1.0.json');
    expect(log.version).toBe('2.1.0');
    expect(log.runs).toHaveLength(1);
    const run = log.runs[0]!;
    expect(run.tool.driver).toMatchObject({
      name: 'restorable',
      version: '0.1.0',
      informationUri: 'https://github.com/restorable/restorable',
    });
    // Must survive a JSON round trip unchanged (no undefined, functions, etc.).
    expect(JSON.parse(JSON.stringify(log))).toEqual(log);
    for (const r of run.results) {
      expect(typeof r.ruleId).toBe('string');
      expect(['error', 'warning', 'note']).toContain(r.level);
      expect(r.message.text.length).toBeGreaterThan(0);
      expect(r.locations).toHaveLength(1);
      const { artifactLocation, region } = r.locations[0]!.physicalLocation;
      expect(artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(artifactLocation.uri).not.toMatch(/\\|^\/|^\.\/| /);
      for (const n of [region.startLine, region.startColumn, region.endLine, region.endColumn]) {
        expect(Number.isInteger(n) && n >= 1).toBe(true);
      }
      expect(run.tool.driver.rules[r.ruleIndex]!.id).toBe(r.ruleId);
      expect(Object.keys(r.partialFingerprints)).toEqual(['restorable/v1']);
      expect(r.partialFingerprints['restorable/v1']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('has one rule per control plus one per problem rule', () => {
    const rules = log.runs[0]!.tool.driver.rules;
    expect(rules.map((r) => r.id)).toEqual([
      'RB-RET-001',
      'RB-ENC-001',
      'RB-DRL-001',
      'RB-LOW-001',
      'policy/schema/required',
      'yaml/duplicate-key',
    ]);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
    const retention = rules[0]!;
    expect(retention).toMatchObject({
      name: 'MinimumRetention',
      shortDescription: { text: 'Minimum retention' },
      fullDescription: { text: RETENTION.description },
      defaultConfiguration: { level: 'error' },
    });
    expect(retention.help!.text).toContain(RETENTION.remediation);
    expect(retention.help!.text).toContain('A1.2, CC7.5');
    expect(retention.help!.markdown).toContain(RETENTION.remediation);
    expect(retention.properties.tags).toEqual([
      'soc2/A1.2',
      'soc2/CC7.5',
      'iso27001/A.8.13',
      'nist80053/CP-9',
      'security',
    ]);
    expect(retention.properties['security-severity']).toBe('8.0');
    expect(rules[1]!.properties['security-severity']).toBe('9.5');
    expect(rules[1]!.defaultConfiguration.level).toBe('error');
    expect(rules[2]!.properties['security-severity']).toBe('5.5');
    expect(rules[2]!.defaultConfiguration.level).toBe('warning');
    expect(rules[3]).toMatchObject({
      name: 'TaggedBackups',
      defaultConfiguration: { level: 'note' },
      properties: { tags: ['security'], 'security-severity': '3.0' },
    });
    expect(rules[5]!.defaultConfiguration.level).toBe('note');
    expect(rules[5]!.properties.tags).not.toContain('security');
  });

  it('reports failures and problems only, with levels, system and paths', () => {
    const results = log.runs[0]!.results;
    expect(results).toHaveLength(5);
    expect(results.map((r) => r.ruleId).sort()).toEqual([
      'RB-RET-001',
      'RB-RET-001',
      'policy/schema/required',
      'yaml/duplicate-key',
      'yaml/duplicate-key',
    ]);
    expect(results.some((r) => r.ruleId === 'RB-ENC-001')).toBe(false);
    const ledger = results.find((r) => r.ruleId === 'RB-RET-001' && r.message.text.includes('ledger'))!;
    expect(ledger.level).toBe('error');
    expect(ledger.message.text).toContain('payments/ledger');
    expect(ledger.message.text).toContain(`Fix: ${RETENTION.remediation}`);
    const dup = results.find((r) => r.message.text === 'duplicate key')!;
    expect(dup.level).toBe('note');
    expect(dup.locations[0]!.physicalLocation.artifactLocation.uri).toBe('policies/my%20dir/x.yaml');
    expect(dup.locations[0]!.physicalLocation.region).toEqual({
      startLine: 3,
      startColumn: 7,
      endLine: 3,
      endColumn: 12,
    });
    const schema = results.find((r) => r.ruleId === 'policy/schema/required')!;
    expect(schema.locations[0]!.physicalLocation.artifactLocation.uri).toBe('policies/y.yaml');
  });

  it('fingerprints are stable across renders and distinct per system', () => {
    const again = renderSarif(
      makeReport({ ...report, findings: [...report.findings].reverse() }),
    ) as SarifLog;
    const prints = (l: SarifLog) =>
      l.runs[0]!.results.map(
        (r) => `${r.ruleId} ${r.message.text} ${r.partialFingerprints['restorable/v1']}`,
      );
    expect(prints(again)).toEqual(prints(log));
    const all = log.runs[0]!.results.map((r) => r.partialFingerprints['restorable/v1']);
    expect(new Set(all).size).toBe(all.length);
    const retention = log.runs[0]!.results.filter((r) => r.ruleId === 'RB-RET-001');
    expect(retention[0]!.partialFingerprints['restorable/v1']).not.toBe(
      retention[1]!.partialFingerprints['restorable/v1'],
    );
    // A different message or line (say, after an edit above it) keeps the fingerprint.
    const moved = makeReport({
      systems: [a],
      findings: [evaluation(RETENTION, a, 'fail', { location: at(a.file, 40), message: 'changed' })],
    });
    const movedPrint = (renderSarif(moved) as SarifLog).runs[0]!.results[0]!.partialFingerprints[
      'restorable/v1'
    ];
    const original = retention.find((r) => r.message.text.includes('payments-db'))!;
    expect(movedPrint).toBe(original.partialFingerprints['restorable/v1']);
  });
});

// ---------------------------------------------------------------------------------------------
// JUnit

/** A small well-formedness check: tags balance, attributes are quoted, text has no raw `<` or bare `&`. */
function assertWellFormed(xml: string): void {
  expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n')).toBe(true);
  const body = xml.slice(xml.indexOf('?>') + 2);
  const stack: string[] = [];
  const token = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let roots = 0;
  for (const m of body.matchAll(token)) {
    const [, close, name, attrs, selfClose, text, stray] = m;
    expect(stray, `stray "<" at ${m.index}`).toBeUndefined();
    if (text !== undefined) {
      expect(text).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
      if (stack.length === 0) expect(text.trim()).toBe('');
      continue;
    }
    for (const value of (attrs ?? '').matchAll(/="([^"]*)"/g)) {
      expect(value[1]).not.toMatch(/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/);
    }
    if (close) {
      expect(stack.pop()).toBe(name);
    } else if (!selfClose) {
      if (stack.length === 0) roots += 1;
      stack.push(name!);
    } else if (stack.length === 0) {
      roots += 1;
    }
  }
  expect(stack).toEqual([]);
  expect(roots).toBe(1);
  // Characters XML 1.0 does not allow.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: checking for them
  expect(xml).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\uFFFE\uFFFF]/);
}

function count(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

describe('renderJunit', () => {
  const a = system('payments', 'payments-db');
  const b = system('payments', 'ledger');
  const report = makeReport({
    systems: [a, b],
    findings: [
      evaluation(RETENTION, a, 'pass'),
      evaluation(RETENTION, b, 'fail', { message: 'bad <&"> value \u0001 here\u0007' }),
      evaluation(ENCRYPTION, a, 'fail'),
      evaluation(ENCRYPTION, b, 'not-applicable'),
      problem('yaml/duplicate-key', 'high', at('policies/x.yaml', 3, 2), "key 'a' twice"),
    ],
  });
  const xml = renderJunit(report);

  it('is well-formed', () => {
    assertWellFormed(xml);
    expect(count(xml, /<testsuites[\s>]/g)).toBe(1);
    expect(count(xml, /<testcase[\s>]/g)).toBe(5);
  });

  it('counts tests, failures and skips', () => {
    expect(xml).toMatch(
      /<testsuites name="restorable check" tests="5" failures="3" errors="0" skipped="1" time="1.234">/,
    );
    expect(count(xml, /<failure /g)).toBe(3);
    expect(count(xml, /<skipped message="not applicable"\/>/g)).toBe(1);
    expect(xml).toContain(
      '<testsuite name="RB-RET-001 Minimum retention" tests="2" failures="1" errors="0" skipped="0" time="0">',
    );
    expect(xml).toContain(
      '<testsuite name="RB-ENC-001 Encrypted backups" tests="2" failures="1" errors="0" skipped="1" time="0">',
    );
    expect(xml).toContain(
      '<testsuite name="problems" tests="1" failures="1" errors="0" skipped="0" time="0">',
    );
    // Runtime controls have no suite.
    expect(xml).not.toContain('RB-DRL-001');
  });

  it('uses stable testcase names', () => {
    const names = [...xml.matchAll(/<testcase classname="([^"]*)" name="([^"]*)"/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    expect(names).toEqual([
      'RB-RET-001 RB-RET-001/payments/ledger',
      'RB-RET-001 RB-RET-001/payments/payments-db',
      'RB-ENC-001 RB-ENC-001/payments/ledger',
      'RB-ENC-001 RB-ENC-001/payments/payments-db',
      'yaml/duplicate-key yaml/duplicate-key/policies/x.yaml:3:2',
    ]);
    const shuffled = makeReport({ ...report, findings: [...report.findings].reverse() });
    expect(renderJunit(shuffled)).toBe(xml);
  });

  it('escapes markup and drops characters XML cannot carry', () => {
    expect(xml).toContain('message="bad &lt;&amp;&quot;&gt; value \uFFFD here\uFFFD"');
    expect(xml).toContain('>policies/payments.yaml:10:1\nbad &lt;&amp;"&gt; value \uFFFD here\uFFFD\nFix: ');
    expect(xml).toContain('message="key &apos;a&apos; twice" type="high"');
    expect(xml).not.toContain('\u0001');
    expect(xml).not.toContain('\u0007');
  });
});

// ---------------------------------------------------------------------------------------------
// JSON

describe('renderJson', () => {
  it('adds schemaVersion, indents, puts one finding per line and ends with a newline', () => {
    const report = makeReport({ findings: failures(2, 'low', 'LOW') });
    const json = renderJson(report);
    expect(json.endsWith('}\n')).toBe(true);
    expect(json.split('\n')[1]).toBe('  "schemaVersion": 1,');
    expect(JSON.parse(json)).toEqual({ schemaVersion: 1, ...report });
    const findingLines = json.split('\n').filter((line) => line.startsWith('    {"kind":'));
    expect(findingLines).toHaveLength(2);
  });

  it('writes an empty findings list as []', () => {
    const report = makeReport({ findings: [] });
    expect(JSON.parse(renderJson(report)).findings).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Text

describe('renderText', () => {
  const a = system('payments', 'payments-db');
  const b = system('search', 'index');
  const report = makeReport({
    systems: [a, b],
    findings: [
      evaluation(RETENTION, a, 'pass'),
      evaluation(RETENTION, b, 'fail', { severity: 'medium', location: at(b.file, 5, 3) }),
      evaluation(ENCRYPTION, a, 'fail', { severity: 'high', location: at(a.file, 20, 1) }),
      evaluation(ENCRYPTION, b, 'fail', {
        severity: 'medium',
        location: at(b.file, 2, 9),
        remediation: undefined,
      }),
      problem('yaml/duplicate-key', 'low', at('policies/x.yaml', 3, 2), 'duplicate key \u001b[2Jcleared'),
    ],
  });

  it('lists failures and problems worst first, then the summary', () => {
    const text = renderText(report, { color: false, verbose: false });
    const lines = text.trimEnd().split('\n');
    const heads = lines.filter((l) => !l.startsWith(' ') && l.includes(':'));
    expect(heads.map((l) => l.split(/\s{2,}/).slice(0, 4))).toEqual([
      ['policies/payments.yaml:20:1', 'HIGH', 'RB-ENC-001', 'payments-db'],
      ['policies/search.yaml:2:9', 'MEDIUM', 'RB-ENC-001', 'index'],
      ['policies/search.yaml:5:3', 'MEDIUM', 'RB-RET-001', 'index'],
      ['policies/x.yaml:3:2', 'LOW', 'yaml/duplicate-key', '-'],
      [
        'checked 2 systems in 2 policies against 3 controls: 1 passed, 3 failed (1 high, 2 medium), 1 problem',
      ],
    ]);
    expect(lines[1]).toBe(`    fix: ${ENCRYPTION.remediation}`);
    expect(text).not.toContain('PASS');
    expect(text.endsWith('1 problem\n')).toBe(true);
  });

  it('lists passes when verbose', () => {
    const text = renderText(report, { color: false, verbose: true });
    const lines = text.split('\n');
    const pass = lines.findIndex((l) => l.includes('PASS'));
    const low = lines.findIndex((l) => l.includes('LOW'));
    expect(pass).toBeGreaterThan(low);
    expect(lines[pass]).toMatch(
      /^policies\/payments\.yaml:10:1 +PASS +RB-RET-001 +payments-db +RB-RET-001 pass/,
    );
  });

  it('colours only when asked, and never passes escape codes through', () => {
    const plain = renderText(report, { color: false, verbose: true });
    expect(plain).not.toContain('\u001b');
    expect(plain).toContain('duplicate key [2Jcleared');
    const coloured = renderText(report, { color: true, verbose: false });
    expect(coloured).toContain('\u001b[31mHIGH');
    expect(coloured).not.toContain('\u001b[2J');
    // Stripping the colours gives the plain text back.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escape codes
    expect(coloured.replace(/\u001b\[[\d;]*m/g, '')).toBe(
      renderText(report, { color: false, verbose: false }),
    );
  });

  it('says so when everything passes', () => {
    const ok = makeReport({
      systems: [a],
      controls: [RETENTION],
      findings: [evaluation(RETENTION, a, 'pass')],
    });
    expect(renderText(ok, { color: false, verbose: false })).toBe(
      'checked 1 system in 1 policy against 1 control: 1 passed, 0 failed, 0 problems\n',
    );
  });
});

describe('SARIF against the official SARIF 2.1.0 schema', () => {
  it('a report with failures, problems and passes validates', async () => {
    // The schema file ships in @microsoft/jest-sarif; it is draft-04, hence ajv-draft-04.
    // ajv-draft-04 is CommonJS: its class is both module.exports and module.exports.default.
    const AjvDraft04 = (await import('ajv-draft-04')).default.default;
    const { readFileSync } = await import('node:fs');
    const { createRequire } = await import('node:module');
    const schemaPath = createRequire(import.meta.url).resolve(
      '@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json',
    );
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
    // The schema has a pattern that is only valid without the `u` flag.
    const validate = new AjvDraft04({ allErrors: true, strict: false, unicodeRegExp: false }).compile(schema);
    const report = makeReport({
      findings: [...failures(3, 'high', 'RB-RET-001'), ...failures(2, 'low', 'RB-IMM-004')],
    });
    const sarif = renderSarif(report);
    expect(validate(sarif), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The validator can fail: a result without a message is refused.
    const broken = structuredClone(sarif) as { runs: { results: { message?: unknown }[] }[] };
    delete broken.runs[0]!.results[0]!.message;
    expect(validate(broken)).toBe(false);
  });
});
