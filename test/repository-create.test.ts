import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRepository } from '../src/commands/open-repository.ts';
import type { SystemData } from '../src/policy/model.ts';
import type { Backend } from '../src/storage/backend.ts';
import { LocalBackend } from '../src/storage/local.ts';
import { S3Backend } from '../src/storage/s3.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './helpers/s3-server.ts';

// Parallel jobs of a scale-out workflow (docs/scale-out.md) can all find a repository missing. Each writes its
// key wrapper and then the config only if none exists; the losers drop their wrapper and use the winner's.
// Here four openings race in one process, so every one of them reaches the config write before any finishes.

const BUCKET = 'restorable-create';
const SYSTEM: SystemData = {
  name: 'fleet',
  source: { paths: ['data'] },
  encryption: { passphrase: { env: 'RESTORABLE_PASSPHRASE' } },
  repositories: ['primary'],
};
const env = { RESTORABLE_PASSPHRASE: 'racing creators' };

let s3: S3Server;
let restoreEnv: () => void;
const dirs: string[] = [];
beforeAll(async () => {
  restoreEnv = useS3rverCredentials();
  s3 = await startS3Server([BUCKET]);
});
afterAll(async () => {
  await s3?.close();
  restoreEnv?.();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const backends: [string, () => Promise<Backend>][] = [
  [
    'local',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'restorable-create-'));
      dirs.push(dir);
      return new LocalBackend(join(dir, 'repo'));
    },
  ],
  [
    'S3',
    async () =>
      new S3Backend({
        bucket: BUCKET,
        region: 'us-east-1',
        prefix: `race-${Math.random().toString(16).slice(2)}/`,
        endpoint: s3.endpoint,
        forcePathStyle: true,
      }),
  ],
];

describe.each(backends)('creating a repository on the %s backend', (_label, open) => {
  it('four racing creators end with one repository, one key and one wrapper', async () => {
    const backend = await open();
    const logs: string[][] = [[], [], [], []];
    const repos = await Promise.all(
      logs.map((log) =>
        openRepository(backend, {
          root: '.',
          system: SYSTEM,
          env,
          create: true,
          log: (line) => log.push(line),
        }),
      ),
    );
    const ids = new Set(repos.map((repo) => repo.config.id));
    expect(ids.size).toBe(1);
    expect(logs.filter((log) => log.some((line) => line.startsWith('created repository')))).toHaveLength(1);
    expect(
      logs.filter((log) => log.some((line) => /created by another run at the same time/.test(line))),
    ).toHaveLength(3);
    expect((await backend.list('keys/')).length).toBe(1);

    // What one sealed, the others open: they hold the same master key.
    const sealed = repos[0]!.seal('test', new TextEncoder().encode('sealed by the first'));
    const reopened = await openRepository(backend, { root: '.', system: SYSTEM, env, create: false });
    for (const repo of [...repos, reopened]) {
      expect(Buffer.from(repo.open('test', 'probe', sealed)).toString()).toBe('sealed by the first');
    }
  });
});
