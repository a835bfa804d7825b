import { createHash, timingSafeEqual } from 'node:crypto';
import { open as openFile } from 'node:fs/promises';
import { type Backend, NotFoundError } from '../storage/backend.ts';
import {
  type Credentials,
  describeWrapper,
  KeyError,
  knownKeyIds,
  MAX_WRAPPER_BYTES,
  type Opener,
  openCredentials,
  parseRepositoryKey,
  type RecipientFile,
  type SecretKeyCredential,
  type WrapperDescription,
  wrapKey,
} from './keys.ts';

/**
 * The key wrappers of a repository, stored through a Backend as `keys/<sha256 hex of the armored bytes>`. They are
 * content-addressed and not sealed (they are what unseals everything else). Adding or removing a wrapper never
 * re-encrypts data: the master key stays the same.
 */

export const KEYS_PREFIX = 'keys/';

/** The environment variables that `credentialsFromEnv` reads. Secrets never come from argv. */
export const CREDENTIAL_ENV = {
  passphrase: 'RESTORABLE_PASSPHRASE',
  secretKeyFile: 'RESTORABLE_SECRET_KEY_FILE',
  secretKey: 'RESTORABLE_SECRET_KEY',
  secretKeyPassphrase: 'RESTORABLE_SECRET_KEY_PASSPHRASE',
  repositoryKeyFile: 'RESTORABLE_REPOSITORY_KEY_FILE',
} as const;

const WRAPPER_NAME = /^keys\/([0-9a-f]{64})$/;

export interface WrapperListing extends WrapperDescription {
  id: string;
  /** Set when the wrapper cannot be read or described (corrupt, not matching its id); the other fields are empty. */
  problem?: string;
}

/** The id of a wrapper: lowercase hex SHA-256 of its armored bytes (UTF-8). */
export function wrapperId(armored: string): string {
  return createHash('sha256').update(armored, 'utf8').digest('hex');
}

const where = (backend: Backend, id: string) => `keys/${id} in ${backend.location}`;

/** Stores a wrapper (checked to be one) and returns its id. Writing the same wrapper twice stores it once. */
export async function writeWrapper(backend: Backend, armored: string): Promise<string> {
  await describeWrapper(armored);
  const id = wrapperId(armored);
  const name = `${KEYS_PREFIX}${id}`;
  if ((await backend.stat(name)) === undefined) await backend.write(name, new TextEncoder().encode(armored));
  return id;
}

interface Loaded {
  /** The wrapper's text, when it is text (also when it does not match its id, to see whom it was for). */
  armored?: string;
  error?: KeyError;
}

async function loadWrapper(backend: Backend, id: string): Promise<Loaded> {
  const name = `${KEYS_PREFIX}${id}`;
  const notFound = () => ({
    error: new KeyError('not-found', `${backend.location} has no key wrapper keys/${id}`),
  });
  const info = await backend.stat(name);
  if (info === undefined) return notFound();
  if (info.size > MAX_WRAPPER_BYTES) {
    const message = `${where(backend, id)} is ${info.size} bytes, too large for a key wrapper`;
    return { error: new KeyError('malformed', message) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await backend.read(name);
  } catch (error) {
    // Removed since the stat: a run that lost the race to create the repository takes its wrapper back.
    if (error instanceof NotFoundError) return notFound();
    throw error;
  }
  let armored: string;
  try {
    armored = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { error: new KeyError('malformed', `${where(backend, id)} is not text`) };
  }
  if (createHash('sha256').update(bytes).digest('hex') !== id) {
    const message = `${where(backend, id)} does not match its content hash: it was altered or is corrupt`;
    return { armored, error: new KeyError('tampered', message) };
  }
  return { armored };
}

/** Reads a wrapper and checks it against its content address. */
export async function readWrapper(backend: Backend, id: string): Promise<string> {
  const loaded = await loadWrapper(backend, id);
  if (loaded.error) throw loaded.error;
  return loaded.armored!;
}

async function wrapperIds(backend: Backend): Promise<string[]> {
  const ids: string[] = [];
  for (const info of await backend.list(KEYS_PREFIX)) {
    const match = WRAPPER_NAME.exec(info.name);
    if (match) ids.push(match[1]!);
  }
  return ids.sort();
}

/**
 * Every wrapper of the repository and who can open it. `known` (for example the policy's recipient files) adds
 * fingerprints, user ids and file names to the key ids.
 */
export async function listWrappers(
  backend: Backend,
  known: readonly RecipientFile[] = [],
): Promise<WrapperListing[]> {
  const keys = await knownKeyIds(known);
  const out: WrapperListing[] = [];
  for (const id of await wrapperIds(backend)) {
    try {
      out.push({ id, ...(await describeWrapper(await readWrapper(backend, id), keys, where(backend, id))) });
    } catch (error) {
      if (!(error instanceof KeyError)) throw error;
      out.push({ id, recipients: [], passphrase: false, gpgCompatible: false, problem: error.message });
    }
  }
  return out;
}

interface Attempt {
  opened: { id: string; key: Uint8Array }[];
  refused: number;
  /** Wrappers that failed and were (or may have been) for the given credentials. */
  problems: { id: string; error: KeyError }[];
  /** Wrappers that failed but were for other keys or a passphrase not given. */
  damaged: { id: string; error: KeyError }[];
  /** Key ids that open some wrapper, and whether a passphrase does. */
  needs: Set<string>;
  passphrase: boolean;
  tried: number;
}

async function attempt(
  backend: Backend,
  repositoryId: string,
  opener: Opener,
  ids: string[],
): Promise<Attempt> {
  const result: Attempt = {
    opened: [],
    refused: 0,
    problems: [],
    damaged: [],
    needs: new Set(),
    passphrase: false,
    tried: 0,
  };
  for (const id of ids) {
    result.tried++;
    let { armored, error } = await loadWrapper(backend, id);
    let description: WrapperDescription | undefined;
    if (armored !== undefined) {
      try {
        description = await describeWrapper(armored, [], where(backend, id));
      } catch (failure) {
        if (!(failure instanceof KeyError)) throw failure;
        error ??= failure;
      }
    }
    if (description) {
      for (const recipient of description.recipients) result.needs.add(recipient.keyId);
      if (description.passphrase) result.passphrase = true;
    }
    // A damaged wrapper matters when it was (or may have been) one for these credentials.
    const relevant = description === undefined || opener.mayOpen(description);
    if (error) {
      (relevant ? result.problems : result.damaged).push({ id, error });
      continue;
    }
    if (!relevant || armored === undefined) {
      result.refused++;
      continue;
    }
    try {
      result.opened.push({ id, key: await opener.unwrap(armored, repositoryId, where(backend, id)) });
    } catch (failure) {
      if (!(failure instanceof KeyError)) throw failure;
      if (failure.reason === 'no-match') result.refused++;
      else result.problems.push({ id, error: failure });
    }
  }
  return result;
}

function noCredentials(): KeyError {
  return new KeyError(
    'no-credentials',
    `no passphrase, secret key or repository key was given: set ${CREDENTIAL_ENV.passphrase} (or the policy's passphrase variable), ${CREDENTIAL_ENV.secretKeyFile} or ${CREDENTIAL_ENV.secretKey}, or ${CREDENTIAL_ENV.repositoryKeyFile}`,
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The master key of the repository: from the repository key document when one is given, else from the first key
 * wrapper that opens with the passphrase or secret keys. Every wrapper that could open is tried, and they must
 * agree (a wrapper forged by someone who only knows a public key fails here instead of silently switching
 * keys).
 */
export async function unlock(
  backend: Backend,
  repositoryId: string,
  credentials: Credentials,
): Promise<Uint8Array> {
  if (credentials.repositoryKey) {
    return parseRepositoryKey(credentials.repositoryKey.text, repositoryId, credentials.repositoryKey.source);
  }
  const opener = await openCredentials(credentials);
  if (!opener.usable) throw noCredentials();
  const ids = await wrapperIds(backend);
  if (ids.length === 0) {
    throw new KeyError(
      'no-wrappers',
      `${backend.location} holds no key wrapper (keys/ is empty): it is not a repository, or its keys were deleted`,
    );
  }
  const result = await attempt(backend, repositoryId, opener, ids);
  const first = result.opened[0];
  if (first) {
    for (const other of result.opened.slice(1)) {
      if (!timingSafeEqual(first.key, other.key)) {
        throw new KeyError(
          'disagree',
          `key wrappers keys/${first.id} and keys/${other.id} in ${backend.location} hold different master keys for the same repository; one of them was not written by this repository's owner. Remove the wrong one (restorable key remove) after checking which key opens the snapshots.`,
        );
      }
    }
    return first.key;
  }
  const problem = result.problems[0];
  if (problem) {
    const others = result.tried - 1;
    throw new KeyError(
      problem.error.reason,
      `no key wrapper of ${backend.location} opens: ${problem.error.message}${others > 0 ? `; ${plural(others, 'other wrapper')} did not open with the given passphrase or secret keys` : ''}`,
      { cause: problem.error },
    );
  }
  const needs = [...result.needs].sort();
  if (result.passphrase) needs.push('a passphrase');
  const damaged = result.damaged.map((d) => d.error.message).join('; ');
  throw new KeyError(
    'no-match',
    `no key wrapper of ${backend.location} opens with the given passphrase or secret keys (tried ${plural(result.tried, 'wrapper')}; they open with: ${needs.join(', ') || 'nothing readable'})${damaged ? `; besides, ${damaged}` : ''}`,
  );
}

export interface AddOptions {
  recipients?: readonly RecipientFile[];
  passphrase?: string;
}

/**
 * Wraps the repository's master key (unlocked with `credentials`) for more recipients and/or a passphrase, and
 * stores the new wrapper. Returns its id.
 */
export async function addWrapper(
  backend: Backend,
  repositoryId: string,
  credentials: Credentials,
  to: AddOptions,
): Promise<string> {
  const masterKey = await unlock(backend, repositoryId, credentials);
  const armored = await wrapKey({
    repository: repositoryId,
    masterKey,
    recipients: to.recipients ?? [],
    ...(to.passphrase !== undefined ? { passphrase: to.passphrase } : {}),
  });
  return writeWrapper(backend, armored);
}

/** The full id of a wrapper named by its id or a unique prefix of at least 8 hex characters. */
export async function resolveWrapperId(backend: Backend, idOrPrefix: string): Promise<string> {
  const wanted = idOrPrefix.toLowerCase().replace(/^keys\//, '');
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new KeyError(
      'not-found',
      `${JSON.stringify(idOrPrefix)} is not a key wrapper id (8 to 64 hex characters)`,
    );
  }
  const matches = (await wrapperIds(backend)).filter((id) => id.startsWith(wanted));
  if (matches.length === 0)
    throw new KeyError('not-found', `${backend.location} has no key wrapper keys/${wanted}`);
  if (matches.length > 1) {
    throw new KeyError(
      'ambiguous',
      `${wanted} names ${matches.length} key wrappers in ${backend.location}; give more of the id`,
    );
  }
  return matches[0]!;
}

/**
 * Removes a wrapper. Refuses to remove the last one. With `keep`, also refuses when no other wrapper opens with
 * those credentials (so that an operator does not lock themselves out). Returns the full id removed.
 */
export async function removeWrapper(
  backend: Backend,
  idOrPrefix: string,
  keep?: { repository: string; credentials: Credentials },
): Promise<string> {
  const id = await resolveWrapperId(backend, idOrPrefix);
  const others = (await wrapperIds(backend)).filter((other) => other !== id);
  if (others.length === 0) {
    throw new KeyError(
      'last-wrapper',
      `keys/${id} is the last key wrapper of ${backend.location}; without it nobody could open the repository. Add another wrapper first (restorable key add).`,
    );
  }
  if (keep) {
    const opener = await openCredentials(keep.credentials);
    if (opener.usable) {
      const result = await attempt(backend, keep.repository, opener, others);
      if (result.opened.length === 0) {
        throw new KeyError(
          'last-wrapper',
          `keys/${id} is the last key wrapper of ${backend.location} that opens with the given passphrase or secret keys; add one for them first (restorable key add), or remove it with other credentials`,
        );
      }
    }
  }
  await backend.remove(`${KEYS_PREFIX}${id}`);
  return id;
}

// ---------------------------------------------------------------------------------------------------------------
// Credentials from the environment

const MAX_CREDENTIAL_FILE = 1 << 20;

async function readCredentialFile(variable: string, path: string): Promise<string> {
  try {
    const handle = await openFile(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > MAX_CREDENTIAL_FILE) {
        throw new KeyError(
          'credentials',
          `${variable} names ${path}, which is ${size} bytes: too large for a key`,
        );
      }
      return await handle.readFile('utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof KeyError) throw error;
    throw new KeyError(
      'credentials',
      `${variable} names ${path}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
}

const value = (env: Record<string, string | undefined>, name: string) => {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
};

/**
 * Credentials from the environment (never from argv):
 * - `passphraseVar` (default RESTORABLE_PASSPHRASE): a repository passphrase;
 * - RESTORABLE_SECRET_KEY_FILE (a path) and/or RESTORABLE_SECRET_KEY (the armored key itself): an OpenPGP secret
 *   key, unlocked with RESTORABLE_SECRET_KEY_PASSPHRASE when it is protected;
 * - RESTORABLE_REPOSITORY_KEY_FILE: the repository key document that `gpg --decrypt keys/<id>` printed.
 * A trailing line break of a passphrase is dropped (a wrapper passphrase never holds one).
 */
export async function credentialsFromEnv(
  env: Record<string, string | undefined>,
  passphraseVar: string = CREDENTIAL_ENV.passphrase,
): Promise<Credentials> {
  const credentials: Credentials = {};
  const passphrase = value(env, passphraseVar);
  if (passphrase !== undefined) credentials.passphrase = passphrase.replace(/\r?\n$/, '');
  const keyPassphrase = value(env, CREDENTIAL_ENV.secretKeyPassphrase)?.replace(/\r?\n$/, '');
  const secretKeys: SecretKeyCredential[] = [];
  const keyFile = value(env, CREDENTIAL_ENV.secretKeyFile);
  if (keyFile !== undefined) {
    secretKeys.push({
      armored: await readCredentialFile(CREDENTIAL_ENV.secretKeyFile, keyFile),
      source: `${CREDENTIAL_ENV.secretKeyFile} (${keyFile})`,
      ...(keyPassphrase !== undefined ? { passphrase: keyPassphrase } : {}),
    });
  }
  const keyText = value(env, CREDENTIAL_ENV.secretKey);
  if (keyText !== undefined) {
    secretKeys.push({
      armored: keyText,
      source: CREDENTIAL_ENV.secretKey,
      ...(keyPassphrase !== undefined ? { passphrase: keyPassphrase } : {}),
    });
  }
  if (secretKeys.length > 0) credentials.secretKeys = secretKeys;
  const documentFile = value(env, CREDENTIAL_ENV.repositoryKeyFile);
  if (documentFile !== undefined) {
    credentials.repositoryKey = {
      text: await readCredentialFile(CREDENTIAL_ENV.repositoryKeyFile, documentFile),
      source: `${CREDENTIAL_ENV.repositoryKeyFile} (${documentFile})`,
    };
  }
  return credentials;
}
