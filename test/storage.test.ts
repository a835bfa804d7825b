import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, NotFoundError, StorageError } from '../src/storage/backend.ts';
import { LocalBackend } from '../src/storage/local.ts';
import { S3Backend, type S3BackendOptions } from '../src/storage/s3.ts';
import { type FaultProxy, type RecordedRequest, startFaultProxy } from './helpers/fault-proxy.ts';
import { type S3Server, startS3Server, useS3rverCredentials } from './helpers/s3-server.ts';

const MiB = 1024 * 1024;
const BUCKET = 'restorable-test';

/** A valid 64-hex object id, different for every `seed`. */
const id = (seed: string | number) => createHash('sha256').update(String(seed)).digest('hex');
const dataName = (seed: string | number) => {
  const hex = id(seed);
  return `data/${hex.slice(0, 2)}/${hex}`;
};
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Runs `promise` and returns what it rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Runs `tasks` with at most `limit` in flight. */
async function inParallel(limit: number, tasks: (() => Promise<unknown>)[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

let restoreEnv: () => void;
let s3: S3Server;
let proxy: FaultProxy;
const temps: string[] = [];

beforeAll(async () => {
  restoreEnv = useS3rverCredentials();
  s3 = await startS3Server([BUCKET]);
  proxy = await startFaultProxy(s3.endpoint);
});

afterAll(async () => {
  await proxy?.close();
  await s3?.close();
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
  restoreEnv?.();
});

afterEach(() => proxy.reset());

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'restorable-storage-'));
  temps.push(dir);
  return dir;
}

let prefixes = 0;
/** A backend on s3rver under a prefix of its own, so tests share the bucket but never see each other. */
function s3Backend(options: Partial<S3BackendOptions> = {}, endpoint = s3.endpoint): S3Backend {
  prefixes += 1;
  return new S3Backend({
    bucket: BUCKET,
    region: 'us-east-1',
    prefix: `run-${process.pid}-${prefixes}/`,
    endpoint,
    forcePathStyle: true,
    retryDelayMs: 5,
    ...options,
  });
}

/** The behaviour every Backend must share; `open` returns a fresh, empty repository. */
function conformance(label: string, open: () => Promise<Backend>): void {
  describe(`${label} backend`, () => {
    it('reads back what it wrote, byte for byte, under every kind of name', async () => {
      const backend = await open();
      const names = [
        'config',
        `keys/${id(1)}`,
        `index/${id(2)}`,
        `snapshots/${id(3)}`,
        `locks/${id(4)}`,
        dataName(5),
      ];
      const contents = names.map(() => randomBytes(1000 + Math.floor(Math.random() * 5000)));
      for (const [i, name] of names.entries()) await backend.write(name, contents[i]!);
      for (const [i, name] of names.entries()) {
        const back = await backend.read(name);
        expect(back).toBeInstanceOf(Uint8Array);
        expect(Buffer.from(back).equals(contents[i]!)).toBe(true);
      }
    });

    it('reads byte ranges: at the start, in the middle, up to the last byte, and empty', async () => {
      const backend = await open();
      const data = randomBytes(10_000);
      await backend.write('config', data);
      expect(Buffer.from(await backend.read('config', { offset: 0, length: 10 }))).toEqual(
        data.subarray(0, 10),
      );
      expect(Buffer.from(await backend.read('config', { offset: 4321, length: 1234 }))).toEqual(
        data.subarray(4321, 5555),
      );
      expect(Buffer.from(await backend.read('config', { offset: 9_000, length: 1_000 }))).toEqual(
        data.subarray(9_000),
      );
      expect((await backend.read('config', { offset: 500, length: 0 })).length).toBe(0);
    });

    it('refuses a range past the end of the object with a StorageError naming it', async () => {
      const backend = await open();
      const name = dataName('short');
      await backend.write(name, randomBytes(100));
      const overlapping = await rejection(backend.read(name, { offset: 90, length: 20 }));
      expect(overlapping).toBeInstanceOf(StorageError);
      expect((overlapping as StorageError).object).toBe(name);
      expect(overlapping.message).toMatch(/truncated/);
      expect(overlapping.message).toContain(name);
      const beyond = await rejection(backend.read(name, { offset: 200, length: 10 }));
      expect(beyond).toBeInstanceOf(StorageError);
      expect((beyond as StorageError).object).toBe(name);
    });

    it('throws NotFoundError for a missing object, and stat says undefined', async () => {
      const backend = await open();
      const name = `snapshots/${id('missing')}`;
      const error = await rejection(backend.read(name));
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).object).toBe(name);
      expect(error.message).toContain(backend.location);
      expect(await rejection(backend.read(name, { offset: 0, length: 1 }))).toBeInstanceOf(NotFoundError);
      expect(await rejection(backend.read(name, { offset: 0, length: 0 }))).toBeInstanceOf(NotFoundError);
      expect(await backend.stat(name)).toBeUndefined();
    });

    it('stats sizes', async () => {
      const backend = await open();
      await backend.write(`index/${id('a')}`, randomBytes(12_345));
      expect(await backend.stat(`index/${id('a')}`)).toEqual({ name: `index/${id('a')}`, size: 12_345 });
    });

    it('lists by prefix, with names relative to the repository', async () => {
      const backend = await open();
      const data = [dataName(1), dataName(2), dataName(3)];
      const sameDir = `data/${id(1).slice(0, 2)}/${id(1).slice(0, 2)}${id('other').slice(2)}`;
      const snapshots = [`snapshots/${id(10)}`, `snapshots/${id(11)}`];
      const sizes = new Map([...data, sameDir, ...snapshots, 'config'].map((name, i) => [name, i + 1]));
      for (const [name, size] of sizes) await backend.write(name, new Uint8Array(size));
      const sorted = async (prefix: string) =>
        (await backend.list(prefix)).sort((a, b) => a.name.localeCompare(b.name));
      expect(await sorted('snapshots/')).toEqual(
        snapshots.sort().map((name) => ({ name, size: sizes.get(name) })),
      );
      expect((await sorted('data/')).map((info) => info.name)).toEqual([...data, sameDir].sort());
      expect((await sorted(`data/${id(1).slice(0, 2)}/`)).map((info) => info.name)).toEqual(
        [dataName(1), sameDir].sort(),
      );
      expect((await sorted('')).length).toBe(7);
      expect(await backend.list('index/')).toEqual([]);
      expect(await backend.list('keys/')).toEqual([]);
    });

    it('lists more objects than one S3 page holds', async () => {
      const backend = await open();
      const names = Array.from({ length: 1_050 }, (_, i) => `index/${id(`page-${i}`)}`);
      await inParallel(
        32,
        names.map((name) => () => backend.write(name, new Uint8Array([1, 2, 3]))),
      );
      const listed = await backend.list('index/');
      expect(listed.length).toBe(names.length);
      expect(new Set(listed.map((info) => info.name))).toEqual(new Set(names));
      expect(listed.every((info) => info.size === 3)).toBe(true);
    });

    it('removes objects; removing again, or removing what never existed, is fine', async () => {
      const backend = await open();
      const name = `locks/${id('lock')}`;
      await backend.write(name, randomBytes(10));
      await backend.write('config', randomBytes(10));
      await backend.remove(name);
      expect(await backend.stat(name)).toBeUndefined();
      expect(await rejection(backend.read(name))).toBeInstanceOf(NotFoundError);
      expect(await backend.list('locks/')).toEqual([]);
      await backend.remove(name);
      await backend.remove(`locks/${id('never')}`);
      expect(await backend.stat('config')).toEqual({ name: 'config', size: 10 });
    });

    it('overwrites the whole object (a shorter replacement leaves no tail of the old one)', async () => {
      const backend = await open();
      const long = randomBytes(50_000);
      const short = randomBytes(1_000);
      await backend.write('config', long);
      await backend.write('config', short);
      expect(Buffer.from(await backend.read('config')).equals(short)).toBe(true);
      expect(await backend.stat('config')).toEqual({ name: 'config', size: 1_000 });
      expect(await backend.list('config')).toEqual([{ name: 'config', size: 1_000 }]);
    });

    it('refuses names outside the format, before touching storage', async () => {
      const backend = await open();
      const bad = [
        '',
        '../config',
        '/config',
        'config/',
        './config',
        `snapshots/${id(1).toUpperCase()}`,
        `snapshots/${id(1).slice(1)}`,
        `data/${id(1)}`,
        `data/zz/${id(1)}`,
        `data/ab/../../${id(1)}`,
        `keys/${id(1)}/x`,
        `tmp/${id(1)}`,
        `snapshots/${id(1)}\n`,
      ];
      for (const name of bad) {
        await expect(backend.write(name, new Uint8Array(1)), name).rejects.toThrow(RangeError);
        await expect(backend.read(name), name).rejects.toThrow(RangeError);
        await expect(backend.stat(name), name).rejects.toThrow(RangeError);
        await expect(backend.remove(name), name).rejects.toThrow(RangeError);
      }
      expect(await backend.list('')).toEqual([]);
    });

    it('stores an object larger than the multipart threshold', async () => {
      const backend = await open();
      const name = dataName('large');
      const data = randomBytes(20 * MiB + 12_345);
      await backend.write(name, data);
      expect(await backend.stat(name)).toEqual({ name, size: data.length });
      expect(sha256(await backend.read(name))).toBe(sha256(data));
      // A range across the boundary of two 8 MiB parts.
      const across = await backend.read(name, { offset: 8 * MiB - 100, length: 200 });
      expect(Buffer.from(across).equals(data.subarray(8 * MiB - 100, 8 * MiB + 100))).toBe(true);
    });

    it('creates an object only when none has its name, and one of many racing writers wins', async () => {
      const backend = await open();
      const first = new TextEncoder().encode('first\n');
      expect(await backend.writeNew('config', first)).toBe(true);
      expect(await backend.writeNew('config', new TextEncoder().encode('second\n'))).toBe(false);
      expect(Buffer.from(await backend.read('config')).toString()).toBe('first\n');

      const racers = Array.from({ length: 8 }, (_, i) => new TextEncoder().encode(`writer ${i}\n`));
      const won = await Promise.all(racers.map((bytes) => backend.writeNew(`keys/${id('race')}`, bytes)));
      expect(won.filter(Boolean)).toHaveLength(1);
      const kept = Buffer.from(await backend.read(`keys/${id('race')}`)).toString();
      expect(kept).toBe(`writer ${won.indexOf(true)}\n`);
      expect((await backend.list('keys/')).map((o) => o.name)).toEqual([`keys/${id('race')}`]);
    });

    it('stores an empty object', async () => {
      const backend = await open();
      const name = `snapshots/${id('empty')}`;
      await backend.write(name, new Uint8Array(0));
      expect((await backend.read(name)).length).toBe(0);
      expect(await backend.stat(name)).toEqual({ name, size: 0 });
      expect(await backend.list('snapshots/')).toEqual([{ name, size: 0 }]);
    });
  });
}

conformance('local', async () => new LocalBackend(await tempDir()));
conformance('S3', async () => s3Backend());

describe('local backend only', () => {
  /** Every file and directory under `dir`, relative. */
  async function tree(dir: string): Promise<string[]> {
    return (await readdir(dir, { recursive: true })).map(String);
  }

  it('leaves no temporary files behind, after successes and after a failed write', async () => {
    const root = await tempDir();
    const backend = new LocalBackend(root);
    await backend.write('config', randomBytes(100));
    await backend.write('config', randomBytes(200));
    await backend.write(dataName(1), randomBytes(300));
    // A directory where the object should go makes the final rename fail.
    await mkdir(join(root, `snapshots/${id(2)}`, 'blocker'), { recursive: true });
    const error = await rejection(backend.write(`snapshots/${id(2)}`, randomBytes(10)));
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).object).toBe(`snapshots/${id(2)}`);
    expect((await tree(root)).filter((path) => path.includes('.tmp-'))).toEqual([]);
  });

  it('does not list temporary files of writes in progress', async () => {
    const root = await tempDir();
    const backend = new LocalBackend(root);
    await backend.write(dataName(1), randomBytes(10));
    await writeFile(join(root, dataName(1).slice(0, 7), '.tmp-0123456789abcdef'), 'partial');
    expect((await backend.list('data/')).map((info) => info.name)).toEqual([dataName(1)]);
  });

  it('finds abandoned temporary files by age anywhere in the repository, and removes nothing else', async () => {
    const root = await tempDir();
    const backend = new LocalBackend(root);
    await backend.write(dataName(1), randomBytes(10));
    await backend.write(`snapshots/${id(2)}`, randomBytes(10));
    const old = new Date(Date.now() - 3 * 3600_000);
    const stale = [
      '.tmp-00000000000000aa',
      `${dataName(1).slice(0, 7)}/.tmp-00000000000000bb`,
      'locks/.tmp-00000000000000cc',
    ];
    for (const name of stale) {
      await mkdir(join(root, name, '..'), { recursive: true });
      await writeFile(join(root, name), 'partial');
      await utimes(join(root, name), old, old);
    }
    await writeFile(join(root, 'snapshots/.tmp-00000000000000dd'), 'in progress');
    const found = await backend.abandoned(new Date(Date.now() - 3600_000));
    expect(found.map((info) => info.name).sort()).toEqual([...stale].sort());
    expect(found.every((info) => info.size === 7)).toBe(true);
    for (const { name } of found) await backend.removeAbandoned(name);
    expect(await backend.abandoned(new Date())).toEqual([
      { name: 'snapshots/.tmp-00000000000000dd', size: 11 },
    ]);
    for (const name of [
      dataName(1),
      `snapshots/${id(2)}`,
      'snapshots/../x/.tmp-00000000000000ee',
      'config',
    ]) {
      await expect(backend.removeAbandoned(name)).rejects.toThrow(RangeError);
    }
    expect((await backend.list('')).map((info) => info.name).sort()).toEqual(
      [dataName(1), `snapshots/${id(2)}`].sort(),
    );
  });

  it('says clearly where a truncated file ends', async () => {
    const backend = new LocalBackend(await tempDir());
    await backend.write('config', randomBytes(100));
    const error = await rejection(backend.read('config', { offset: 50, length: 100 }));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(/truncated: wanted bytes 50\.\.150, file ends at 100 in config$/);
  });

  it('never lets a reader see a half-written replacement', async () => {
    const backend = new LocalBackend(await tempDir());
    const versions = [Buffer.alloc(2 * MiB, 1), Buffer.alloc(3 * MiB, 2)];
    const digests = new Set(versions.map(sha256));
    await backend.write('config', versions[0]!);
    let writing = true;
    const writer = (async () => {
      for (let i = 1; i <= 20; i++) await backend.write('config', versions[i % 2]!);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      expect(digests.has(sha256(await backend.read('config')))).toBe(true);
      reads += 1;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
  });
});

describe('S3 backend only', () => {
  /** The requests the proxy saw for one object name (any prefix). */
  const requestsFor = (name: string) => proxy.requests.filter((request) => request.path.endsWith(`/${name}`));
  const header = (request: RecordedRequest | undefined, name: string) => request?.headers[name];
  const checksumHeaders = (request: RecordedRequest) =>
    Object.keys(request.headers).filter(
      (key) => key.startsWith('x-amz-checksum') || key.startsWith('x-amz-sdk-checksum'),
    );

  it('names the bucket and prefix in its location, and keeps objects under the prefix', async () => {
    const backend = new S3Backend({
      bucket: BUCKET,
      prefix: '/team/payments',
      endpoint: s3.endpoint,
      forcePathStyle: true,
    });
    expect(backend.location).toBe(`s3://${BUCKET}/team/payments/`);
    expect(new S3Backend({ bucket: BUCKET, endpoint: s3.endpoint }).location).toBe(`s3://${BUCKET}/`);
    await backend.write('config', new Uint8Array([7, 8, 9]));
    const raw = new S3Client({ region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true });
    const object = await raw.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'team/payments/config' }));
    expect(await object.Body?.transformToByteArray()).toEqual(new Uint8Array([7, 8, 9]));
    expect(await backend.list('')).toEqual([{ name: 'config', size: 3 }]);
    raw.destroy();
  });

  it('retries injected 503s and connection resets, then succeeds', async () => {
    const backend = s3Backend({}, proxy.endpoint);
    const name = dataName('retry');
    const data = randomBytes(4096);
    proxy.fail({ status: 503, code: 'SlowDown' }, { times: 2 });
    await backend.write(name, data);
    expect(requestsFor(name).map((request) => request.method)).toEqual(['PUT', 'PUT', 'PUT']);

    proxy.fail('reset', { times: 2 });
    expect(Buffer.from(await backend.read(name)).equals(data)).toBe(true);
    proxy.fail({ status: 500, code: 'InternalError' });
    expect(await backend.stat(name)).toEqual({ name, size: 4096 });
    proxy.fail({ status: 503 });
    expect((await backend.list('data/')).map((info) => info.name)).toEqual([name]);
    proxy.fail({ status: 503 });
    await backend.remove(name);
    expect(await backend.stat(name)).toBeUndefined();
  });

  it('retries a request that hangs, once the connection has been idle too long', async () => {
    const backend = s3Backend({ idleTimeoutMs: 300 }, proxy.endpoint);
    await backend.write('config', new Uint8Array([1]));
    proxy.fail('hang');
    expect(await backend.read('config')).toEqual(new Uint8Array([1]));
    expect(requestsFor('config').filter((request) => request.method === 'GET').length).toBe(2);
  });

  it('gives up after maxAttempts with a StorageError naming the object and the S3 error', async () => {
    const backend = s3Backend({ maxAttempts: 3 }, proxy.endpoint);
    const name = `snapshots/${id('doomed')}`;
    proxy.fail({ status: 503, code: 'SlowDown' }, { times: Number.POSITIVE_INFINITY });
    const started = Date.now();
    const error = await rejection(backend.write(name, randomBytes(100)));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).object).toBe(name);
    expect(error.message).toContain(name);
    expect(error.message).toContain(backend.location);
    expect(error.message).toMatch(/SlowDown.*HTTP 503.*3 attempts/);
    expect(error.message).not.toContain(process.env.AWS_SECRET_ACCESS_KEY);
    expect(requestsFor(name).length).toBe(3);

    const read = await rejection(backend.read(name));
    expect(read).toBeInstanceOf(StorageError);
    expect(read).not.toBeInstanceOf(NotFoundError);
    expect(await rejection(backend.stat(name))).toBeInstanceOf(StorageError);
    expect(await rejection(backend.list('snapshots/'))).toBeInstanceOf(StorageError);
    expect(await rejection(backend.remove(name))).toBeInstanceOf(StorageError);
  });

  it('gives up on a connection that keeps dropping, saying so', async () => {
    const backend = s3Backend({ maxAttempts: 2 }, proxy.endpoint);
    proxy.fail('reset', { times: Number.POSITIVE_INFINITY });
    const error = await rejection(backend.read('config'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(/ECONNRESET.*2 attempts\) while reading config$/);
    expect(requestsFor('config').length).toBe(2);
  });

  it('does not retry errors that retrying cannot fix', async () => {
    const backend = s3Backend({}, proxy.endpoint);
    proxy.fail({ status: 403, code: 'AccessDenied' });
    const error = await rejection(backend.write('config', new Uint8Array(1)));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toMatch(/AccessDenied.*HTTP 403.*1 attempt\)/);
    expect(requestsFor('config').length).toBe(1);
  });

  it('reports a missing bucket as a StorageError, not as a missing object', async () => {
    const backend = s3Backend({ bucket: 'no-such-bucket' });
    const error = await rejection(backend.read('config'));
    expect(error).toBeInstanceOf(StorageError);
    expect(error.message).toContain('NoSuchBucket');
  });

  it('sends object-lock retention and a SHA-256 checksum on every put, storage class on data only', async () => {
    const backend = s3Backend(
      {
        objectLock: { mode: 'compliance', days: 35 },
        storageClass: 'STANDARD_IA',
        checksums: 'when-required',
      },
      proxy.endpoint,
    );
    const config = randomBytes(500);
    const data = randomBytes(700);
    const before = Date.now();
    await backend.write('config', config);
    await backend.write(dataName(1), data);
    const [configPut] = requestsFor('config');
    const [dataPut] = requestsFor(dataName(1));
    for (const [put, body] of [
      [configPut, config],
      [dataPut, data],
    ] as const) {
      expect(header(put, 'x-amz-object-lock-mode')).toBe('COMPLIANCE');
      const until = Date.parse(String(header(put, 'x-amz-object-lock-retain-until-date')));
      expect(until).toBeGreaterThanOrEqual(before + 35 * 86_400_000 - 1_000);
      expect(until).toBeLessThanOrEqual(Date.now() + 35 * 86_400_000 + 1_000);
      expect(header(put, 'x-amz-checksum-sha256')).toBe(createHash('sha256').update(body).digest('base64'));
    }
    expect(header(configPut, 'x-amz-storage-class')).toBeUndefined();
    expect(header(dataPut, 'x-amz-storage-class')).toBe('STANDARD_IA');
    expect(Buffer.from(await backend.read(dataName(1))).equals(data)).toBe(true);
  });

  it('sends governance retention counted in years', async () => {
    const backend = s3Backend({ objectLock: { mode: 'governance', years: 1 } }, proxy.endpoint);
    await backend.write('config', new Uint8Array(1));
    const [put] = requestsFor('config');
    expect(header(put, 'x-amz-object-lock-mode')).toBe('GOVERNANCE');
    const until = new Date(String(header(put, 'x-amz-object-lock-retain-until-date')));
    const days = (until.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(367);
  });

  it('locks multipart uploads and checksums every part', async () => {
    const backend = s3Backend(
      { objectLock: { mode: 'governance', days: 1 }, checksums: 'when-required' },
      proxy.endpoint,
    );
    const name = dataName('locked-large');
    const data = randomBytes(17 * MiB);
    await backend.write(name, data);
    const requests = requestsFor(name);
    const create = requests.find((request) => request.method === 'POST' && request.query.has('uploads'));
    expect(header(create, 'x-amz-object-lock-mode')).toBe('GOVERNANCE');
    expect(header(create, 'x-amz-object-lock-retain-until-date')).toBeDefined();
    expect(header(create, 'x-amz-checksum-algorithm')).toBe('SHA256');
    const parts = requests.filter((request) => request.method === 'PUT' && request.query.has('partNumber'));
    expect(parts.length).toBe(3);
    for (const part of parts) {
      expect(header(part, 'x-amz-checksum-sha256')).toBe(
        createHash('sha256').update(part.body).digest('base64'),
      );
    }
    expect(sha256(await backend.read(name))).toBe(sha256(data));
  });

  it('sends no checksum headers on plain puts when checksums are only computed when required', async () => {
    await s3Backend({ checksums: 'when-required' }, proxy.endpoint).write('config', randomBytes(100));
    const [plain] = requestsFor('config');
    expect(plain && checksumHeaders(plain)).toEqual([]);
    proxy.reset();
    await s3Backend({ checksums: 'when-supported' }, proxy.endpoint).write('config', randomBytes(100));
    const [checked] = requestsFor('config');
    expect(checked && checksumHeaders(checked)).not.toEqual([]);
  });

  it('extends an object retention, never shortens it, keeping a compliance mode', async () => {
    // s3rver has no Object Lock, so the proxy plays the retention API for it.
    const retention = new Map<string, { mode: string; until: string }>();
    proxy.answer((request) => {
      if (!request.query.has('retention')) return undefined;
      if (request.method === 'GET') {
        const held = retention.get(request.path);
        if (!held) {
          return { status: 404, body: '<Error><Code>NoSuchObjectLockConfiguration</Code></Error>' };
        }
        return {
          status: 200,
          body: `<Retention><Mode>${held.mode}</Mode><RetainUntilDate>${held.until}</RetainUntilDate></Retention>`,
        };
      }
      const body = request.body.toString();
      const mode = /<Mode>(\w+)<\/Mode>/.exec(body)?.[1] ?? '';
      const until = /<RetainUntilDate>([^<]+)<\/RetainUntilDate>/.exec(body)?.[1] ?? '';
      retention.set(request.path, { mode, until });
      return { status: 200 };
    });
    const backend = s3Backend({ objectLock: { mode: 'governance', days: 1 } }, proxy.endpoint);
    const name = dataName('retained');
    await backend.write(name, randomBytes(10));
    const puts = () => requestsFor(name).filter((r) => r.method === 'PUT' && r.query.has('retention')).length;

    const first = new Date(Date.now() + 30 * 86_400_000);
    await backend.retain(name, first);
    expect(puts()).toBe(1);
    const [key, held] = [...retention.entries()][0]!;
    expect(key.endsWith(name)).toBe(true);
    expect(held.mode).toBe('GOVERNANCE');
    expect(Date.parse(held.until)).toBe(first.getTime());

    await backend.retain(name, new Date(Date.now() + 10 * 86_400_000));
    expect(puts()).toBe(1);
    expect(Date.parse(retention.get(key)!.until)).toBe(first.getTime());

    retention.set(key, { mode: 'COMPLIANCE', until: first.toISOString() });
    const later = new Date(Date.now() + 60 * 86_400_000);
    await backend.retain(name, later);
    expect(puts()).toBe(2);
    expect(retention.get(key)).toEqual({ mode: 'COMPLIANCE', until: later.toISOString() });
  });

  it('reads an object retain-until date from HeadObject, undefined when unlocked or missing', async () => {
    const backend = s3Backend({ objectLock: { mode: 'governance', days: 1 } }, proxy.endpoint);
    const locked = dataName('locked-head');
    const plain = dataName('plain-head');
    await backend.write(locked, randomBytes(10));
    await backend.write(plain, randomBytes(10));
    const until = '2031-01-02T03:04:05.000Z';
    proxy.answer((request) =>
      request.method === 'HEAD' && request.path.endsWith(`/${locked}`)
        ? {
            status: 200,
            headers: {
              'x-amz-object-lock-mode': 'COMPLIANCE',
              'x-amz-object-lock-retain-until-date': until,
              'content-length': '10',
            },
          }
        : undefined,
    );
    expect((await backend.retainedUntil(locked))?.toISOString()).toBe(until);
    expect(await backend.retainedUntil(plain)).toBeUndefined();
    expect(await backend.retainedUntil(dataName('never-written'))).toBeUndefined();
    expect(backend.lockUntil(new Date('2026-01-01T00:00:00Z'))?.toISOString()).toBe(
      '2026-01-02T00:00:00.000Z',
    );
    expect(s3Backend({}).lockUntil(new Date())).toBeUndefined();
    const local = new LocalBackend(await tempDir());
    await local.write(locked, randomBytes(10));
    expect(await local.retainedUntil(locked)).toBeUndefined();
  });

  it('ignores retain when the repository asks for no object lock', async () => {
    const backend = s3Backend({}, proxy.endpoint);
    await backend.retain(`snapshots/${id(1)}`, new Date(Date.now() + 86_400_000));
    expect(proxy.requests).toEqual([]);
  });
});
