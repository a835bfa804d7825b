import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalBytes, canonicalJson, isCanonical } from '../src/evidence/canonical.ts';
import { runContext } from '../src/evidence/context.ts';
import {
  buildRecord,
  parseRecordPath,
  type RecordDraft,
  recordBytes,
  recordHash,
  recordPath,
  shardPath,
} from '../src/evidence/record.ts';
import { recordSchemaProblems } from '../src/evidence/schema.ts';
import { nextState, parseState, stateBytes } from '../src/evidence/state.ts';
import { mulberry32 } from './helpers/random.ts';

// Canonical JSON is what records are hashed and signed in: the same value must always give the same bytes,
// whatever order its keys were inserted in, and anything that is not JSON must be refused, not dropped.

/** A random JSON value (seeded), with keys inserted in random order. */
function randomValue(next: () => number, depth = 0): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 5 : 7));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2: {
      const kinds = [
        () => Math.floor(next() * 1e6) - 5e5,
        () => next() * 1e-300,
        () => (next() - 0.5) * 1e300,
        () => Number.MAX_SAFE_INTEGER,
        () => -0,
      ];
      return kinds[Math.floor(next() * kinds.length)]!();
    }
    case 3:
    case 4: {
      const alphabet = ['a', 'Z', '"', '\\', '\n', '\u0000', 'é', '€', '😀', '\u2028', '\ud800', ' '];
      return Array.from(
        { length: Math.floor(next() * 8) },
        () => alphabet[Math.floor(next() * alphabet.length)],
      ).join('');
    }
    case 5:
      return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
    default: {
      const keys = Array.from({ length: Math.floor(next() * 5) }, () => String(randomValue(next, 5)));
      const out: Record<string, unknown> = {};
      for (const key of keys) out[key] = randomValue(next, depth + 1);
      return out;
    }
  }
}

/** The same value with every object's keys re-inserted in reverse order. */
function reorder(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reorder);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).reverse()) out[key] = reorder((value as Record<string, unknown>)[key]);
  return out;
}

describe('canonical JSON', () => {
  it('sorts keys at every level, writes no whitespace and ends with one newline', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}\n',
    );
    expect(canonicalJson([])).toBe('[]\n');
    expect(canonicalJson('x')).toBe('"x"\n');
  });

  it('orders keys by UTF-16 code units, as RFC 8785 does', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '😀': 4, '\ufb33': 5, _: 6 })).toBe(
      '{"Z":3,"_":6,"z":2,"é":1,"😀":4,"\ufb33":5}\n',
    );
  });

  it('writes numbers as ECMAScript does (shortest round trip), -0 as 0', () => {
    expect(canonicalJson([1, 1.5, 1e21, 1e-7, -0, 0.1 + 0.2, 2 ** 53])).toBe(
      '[1,1.5,1e+21,1e-7,0,0.30000000000000004,9007199254740992]\n',
    );
  });

  it('gives the same bytes for the same value whatever the key order (1,000 random values)', () => {
    const next = mulberry32(0x5eed);
    for (let i = 0; i < 1000; i++) {
      const value = randomValue(next);
      const text = canonicalJson(value);
      expect(canonicalJson(reorder(value)), `case ${i}`).toBe(text);
      expect(canonicalJson(JSON.parse(text)), `case ${i}`).toBe(text);
      expect(isCanonical(new TextEncoder().encode(text)), `case ${i}`).toBe(true);
      expect(text.endsWith('\n') && !text.slice(0, -1).includes('\n')).toBe(true);
    }
  });

  it('refuses what is not JSON, naming where it is', () => {
    const cases: [unknown, RegExp][] = [
      [{ a: Number.NaN }, /^\$\.a: NaN is not a JSON number$/],
      [{ a: [1, Number.POSITIVE_INFINITY] }, /^\$\.a\[1\]: Infinity is not a JSON number$/],
      [{ a: undefined }, /^\$\.a: a undefined is not a JSON value$/],
      [[undefined], /^\$\[0\]: a undefined/],
      [{ 'odd key': () => 1 }, /^\$\["odd key"\]: a function/],
      [{ a: Symbol('s') }, /a symbol/],
      [{ a: 1n }, /a bigint/],
      [{ when: new Date(0) }, /^\$\.when: a Date is not a plain JSON object$/],
      [{ m: new Map() }, /a Map/],
      [{ c: new (class Thing {})() }, /a Thing/],
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      [[1, , 3], /^\$\[1\]: a hole/],
      [{ [Symbol('k')]: 1 }, /symbol keys/],
    ];
    for (const [value, message] of cases) {
      expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
      expect(() => canonicalJson(value)).toThrow(message);
    }
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => canonicalJson(deep)).toThrow(/nested deeper than 64/);
  });

  it('accepts objects without a prototype', () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = 2;
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}\n');
  });

  it('tells canonical bytes from every other way of writing the same JSON', () => {
    const enc = (text: string) => new TextEncoder().encode(text);
    expect(isCanonical(enc('{"a":1,"b":[1,2]}\n'))).toBe(true);
    expect(isCanonical(enc('{"a":1,"b":[1,2]}'))).toBe(false); // no final newline
    expect(isCanonical(enc('{"b":[1,2],"a":1}\n'))).toBe(false); // key order
    expect(isCanonical(enc('{"a": 1,"b":[1,2]}\n'))).toBe(false); // a space
    expect(isCanonical(enc('{"a":1,"a":1,"b":[1,2]}\n'))).toBe(false); // duplicate key
    expect(isCanonical(enc('{"a":1.0,"b":[1,2]}\n'))).toBe(false); // number spelling
    expect(isCanonical(enc('{"a":"\\u0041"}\n'))).toBe(false); // needless escape
    expect(isCanonical(enc('\ufeff{"a":1}\n'))).toBe(false); // byte order mark
    expect(isCanonical(new Uint8Array([0x22, 0xff, 0x22, 0x0a]))).toBe(false); // not UTF-8
    expect(isCanonical(enc('{"a":1}\n\n'))).toBe(false);
  });

  it('encodes as UTF-8, lone surrogates escaped', () => {
    expect([...canonicalBytes({ s: 'é\ud800' })]).toEqual([
      ...new TextEncoder().encode('{"s":"é\\ud800"}\n'),
    ]);
  });
});

const draft: RecordDraft = {
  kind: 'backup',
  outcome: 'success',
  time: new Date('2026-03-01T06:00:12.345Z'),
  startedAt: '2026-03-01T06:00:00.000Z',
  systems: [{ name: 'payments-db', policy: 'payments' }],
  policies: [
    {
      name: 'payments',
      file: '.restorable/payments.yaml',
      blob: 'a'.repeat(40),
      commit: 'b'.repeat(40),
      modified: false,
    },
  ],
  controls: [{ id: 'RB-RPO-001', system: 'payments-db', status: 'pass', severity: 'high' }],
  measurements: {
    files: 1,
    bytes: 1234,
    durationMs: 5012.5,
    snapshots: [{ repository: 'primary', id: 'c'.repeat(64), time: '2026-03-01T06:00:11.000Z' }],
    rpo: { targetSeconds: 21600, achievedSeconds: 21000 },
    custom: { anything: [1, 'two'] },
  },
  run: runContext({}),
  toolVersion: '9.9.9',
};
const defaults = {
  time: new Date('2026-01-01T00:00:00Z'),
  run: { ci: 'none' as const },
  toolVersion: '0.0.0',
};

describe('evidence records', () => {
  it('are built from a draft and a chain position, valid against the schema', () => {
    const record = buildRecord(draft, { sequence: 0, previous: null }, defaults);
    expect(recordSchemaProblems(record)).toEqual([]);
    expect(record).toMatchObject({
      format: 'restorable-evidence',
      version: 1,
      sequence: 0,
      previous: null,
      time: '2026-03-01T06:00:12.345Z',
      tool: { name: 'restorable', version: '9.9.9' },
    });
    const next = buildRecord(draft, { sequence: 1, previous: recordHash(recordBytes(record)) }, defaults);
    expect(recordSchemaProblems(next)).toEqual([]);
  });

  it('leave out optional fields that are undefined instead of failing canonicalization', () => {
    const record = buildRecord(
      {
        kind: 'check',
        outcome: 'failure',
        systems: [],
        policies: [],
        message: undefined,
        measurements: { bytes: undefined },
      },
      { sequence: 3, previous: 'd'.repeat(64) },
      defaults,
    );
    expect(recordSchemaProblems(record)).toEqual([]);
    expect(record).not.toHaveProperty('message');
    expect(record.time).toBe('2026-01-01T00:00:00.000Z');
    expect(canonicalJson(record)).toContain('"measurements":{}');
  });

  it('are refused by the schema when fields are wrong, with the field named', () => {
    const record = buildRecord(draft, { sequence: 0, previous: null }, defaults) as unknown as Record<
      string,
      unknown
    >;
    const bad = (patch: Record<string, unknown>) => recordSchemaProblems({ ...record, ...patch }).join('\n');
    expect(bad({ kind: 'restore' })).toMatch(/\/kind must be one of "check", "backup", "drill", "prune"/);
    expect(bad({ previous: 'xyz' })).toMatch(/\/previous must match pattern/);
    expect(bad({ sequence: -1 })).toMatch(/\/sequence must be >= 0/);
    expect(bad({ time: '2026-03-01 06:00' })).toMatch(/\/time must match pattern/);
    expect(bad({ extra: 1 })).toMatch(/has a key the schema does not allow: "extra"/);
    expect(bad({ measurements: { bytes: -1 } })).toMatch(/\/measurements\/bytes must be >= 0/);
    expect(bad({ measurements: { snapshots: [{ repository: 'p', id: 'XYZ' }] } })).toMatch(
      /\/measurements\/snapshots\/0\/id must match pattern/,
    );
    expect(bad({ version: 2 })).toMatch(/\/version must be 1/);
    const { tool: _tool, ...withoutTool } = record;
    expect(recordSchemaProblems(withoutTool).join('\n')).toMatch(/the record lacks "tool"/);
  });

  it('are named by sequence, kind and system, 100 to a directory', () => {
    expect(recordPath({ sequence: 0, kind: 'backup', systems: [{ name: 'db', policy: 'p' }] })).toBe(
      'records/000000/00000000-backup-db.json',
    );
    expect(recordPath({ sequence: 12345, kind: 'check', systems: [] })).toBe(
      'records/000123/00012345-check.json',
    );
    expect(
      recordPath({
        sequence: 99_999_999,
        kind: 'drill',
        systems: [
          { name: 'a', policy: 'p' },
          { name: 'b', policy: 'p' },
        ],
      }),
    ).toBe('records/999999/99999999-drill.json');
    expect(shardPath(199)).toBe('records/000001');
    expect(parseRecordPath('records/000123/00012345-backup-payments-db.json')).toEqual({
      sequence: 12345,
      kind: 'backup',
      system: 'payments-db',
      shardMatches: true,
    });
    expect(parseRecordPath('records/000124/00012345-check.json')).toMatchObject({ shardMatches: false });
    expect(parseRecordPath('records/000123/00012345-restore-db.json')).toBeUndefined();
    expect(parseRecordPath('records/000123/00012345-backup-db.json.asc')).toBeUndefined();
    expect(parseRecordPath('records/00012345-backup-db.json')).toBeUndefined();
  });
});

describe('state.json', () => {
  it('tracks the head, the count and the newest record (and newest success) per system and kind', () => {
    const r0 = buildRecord(draft, { sequence: 0, previous: null }, defaults);
    const s0 = nextState(undefined, r0, 'f0', 'a'.repeat(64), 'FPR');
    const r1 = buildRecord(
      { ...draft, outcome: 'failure' },
      { sequence: 1, previous: 'a'.repeat(64) },
      defaults,
    );
    const s1 = nextState(s0, r1, 'f1', 'b'.repeat(64), 'FPR');
    const check = buildRecord(
      {
        kind: 'check',
        outcome: 'success',
        systems: [
          { name: 'payments-db', policy: 'payments' },
          { name: 'ledger', policy: 'payments' },
        ],
        policies: [],
      },
      { sequence: 2, previous: 'b'.repeat(64) },
      defaults,
    );
    const s2 = nextState(s1, check, 'f2', 'c'.repeat(64), 'FPR');
    expect(s2.count).toBe(3);
    expect(s2.head).toMatchObject({ sequence: 2, file: 'f2', sha256: 'c'.repeat(64), kind: 'check' });
    // Backups keep when their newest snapshot was taken, for `status`.
    const snapshotTime = '2026-03-01T06:00:11.000Z';
    expect(s2.systems['payments-db']!.backup).toEqual({
      last: { sequence: 1, file: 'f1', time: r1.time, outcome: 'failure', snapshotTime },
      lastSuccess: { sequence: 0, file: 'f0', time: r0.time, outcome: 'success', snapshotTime },
    });
    expect(s2.systems.ledger!.check!.last.sequence).toBe(2);
    expect(s2.kinds.backup!.last.sequence).toBe(1);
    expect(s1.systems['payments-db']!.check).toBeUndefined();
    expect(parseState(stateBytes(s2))).toEqual(s2);
    expect(parseState(new TextEncoder().encode('{"format":"other"}'))).toBeUndefined();
    // A version 1 state (before `controls`) is not read: the writer rebuilds it from the records.
    expect(parseState(stateBytes({ ...s2, version: 1 } as never))).toBeUndefined();
  });

  it('keeps the newest result per control and system, and the measurements status reads', () => {
    const check = buildRecord(
      {
        kind: 'check',
        outcome: 'failure',
        systems: [
          { name: 'payments-db', policy: 'payments' },
          { name: 'ledger', policy: 'payments' },
        ],
        policies: [],
        controls: [
          { id: 'RB-RET-001', system: 'payments-db', status: 'pass', severity: 'high', message: 'holds' },
          { id: 'RB-RET-001', system: 'ledger', status: 'fail', severity: 'high', message: 'x'.repeat(400) },
          { id: 'policy/schema/required', status: 'fail' },
        ],
      },
      { sequence: 0, previous: null },
      defaults,
    );
    const s0 = nextState(undefined, check, 'f0', 'a'.repeat(64), 'FPR');
    // Without snapshot times, a backup's snapshot is as old as the run's start.
    const plain = buildRecord({ ...draft, measurements: {} }, { sequence: 0, previous: null }, defaults);
    expect(
      nextState(undefined, plain, 'f', 'a'.repeat(64), 'F').systems['payments-db']!.backup!.last.snapshotTime,
    ).toBe('2026-03-01T06:00:00.000Z');
    expect(s0.controls['RB-RET-001']).toEqual({
      'payments-db': { status: 'pass', sequence: 0, file: 'f0', time: check.time, severity: 'high' },
      ledger: {
        status: 'fail',
        sequence: 0,
        file: 'f0',
        time: check.time,
        severity: 'high',
        message: `${'x'.repeat(299)}…`,
      },
    });
    expect(s0.controls['policy/schema/required']).toEqual({
      '': { status: 'fail', sequence: 0, file: 'f0', time: check.time },
    });
    const recheck = buildRecord(
      { ...check, controls: [{ id: 'RB-RET-001', system: 'ledger', status: 'pass' }] },
      { sequence: 1, previous: 'a'.repeat(64) },
      defaults,
    );
    const s1 = nextState(s0, recheck, 'f1', 'b'.repeat(64), 'FPR');
    expect(s1.controls['RB-RET-001']!.ledger).toMatchObject({ status: 'pass', sequence: 1 });
    expect(s1.controls['RB-RET-001']!['payments-db']).toMatchObject({ status: 'pass', sequence: 0 });
    expect(s0.controls['RB-RET-001']!.ledger!.status).toBe('fail');
    const drill = buildRecord(
      {
        kind: 'drill',
        outcome: 'failure',
        systems: [{ name: 'ledger', policy: 'payments' }],
        policies: [],
        measurements: { restoreDurationMs: 1234, verified: false },
      },
      { sequence: 2, previous: 'b'.repeat(64) },
      defaults,
    );
    const backup = buildRecord(
      {
        ...draft,
        measurements: {
          snapshots: [
            { repository: 'a', id: '1', time: '2026-03-01T05:59:00.000Z' },
            { repository: 'b', id: '2', time: '2026-03-01T05:59:30.000Z' },
          ],
        },
      },
      { sequence: 3, previous: 'c'.repeat(64) },
      defaults,
    );
    const s3 = nextState(
      nextState(s1, drill, 'f2', 'c'.repeat(64), 'FPR'),
      backup,
      'f3',
      'd'.repeat(64),
      'FPR',
    );
    expect(s3.systems.ledger!.drill!.last).toEqual({
      sequence: 2,
      file: 'f2',
      time: drill.time,
      outcome: 'failure',
      restoreDurationMs: 1234,
      verified: false,
    });
    expect(s3.systems['payments-db']!.backup!.last.snapshotTime).toBe('2026-03-01T05:59:30.000Z');
    expect(s3.head).toEqual({
      sequence: 3,
      file: 'f3',
      time: backup.time,
      outcome: 'success',
      kind: 'backup',
      sha256: 'd'.repeat(64),
    });
  });
});

describe('run context', () => {
  it('comes from the GitHub Actions variables', () => {
    const run = runContext({
      GITHUB_ACTIONS: 'true',
      GITHUB_REPOSITORY: 'acme/payments',
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_WORKFLOW: 'backups',
      GITHUB_RUN_ID: '123',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_ACTOR: 'octocat',
      GITHUB_SHA: 'f'.repeat(40),
      GITHUB_EVENT_NAME: 'schedule',
      RUNNER_NAME: 'GitHub Actions 7',
      RUNNER_OS: 'Linux',
      RUNNER_ARCH: 'X64',
    });
    expect(run).toEqual({
      ci: 'github-actions',
      repository: 'acme/payments',
      serverUrl: 'https://github.com',
      workflow: 'backups',
      runId: '123',
      runAttempt: '2',
      actor: 'octocat',
      sha: 'f'.repeat(40),
      event: 'schedule',
      runner: { name: 'GitHub Actions 7', os: 'Linux', arch: 'X64' },
    });
  });

  it('outside Actions names the machine, and drops a malformed sha', () => {
    const run = runContext({ GITHUB_SHA: 'not-a-sha' });
    expect(run.ci).toBe('none');
    expect(run.sha).toBeUndefined();
    expect(run.runner?.os).toBe(process.platform);
  });
});
