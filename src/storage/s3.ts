import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  type ObjectLockRetentionMode,
  PutObjectCommand,
  type PutObjectCommandInput,
  PutObjectRetentionCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RepositoryData } from '../policy/model.ts';
import {
  type Backend,
  type ByteRange,
  checkName,
  NotFoundError,
  type ObjectInfo,
  StorageError,
} from './backend.ts';

export type S3Repository = NonNullable<RepositoryData['s3']>;

export interface S3BackendOptions extends S3Repository {
  /** Tries per request, the first included (default 5). */
  maxAttempts?: number;
  /** Upper bound of the first retry's random delay; it doubles for each further retry (default 200 ms). */
  retryDelayMs?: number;
  /** A connection idle for this long is dropped and the request retried (default 60 s). */
  idleTimeoutMs?: number;
  /** Objects larger than this are uploaded in parts (default 16 MiB). */
  multipartThreshold?: number;
}

const MiB = 1024 * 1024;
const DAY_MS = 86_400_000;
const MAX_RETRY_DELAY_MS = 20_000;

/** A repository under a prefix of an S3 bucket (AWS or any S3-compatible endpoint). */
export class S3Backend implements Backend {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly options: S3BackendOptions;

  constructor(options: S3BackendOptions) {
    this.options = options;
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+/, '');
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.location = `s3://${this.bucket}/${this.prefix}`;
    const whenRequired = options.checksums === 'when-required';
    // Credentials come from the SDK's default chain (environment, profiles, instance roles), never from here.
    this.client = new S3Client({
      // The region is irrelevant to most S3-compatible servers, but the SDK insists on one.
      region: options.region ?? (options.endpoint ? 'us-east-1' : undefined),
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      requestChecksumCalculation: whenRequired ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      responseChecksumValidation: whenRequired ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
      maxAttempts: options.maxAttempts ?? 5,
      retryStrategy: backoff(options.maxAttempts ?? 5, options.retryDelayMs ?? 200),
      requestHandler: { connectionTimeout: 10_000, socketTimeout: options.idleTimeoutMs ?? 60_000 },
    });
  }

  async write(name: string, parts: Uint8Array | readonly Uint8Array[]): Promise<void> {
    checkName(name);
    const data = parts instanceof Uint8Array ? parts : Buffer.concat(parts);
    const whole = data.byteLength <= (this.options.multipartThreshold ?? 16 * MiB);
    const params = this.putParams(name, data, whole);
    try {
      if (whole) {
        await this.client.send(new PutObjectCommand(params));
      } else {
        // Each part carries its own checksum (the SDK computes it from ChecksumAlgorithm).
        const upload = new Upload({ client: this.client, params, partSize: 8 * MiB, queueSize: 4 });
        await upload.done();
      }
    } catch (error) {
      throw this.failure(name, 'writing', error);
    }
  }

  async writeNew(name: string, data: Uint8Array): Promise<boolean> {
    checkName(name);
    try {
      await this.client.send(new PutObjectCommand({ ...this.putParams(name, data, true), IfNoneMatch: '*' }));
      return true;
    } catch (error) {
      // 412: the object exists. 409: another conditional write of it is in flight; it will win or fail,
      // and the caller reads what is there either way.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const code = codeOf(error);
      if (
        status === 412 ||
        status === 409 ||
        code === 'PreconditionFailed' ||
        code === 'ConditionalRequestConflict'
      )
        return false;
      throw this.failure(name, 'writing', error);
    }
  }

  /** A PUT of `data`, with the object lock's retention; `whole`: one request, which carries its checksum. */
  private putParams(name: string, data: Uint8Array, whole: boolean): PutObjectCommandInput {
    const lock = this.options.objectLock;
    const until = lock && retainUntil(lock, new Date());
    return {
      Bucket: this.bucket,
      Key: this.prefix + name,
      Body: data,
      ContentLength: data.byteLength,
      StorageClass: name.startsWith('data/')
        ? (this.options.storageClass as StorageClass | undefined)
        : undefined,
      ...(until && { ObjectLockMode: lockMode(lock), ObjectLockRetainUntilDate: until }),
      // Buckets with Object Lock refuse puts that carry no checksum.
      ...(lock && { ChecksumAlgorithm: 'SHA256' }),
      ...(lock && whole && { ChecksumSHA256: createHash('sha256').update(data).digest('base64') }),
    };
  }

  async read(name: string, range?: ByteRange): Promise<Uint8Array> {
    checkName(name);
    if (range?.length === 0) {
      if (!(await this.stat(name))) throw new NotFoundError(this.location, name);
      return new Uint8Array(0);
    }
    const bytes = await this.readBody(name, range);
    if (range && bytes.byteLength !== range.length) {
      const problem =
        bytes.byteLength < range.length
          ? `is truncated: wanted bytes ${range.offset}..${range.offset + range.length}, object ends at ${range.offset + bytes.byteLength} in`
          : `answered ${bytes.byteLength} bytes for a range of ${range.length} in`;
      throw new StorageError(this.location, name, problem);
    }
    return bytes;
  }

  /**
   * The SDK retries a request until its response headers arrive, not the body it then hands over: a
   * connection lost mid-body is tried again here while fewer than maxAttempts requests were made (so at
   * most 2 × maxAttempts − 1 in all, when the last GET's own retries run out).
   */
  private async readBody(name: string, range: ByteRange | undefined): Promise<Uint8Array> {
    const maxAttempts = this.options.maxAttempts ?? 5;
    let attempts = 0;
    for (;;) {
      let output: GetObjectCommandOutput;
      try {
        output = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.prefix + name,
            Range: range && `bytes=${range.offset}-${range.offset + range.length - 1}`,
          }),
        );
      } catch (error) {
        throw this.failure(name, 'reading', error);
      }
      attempts += output.$metadata.attempts ?? 1;
      try {
        return output.Body ? await output.Body.transformToByteArray() : new Uint8Array(0);
      } catch (error) {
        if (attempts >= maxAttempts) {
          const code = codeOf(error);
          throw new StorageError(
            this.location,
            name,
            `S3 ${code} (${(error as Error).message}, ${attempts} attempts) while reading`,
            { cause: error },
          );
        }
        const delay = this.options.retryDelayMs ?? 200;
        const ceiling = Math.min(MAX_RETRY_DELAY_MS, delay * 2 ** (attempts - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
      }
    }
  }

  async stat(name: string): Promise<ObjectInfo | undefined> {
    checkName(name);
    try {
      const output = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }),
      );
      return { name, size: output.ContentLength ?? 0 };
    } catch (error) {
      const failure = this.failure(name, 'inspecting', error);
      if (failure instanceof NotFoundError) return undefined;
      throw failure;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    try {
      const pages = paginateListObjectsV2(
        { client: this.client },
        { Bucket: this.bucket, Prefix: this.prefix + prefix },
      );
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key?.startsWith(this.prefix)) {
            out.push({ name: object.Key.slice(this.prefix.length), size: object.Size ?? 0 });
          }
        }
      }
    } catch (error) {
      throw this.failure(`${prefix}*`, 'listing', error, false);
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    checkName(name);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }));
    } catch (error) {
      const failure = this.failure(name, 'removing', error);
      if (!(failure instanceof NotFoundError)) throw failure;
    }
  }

  async retain(name: string, until: Date): Promise<void> {
    checkName(name);
    const lock = this.options.objectLock;
    if (!lock) return;
    const key = { Bucket: this.bucket, Key: this.prefix + name };
    try {
      let current: { Mode?: ObjectLockRetentionMode; RetainUntilDate?: Date } | undefined;
      try {
        current = (await this.client.send(new GetObjectRetentionCommand(key))).Retention;
      } catch (error) {
        if (codeOf(error) !== 'NoSuchObjectLockConfiguration') throw error;
      }
      if (current?.RetainUntilDate && current.RetainUntilDate >= until) return;
      // A compliance lock cannot be turned into a governance one, so an existing mode is kept.
      const Retention = { Mode: current?.Mode ?? lockMode(lock), RetainUntilDate: until };
      await this.client.send(new PutObjectRetentionCommand({ ...key, Retention }));
    } catch (error) {
      throw this.failure(name, 'extending the retention of', error);
    }
  }

  async retainedUntil(name: string): Promise<Date | undefined> {
    checkName(name);
    try {
      const output = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + name }),
      );
      return output.ObjectLockRetainUntilDate;
    } catch (error) {
      const failure = this.failure(name, 'inspecting', error);
      if (failure instanceof NotFoundError) return undefined;
      throw failure;
    }
  }

  lockUntil(now: Date): Date | undefined {
    const lock = this.options.objectLock;
    return lock && retainUntil(lock, now);
  }

  private failure(name: string, doing: string, error: unknown, notFound = true): Error {
    const code = codeOf(error);
    const meta = (error as { $metadata?: { httpStatusCode?: number; attempts?: number } }).$metadata;
    const status = meta?.httpStatusCode;
    if (
      notFound &&
      (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket'))
    ) {
      return new NotFoundError(this.location, name);
    }
    const message = (error as Error).message;
    const head = code === 'Unknown' && status ? `HTTP ${status}` : code;
    const details = [
      status && head !== `HTTP ${status}` ? `HTTP ${status}` : '',
      message && message !== code && message !== 'UnknownError' ? message : '',
      meta?.attempts ? `${meta.attempts} attempt${meta.attempts === 1 ? '' : 's'}` : '',
    ].filter(Boolean);
    const what = details.length > 0 ? `${head} (${details.join(', ')})` : head;
    return new StorageError(this.location, name, `S3 ${what} while ${doing}`, { cause: error });
  }
}

function codeOf(error: unknown): string {
  const { Code, code, name } = error as { Code?: string; code?: string; name?: string };
  return Code ?? code ?? name ?? 'unknown';
}

function lockMode(lock: NonNullable<S3Repository['objectLock']>): ObjectLockRetentionMode {
  return lock.mode === 'compliance' ? 'COMPLIANCE' : 'GOVERNANCE';
}

/** When an object written now may be deleted again, or undefined to leave it to the bucket's default. */
function retainUntil(lock: NonNullable<S3Repository['objectLock']>, now: Date): Date | undefined {
  if (!lock.days && !lock.years) return undefined;
  const until = new Date(now.getTime() + (lock.days ?? 0) * DAY_MS);
  until.setUTCFullYear(until.getUTCFullYear() + (lock.years ?? 0));
  return until;
}

type RetryStrategy = Extract<
  NonNullable<S3ClientConfig['retryStrategy']>,
  { acquireInitialRetryToken: unknown }
>;
type RetryToken = Awaited<ReturnType<RetryStrategy['acquireInitialRetryToken']>>;

/**
 * Bounded retries with exponential backoff and full jitter. The SDK classifies each error (throttling,
 * transient, server, client) and sleeps for the delay of the token returned here.
 */
function backoff(maxAttempts: number, baseDelayMs: number): RetryStrategy {
  const token = (retries: number, delay: number): RetryToken => ({
    getRetryCount: () => retries,
    getRetryDelay: () => delay,
  });
  return {
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info) => {
      const retries = previous.getRetryCount() + 1;
      if (info.errorType === 'CLIENT_ERROR' || retries >= maxAttempts) {
        throw info.error ?? new Error('no retry');
      }
      return token(retries, Math.random() * Math.min(MAX_RETRY_DELAY_MS, baseDelayMs * 2 ** (retries - 1)));
    },
    recordSuccess: () => {},
  };
}
