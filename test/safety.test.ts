import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runNode } from './helpers/run-node.ts';
import { workspace } from './helpers/workspace.ts';

const SECRET = 'hunter2-sentinel-3d1f0c';

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name}`],
  );
}

describe('check on an untrusted pull request', () => {
  it('runs nothing from the policy, reads no secret, connects nowhere and writes only its reports', () => {
    const marker = join(tmpdir(), `restorable-marker-${process.pid}-${Date.now()}`);
    const hostile = `apiVersion: restorable/v1
kind: BackupPolicy
metadata:
  name: hostile
  owner: "@evil/team"
  classification: confidential
  runbook: /etc/passwd
repositories:
  primary:
    s3: { bucket: evil-bucket, region: us-east-1, endpoint: "https://attacker.invalid", objectLock: { mode: compliance, days: 35 } }
systems:
  - name: pwn
    source: { command: [sh, -c, "touch ${marker}-source; echo $RESTORABLE_PASSPHRASE > ${marker}-env"] }
    schedule: "0 * * * *"
    rpo: 1h
    rto: 1h
    retention: { minimum: 35d, maximum: 1y }
    encryption: { recipients: [/etc/shadow, ../../../root/.gnupg/secring.gpg], passphrase: { env: RESTORABLE_PASSPHRASE } }
    repositories: [primary]
    drill:
      schedule: "0 5 * * 1"
      verify: [ { command: [sh, -c, "touch ${marker}-verify"] } ]
`;
    const root = workspace({ '.restorable/hostile.yaml': hostile });
    const before = listFiles(root);
    const traceFile = join(root, '..', `trace-${process.pid}-${Date.now()}.jsonl`);
    const run = runNode(
      [
        '--import',
        join(REPO_ROOT, 'test/helpers/trace-preload.mjs'),
        join(REPO_ROOT, 'dist/cli.js'),
        'check',
        '--json',
        'report.json',
        '--sarif',
        'report.sarif',
      ],
      {
        cwd: root,
        env: {
          RESTORABLE_TRACE_FILE: traceFile,
          RESTORABLE_PASSPHRASE: SECRET,
          AWS_SECRET_ACCESS_KEY: SECRET,
          GITHUB_TOKEN: SECRET,
        },
      },
    );
    // The policy fails controls (literal-free but keys outside the repository, no offsite copy …).
    expect(run.status).toBe(1);
    expect(run.stdout).toContain('RB-ENC-002');

    for (const suffix of ['-source', '-env', '-verify']) expect(existsSync(`${marker}${suffix}`)).toBe(false);
    const trace = readFileSync(traceFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; detail: string });
    expect(trace.length).toBeGreaterThan(0); // the trace works: it saw the policy being read
    expect(trace.some((t) => t.kind === 'fs' && t.detail.endsWith('.restorable/hostile.yaml'))).toBe(true);
    expect(trace.filter((t) => t.kind === 'exec')).toEqual([]);
    expect(trace.filter((t) => t.kind === 'net')).toEqual([]);
    const envRead = trace.filter((t) => t.kind === 'env').map((t) => t.detail);
    for (const secret of ['RESTORABLE_PASSPHRASE', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN']) {
      expect(envRead).not.toContain(secret);
    }
    const outside = trace
      .filter((t) => t.kind === 'fs')
      .map((t) => t.detail.replace(/^\S+ /, ''))
      .filter(
        (path) =>
          !path.startsWith(root) &&
          !path.startsWith(REPO_ROOT) &&
          !path.startsWith('.') &&
          path !== traceFile,
      );
    expect(outside).toEqual([]);

    expect(`${run.stdout}${run.stderr}`).not.toContain(SECRET);
    const after = listFiles(root);
    expect(after.filter((f) => !before.includes(f)).sort()).toEqual(['report.json', 'report.sarif']);
    for (const file of ['report.json', 'report.sarif'])
      expect(readFileSync(join(root, file), 'utf8')).not.toContain(SECRET);
  });
});
