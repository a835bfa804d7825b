import { createHash, type KeyObject, randomBytes, type webcrypto } from 'node:crypto';
import type { Backend } from '../storage/backend.ts';
import { NotFoundError } from '../storage/backend.ts';
import { gearTable } from './chunker.ts';
import {
  deriveKeys,
  importAsyncDataKey,
  open,
  openAsync,
  prepareKey,
  SealError,
  type SubKeys,
  seal,
  sealContext,
} from './crypto.ts';

/**
 * A repository: its plain `config` (format, version, id) and, once unlocked, the subkeys of its master key.
 * Every other object is sealed with the data key; `open` and `seal` here bind each to its kind and name.
 */
export const FORMAT = 'restorable-repository';
export const FORMAT_VERSION = 1;

export interface RepositoryConfig {
  format: typeof FORMAT;
  version: number;
  id: string;
  created: string;
}

export class RepositoryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RepositoryError';
  }
}

export class Repository {
  readonly backend: Backend;
  readonly config: RepositoryConfig;
  readonly keys: SubKeys;
  /** The data and id keys, prepared once (see crypto.prepareKey). */
  readonly dataKey: KeyObject;
  readonly idKey: KeyObject;
  readonly gear: Uint32Array;

  constructor(backend: Backend, config: RepositoryConfig, masterKey: Uint8Array) {
    this.backend = backend;
    this.config = config;
    this.keys = deriveKeys(masterKey);
    this.dataKey = prepareKey(this.keys.data);
    this.idKey = prepareKey(this.keys.id);
    this.gear = gearTable(this.keys.chunker);
  }

  get location(): string {
    return this.backend.location;
  }

  private asyncDataKeyPromise: Promise<webcrypto.CryptoKey> | undefined;

  /** The data key imported into WebCrypto, for decryption in the thread pool. */
  private asyncDataKey(): Promise<webcrypto.CryptoKey> {
    this.asyncDataKeyPromise ??= importAsyncDataKey(this.keys.data);
    return this.asyncDataKeyPromise;
  }

  async openAsync(kind: string, name: string, sealed: Uint8Array): Promise<Uint8Array> {
    try {
      return await openAsync(await this.asyncDataKey(), sealed, sealContext(kind, this.config.id));
    } catch (error) {
      if (error instanceof SealError) {
        throw new RepositoryError(`${this.location}: ${name} is damaged: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** Seals a metadata object (`index`, `snapshot`): the context is authenticated, so objects cannot be swapped. */
  seal(kind: string, plaintext: Uint8Array | readonly Uint8Array[]): Uint8Array {
    return seal(this.dataKey, plaintext, sealContext(kind, this.config.id));
  }

  open(kind: string, name: string, sealed: Uint8Array): Uint8Array {
    try {
      return open(this.dataKey, sealed, sealContext(kind, this.config.id));
    } catch (error) {
      if (error instanceof SealError) {
        throw new RepositoryError(`${this.location}: ${name} is damaged: ${error.message}`, { cause: error });
      }
      throw error;
    }
  }

  /** Writes a sealed object under `<dir>/<sha256 of its bytes>`; returns the id. */
  async writeSealed(
    dir: 'index' | 'snapshots' | 'locks',
    kind: string,
    plaintext: Uint8Array,
  ): Promise<string> {
    const sealed = this.seal(kind, plaintext);
    const id = sha256Hex(sealed);
    await this.backend.write(`${dir}/${id}`, sealed);
    return id;
  }

  /** Reads and opens a sealed object, checking that its bytes still hash to its name. */
  async readSealed(dir: 'index' | 'snapshots' | 'locks', kind: string, id: string): Promise<Uint8Array> {
    const name = `${dir}/${id}`;
    const sealed = await this.backend.read(name);
    if (sha256Hex(sealed) !== id) {
      throw new RepositoryError(`${this.location}: ${name} is damaged: its content does not match its name`);
    }
    return this.open(kind, name, sealed);
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function newConfig(): RepositoryConfig {
  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    id: randomBytes(32).toString('hex'),
    created: new Date().toISOString(),
  };
}

/** The repository's config, or undefined when `backend` holds no repository yet. */
export async function readConfig(backend: Backend): Promise<RepositoryConfig | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await backend.read('config');
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  let config: Partial<RepositoryConfig>;
  try {
    config = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Partial<RepositoryConfig>;
  } catch {
    throw new RepositoryError(`${backend.location}: config is not JSON: this is not a Restorable repository`);
  }
  if (config.format !== FORMAT) {
    throw new RepositoryError(
      `${backend.location}: config names format ${JSON.stringify(config.format)}, not ${FORMAT}`,
    );
  }
  if (config.version !== FORMAT_VERSION) {
    throw new RepositoryError(
      `${backend.location}: repository format version ${config.version} is not supported by this version of Restorable (it reads version ${FORMAT_VERSION}); upgrade Restorable`,
    );
  }
  if (typeof config.id !== 'string' || !/^[0-9a-f]{64}$/.test(config.id)) {
    throw new RepositoryError(`${backend.location}: config has no valid repository id`);
  }
  return config as RepositoryConfig;
}

/** Writes the config of a new repository, unless one exists (then false: another run created it first). */
export async function writeNewConfig(backend: Backend, config: RepositoryConfig): Promise<boolean> {
  return backend.writeNew('config', configBytes(config));
}

export async function writeConfig(backend: Backend, config: RepositoryConfig): Promise<void> {
  await backend.write('config', configBytes(config));
}

function configBytes(config: RepositoryConfig): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(config, null, 2)}\n`);
}
