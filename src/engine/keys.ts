import { createDecipheriv, randomBytes } from 'node:crypto';
import {
  createMessage,
  decrypt,
  decryptKey,
  decryptSessionKeys,
  encrypt,
  enums,
  type Key,
  type Message,
  type PartialConfig,
  type PrivateKey,
  PublicKeyEncryptedSessionKeyPacket,
  readKeys,
  readMessage,
  readPrivateKeys,
  type SessionKey,
  SymEncryptedIntegrityProtectedDataPacket,
  SymEncryptedSessionKeyPacket,
} from 'openpgp';
import { KEY_BYTES } from './crypto.ts';

/**
 * Repository key wrapping. A key wrapper is an armored OpenPGP message whose plaintext is a small JSON document
 * (`repositoryKeyDocument`) holding the repository id and its master key. It is encrypted to recipients' public
 * keys and/or a passphrase with packets that Debian 12's gpg 2.2 reads (v3 PKESK, v4 SKESK with an iterated and
 * salted S2K, SEIPD version 1 with its MDC, AES-256), so that an operator can always recover the key with plain
 * `gpg --decrypt`. See docs/key-recovery.md.
 */

export const KEY_DOCUMENT_FORMAT = 'restorable-repository-key';
export const KEY_DOCUMENT_VERSION = 1;

/** Key wrappers and key documents are small; anything bigger is refused before parsing. */
export const MAX_WRAPPER_BYTES = 1 << 20;
const MAX_DOCUMENT_BYTES = 64 * 1024;

const REPOSITORY_ID = /^[0-9a-f]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Encryption settings that gpg 2.2 can decrypt: no AEAD (SEIPDv2/OCB), no compression, the iterated and salted
 * S2K (gpg 2.2 has no Argon2) at gpg's highest count (65,011,712 bytes hashed, ~0.1 s per try).
 */
const WRAP_CONFIG: PartialConfig = {
  aeadProtect: false,
  preferredSymmetricAlgorithm: enums.symmetric.aes256,
  preferredCompressionAlgorithm: enums.compression.uncompressed,
  s2kType: enums.s2k.iterated,
  s2kIterationCountByte: 255,
  v6Keys: false,
};

const READ_CONFIG: PartialConfig = {
  maxDecompressedMessageSize: MAX_DOCUMENT_BYTES,
  allowUnauthenticatedMessages: false,
};

export type KeyFailure =
  /** No passphrase or secret key given opens the wrapper. */
  | 'no-match'
  /** Neither a passphrase, a secret key nor a repository key document was given. */
  | 'no-credentials'
  /** A recipient file is not an OpenPGP public key (or is a private key). */
  | 'not-a-public-key'
  /** A recipient key that gpg 2.2 could not use, or that has no usable encryption key. */
  | 'unusable-recipient'
  | 'expired'
  | 'revoked'
  /** A passphrase that cannot wrap a key (empty, or with a line break that gpg's --passphrase-file cannot read). */
  | 'bad-passphrase'
  /** A secret key that cannot be read or unlocked. */
  | 'secret-key'
  /** Not a key wrapper, or not a repository key document. */
  | 'malformed'
  /** The wrapper opened but failed its integrity check, or does not match its content address. */
  | 'tampered'
  | 'other-repository'
  | 'newer-version'
  /** The credentials variables name a file that cannot be read. */
  | 'credentials'
  /** Keyring: the repository has no key wrapper at all. */
  | 'no-wrappers'
  | 'not-found'
  | 'ambiguous'
  /** Keyring: removal refused, it would leave no wrapper (or none that the given credentials open). */
  | 'last-wrapper'
  /** Keyring: two wrappers that open hold different master keys for the same repository. */
  | 'disagree';

export class KeyError extends Error {
  readonly reason: KeyFailure;

  constructor(reason: KeyFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeyError';
    this.reason = reason;
  }
}

/** A recipient's armored public key and the file it came from (for messages). */
export interface RecipientFile {
  path: string;
  armored: string;
}

export interface SecretKeyCredential {
  /** An armored secret key (`gpg --armor --export-secret-keys` or `--export-secret-subkeys`). */
  armored: string;
  /** The passphrase that protects it, if any. */
  passphrase?: string;
  /** Where it came from, for messages (`RESTORABLE_SECRET_KEY_FILE (/path)`). Never the key itself. */
  source?: string;
}

/** A repository key document already decrypted (the JSON that `gpg --decrypt` prints). */
export interface RepositoryKeyCredential {
  text: string;
  /** Where it came from, for messages. */
  source: string;
}

/** What may open a repository: all optional, tried together. */
export interface Credentials {
  passphrase?: string;
  secretKeys?: SecretKeyCredential[];
  repositoryKey?: RepositoryKeyCredential;
}

export interface WrapOptions {
  /** The repository id, 64 lowercase hex. */
  repository: string;
  masterKey: Uint8Array;
  recipients: readonly RecipientFile[];
  passphrase?: string;
  /** Written into the document; defaults to now. */
  created?: Date;
}

export interface WrapperRecipient {
  /** The key id in the wrapper (of the encryption subkey), 16 uppercase hex as gpg prints it. */
  keyId: string;
  /** The public-key algorithm of that key (`ecdh`, `rsaEncryptSign`, …). */
  algorithm: string;
  /** When a known key file holds this key: its primary fingerprint (40 uppercase hex), user ids and file. */
  fingerprint?: string;
  userIds?: string[];
  path?: string;
}

export interface WrapperDescription {
  recipients: WrapperRecipient[];
  /** Whether a passphrase (an SKESK packet) opens it. */
  passphrase: boolean;
  /** Whether gpg 2.2 can decrypt it: v3 PKESK / v4 SKESK and SEIPD version 1, nothing else. */
  gpgCompatible: boolean;
}

export interface RecipientInfo {
  path: string;
  fingerprint: string;
  userIds: string[];
  /** The key id of the encryption (sub)key that the wrapper will name. */
  encryptionKeyId: string;
}

// ---------------------------------------------------------------------------------------------------------------
// The plaintext document

/** The plaintext of a key wrapper: what `gpg --decrypt keys/<id>` prints. */
export function repositoryKeyDocument(
  repository: string,
  masterKey: Uint8Array,
  created = new Date(),
): string {
  checkRepositoryId(repository);
  checkMasterKey(masterKey);
  const document = {
    format: KEY_DOCUMENT_FORMAT,
    version: KEY_DOCUMENT_VERSION,
    repository,
    masterKey: Buffer.from(masterKey).toString('base64'),
    created: created.toISOString(),
    note:
      'Secret. This is the master key of a Restorable repository. To restore with it, save this document to a ' +
      'private file and set RESTORABLE_REPOSITORY_KEY_FILE to its path. See docs/key-recovery.md.',
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * Reads a repository key document (a wrapper's plaintext, or the file named by RESTORABLE_REPOSITORY_KEY_FILE)
 * and returns its master key. `where` names the source in messages.
 */
export function parseRepositoryKey(text: string, expectedRepository: string, where: string): Uint8Array {
  checkRepositoryId(expectedRepository);
  if (text.length > MAX_DOCUMENT_BYTES) {
    throw new KeyError(
      'malformed',
      `${where} is ${text.length} bytes, too large for a repository key document`,
    );
  }
  if (text.trimStart().startsWith('-----BEGIN PGP')) {
    throw new KeyError(
      'malformed',
      `${where} is still OpenPGP-encrypted: decrypt it first (gpg --decrypt keys/<id> > key.json) and use the output`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new KeyError('malformed', `${where} is not a repository key document (not JSON)`);
  }
  const doc = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (doc.format !== KEY_DOCUMENT_FORMAT) {
    throw new KeyError(
      'malformed',
      `${where} is not a repository key document (its "format" is not "${KEY_DOCUMENT_FORMAT}")`,
    );
  }
  if (typeof doc.version !== 'number' || !Number.isInteger(doc.version) || doc.version < 1) {
    throw new KeyError('malformed', `${where} has no valid "version"`);
  }
  if (doc.version > KEY_DOCUMENT_VERSION) {
    throw new KeyError(
      'newer-version',
      `${where} is a version ${doc.version} key document, written by a newer Restorable; this one reads version ${KEY_DOCUMENT_VERSION}`,
    );
  }
  if (typeof doc.repository !== 'string' || !REPOSITORY_ID.test(doc.repository)) {
    throw new KeyError('malformed', `${where} has no valid "repository" (64 lowercase hex)`);
  }
  if (typeof doc.masterKey !== 'string' || !BASE64_KEY.test(doc.masterKey)) {
    throw new KeyError('malformed', `${where} has no valid "masterKey" (base64 of ${KEY_BYTES} bytes)`);
  }
  if (doc.repository !== expectedRepository) {
    throw new KeyError(
      'other-repository',
      `${where} holds the key of repository ${doc.repository.slice(0, 12)}…, not of this repository (${expectedRepository.slice(0, 12)}…)`,
    );
  }
  return new Uint8Array(Buffer.from(doc.masterKey, 'base64'));
}

function checkRepositoryId(repository: string): void {
  if (!REPOSITORY_ID.test(repository)) {
    throw new RangeError(
      `repository id must be 64 lowercase hex characters, got ${JSON.stringify(repository)}`,
    );
  }
}

function checkMasterKey(masterKey: Uint8Array): void {
  if (masterKey.length !== KEY_BYTES) {
    throw new RangeError(`master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Recipients

const hexId = (key: { getKeyID(): { toHex(): string } }) => key.getKeyID().toHex().toUpperCase();

function keyLabel(key: Key): string {
  const user = key.getUserIDs()[0];
  return `key ${key.getFingerprint().toUpperCase()}${user ? ` (${user})` : ''}`;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** Reads a recipient file and checks every key in it; returns the keys to encrypt to. */
async function recipientKeys(
  file: RecipientFile,
  now: Date,
): Promise<{ keys: Key[]; info: RecipientInfo[] }> {
  const text = file.armored;
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(text)) {
    throw new KeyError(
      'not-a-public-key',
      `${file.path} holds a private key; a recipient file must hold only a public key (gpg --armor --export <id>)`,
    );
  }
  if (!/-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(text)) {
    throw new KeyError(
      'not-a-public-key',
      `${file.path} is not an armored OpenPGP public key (no "BEGIN PGP PUBLIC KEY BLOCK"; export one with gpg --armor --export <id>)`,
    );
  }
  let keys: Key[];
  try {
    keys = await readKeys({ armoredKeys: text });
  } catch (error) {
    throw new KeyError(
      'not-a-public-key',
      `${file.path} is not a readable OpenPGP public key (${(error as Error).message})`,
      { cause: error },
    );
  }
  const info: RecipientInfo[] = [];
  for (const key of keys) {
    if (key.isPrivate()) {
      throw new KeyError(
        'not-a-public-key',
        `${file.path} holds a private key; a recipient file must hold only a public key`,
      );
    }
    const label = `${file.path}: ${keyLabel(key)}`;
    const version = key.keyPacket.version;
    if (version !== 4) {
      throw new KeyError(
        'unusable-recipient',
        `${label} is a version ${version} key; gpg 2.2 cannot decrypt to it, so a wrapper for it could not be recovered with gpg. Use a version 4 key (cv25519 or RSA).`,
      );
    }
    if (await key.isRevoked(undefined, undefined, now)) {
      throw new KeyError('revoked', `${label} is revoked; it cannot be a recipient`);
    }
    if (key.getCreationTime().getTime() > now.getTime()) {
      throw new KeyError(
        'unusable-recipient',
        `${label} was created in the future (${key.getCreationTime().toISOString()}); check this machine's clock`,
      );
    }
    let expires: Date | number | null;
    try {
      expires = await key.getExpirationTime();
    } catch (error) {
      throw new KeyError(
        'unusable-recipient',
        `${label} has no valid self-signature (${(error as Error).message})`,
        {
          cause: error,
        },
      );
    }
    if (expires instanceof Date && expires.getTime() <= now.getTime()) {
      throw new KeyError('expired', `${label} expired on ${day(expires)}; it cannot be a recipient`);
    }
    let encryptionKey: Awaited<ReturnType<Key['getEncryptionKey']>>;
    try {
      encryptionKey = await key.getEncryptionKey(undefined, now);
    } catch (error) {
      const why = (error as Error).message;
      const reason: KeyFailure = /revoked/i.test(why)
        ? 'revoked'
        : /expired/i.test(why)
          ? 'expired'
          : 'unusable-recipient';
      throw new KeyError(reason, `${label} has no usable encryption key (${why})`, { cause: error });
    }
    const algorithm = encryptionKey.keyPacket.algorithm;
    if (algorithm === enums.publicKey.x25519 || algorithm === enums.publicKey.x448) {
      throw new KeyError(
        'unusable-recipient',
        `${label} encrypts with ${enums.read(enums.publicKey, algorithm)} (RFC 9580), which gpg 2.2 cannot decrypt; use a cv25519 (ECDH) or RSA encryption subkey`,
      );
    }
    info.push({
      path: file.path,
      fingerprint: key.getFingerprint().toUpperCase(),
      userIds: key.getUserIDs(),
      encryptionKeyId: hexId(encryptionKey),
    });
  }
  if (keys.length === 0) {
    throw new KeyError('not-a-public-key', `${file.path} holds no OpenPGP public key`);
  }
  return { keys, info };
}

/** Checks that a recipient file holds public keys that a wrapper can be encrypted to (as `wrapKey` would). */
export async function checkRecipient(file: RecipientFile, now = new Date()): Promise<RecipientInfo[]> {
  return (await recipientKeys(file, now)).info;
}

function checkPassphrase(passphrase: string): void {
  if (passphrase.length === 0) throw new KeyError('bad-passphrase', 'the passphrase is empty');
  if (/[\r\n]/.test(passphrase)) {
    throw new KeyError(
      'bad-passphrase',
      'the passphrase holds a line break; gpg --passphrase-file reads one line, so it could not recover the key',
    );
  }
  if (passphrase.includes('\0')) throw new KeyError('bad-passphrase', 'the passphrase holds a NUL character');
}

// ---------------------------------------------------------------------------------------------------------------
// Wrapping

/** Encrypts the repository key document to the recipients and/or the passphrase; returns the armored message. */
export async function wrapKey(options: WrapOptions): Promise<string> {
  checkRepositoryId(options.repository);
  checkMasterKey(options.masterKey);
  const now = new Date();
  if (options.recipients.length === 0 && options.passphrase === undefined) {
    throw new KeyError(
      'no-credentials',
      'a key wrapper needs at least one recipient public key or a passphrase',
    );
  }
  if (options.passphrase !== undefined) checkPassphrase(options.passphrase);
  const keys: Key[] = [];
  const seen = new Set<string>();
  for (const file of options.recipients) {
    for (const key of (await recipientKeys(file, now)).keys) {
      const fingerprint = key.getFingerprint();
      if (seen.has(fingerprint)) continue;
      seen.add(fingerprint);
      keys.push(key);
    }
  }
  const plaintext = new TextEncoder().encode(
    repositoryKeyDocument(options.repository, options.masterKey, options.created ?? now),
  );
  const message = await createMessage({ binary: plaintext, format: 'binary' });
  // An explicit AES-256 session key without an AEAD algorithm makes openpgp.js write SEIPD version 1 with v3
  // PKESK and v4 SKESK packets, whatever the recipients' keys advertise (a key that announces SEIPDv2 support
  // would otherwise get an OCB-encrypted message that gpg 2.2 cannot read).
  const sessionKey: SessionKey = { data: new Uint8Array(randomBytes(32)), algorithm: 'aes256' };
  return encrypt({
    message,
    ...(keys.length > 0 ? { encryptionKeys: keys } : {}),
    ...(options.passphrase !== undefined ? { passwords: [options.passphrase] } : {}),
    sessionKey,
    format: 'armored',
    date: now,
    config: WRAP_CONFIG,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Describing

interface PkeskFields {
  version: number;
  publicKeyID: { toHex(): string; isWildcard?(): boolean };
  publicKeyAlgorithm: number;
}

interface ParsedWrapper {
  message: Message<string>;
  pkesks: PkeskFields[];
  skesks: number;
  gpgCompatible: boolean;
}

async function parseWrapper(armored: string, where: string): Promise<ParsedWrapper> {
  if (armored.length > MAX_WRAPPER_BYTES) {
    throw new KeyError('malformed', `${where} is ${armored.length} bytes, too large for a key wrapper`);
  }
  if (!armored.includes('-----BEGIN PGP MESSAGE-----')) {
    throw new KeyError('malformed', `${where} is not an armored OpenPGP message`);
  }
  let message: Message<string>;
  try {
    message = await readMessage({ armoredMessage: armored, config: READ_CONFIG });
  } catch (error) {
    throw new KeyError(
      'malformed',
      `${where} is not a readable OpenPGP message (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  const pkesks: PkeskFields[] = [];
  let skesks = 0;
  let compatible = true;
  let data = 0;
  for (const packet of message.packets) {
    if (packet instanceof PublicKeyEncryptedSessionKeyPacket) {
      const fields = packet as unknown as PkeskFields;
      pkesks.push(fields);
      if (fields.version !== 3) compatible = false;
    } else if (packet instanceof SymEncryptedSessionKeyPacket) {
      skesks++;
      if ((packet as unknown as { version: number }).version !== 4) compatible = false;
    } else if (packet instanceof SymEncryptedIntegrityProtectedDataPacket) {
      data++;
      if ((packet as unknown as { version: number }).version !== 1) compatible = false;
    } else {
      const tag = (packet.constructor as { tag?: number }).tag;
      if (tag === enums.packet.symmetricallyEncryptedData) {
        throw new KeyError('malformed', `${where} is encrypted without integrity protection; refusing it`);
      }
      data++;
      compatible = false;
    }
  }
  if (data !== 1 || pkesks.length + skesks === 0) {
    throw new KeyError(
      'malformed',
      `${where} is not a key wrapper (expected session keys and one encrypted packet)`,
    );
  }
  return { message, pkesks, skesks, gpgCompatible: compatible };
}

/** A key found in a known recipient file, by the id of any of its (sub)keys. */
export interface KnownKey {
  fingerprint: string;
  userIds: string[];
  path: string;
}

/** Maps every (sub)key id of the known files to its primary key; unreadable files are skipped. */
export async function knownKeyIds(files: readonly RecipientFile[]): Promise<Map<string, KnownKey>> {
  const out = new Map<string, KnownKey>();
  for (const file of files) {
    let keys: Key[];
    try {
      keys = await readKeys({ armoredKeys: file.armored });
    } catch {
      continue;
    }
    for (const key of keys) {
      const known = {
        fingerprint: key.getFingerprint().toUpperCase(),
        userIds: key.getUserIDs(),
        path: file.path,
      };
      for (const part of key.getKeys()) out.set(hexId(part), known);
    }
  }
  return out;
}

function describeParsed(parsed: ParsedWrapper, known: Map<string, KnownKey>): WrapperDescription {
  return {
    recipients: parsed.pkesks.map((pkesk) => {
      const keyId = pkesk.publicKeyID.toHex().toUpperCase();
      const match = known.get(keyId);
      let algorithm: string;
      try {
        algorithm = enums.read(enums.publicKey, pkesk.publicKeyAlgorithm);
      } catch {
        algorithm = `algorithm ${pkesk.publicKeyAlgorithm}`;
      }
      return { keyId, algorithm, ...(match ? { ...match, userIds: [...match.userIds] } : {}) };
    }),
    passphrase: parsed.skesks > 0,
    gpgCompatible: parsed.gpgCompatible,
  };
}

/**
 * Who can open a wrapper, without decrypting it: the key ids it is encrypted to (with fingerprints, user ids and
 * files for those found in `known`), and whether a passphrase opens it.
 */
export async function describeWrapper(
  armored: string,
  known: readonly RecipientFile[] | Map<string, KnownKey> = [],
  where = 'the key wrapper',
): Promise<WrapperDescription> {
  const parsed = await parseWrapper(armored, where);
  return describeParsed(parsed, known instanceof Map ? known : await knownKeyIds(known));
}

// ---------------------------------------------------------------------------------------------------------------
// Unwrapping

/** Credentials made ready once (secret keys read and unlocked), to try against many wrappers. */
export interface Opener {
  /** Whether there is anything to try (a passphrase or a secret key). */
  readonly usable: boolean;
  /** Key ids (16 uppercase hex) of the secret (sub)keys that can decrypt. */
  readonly keyIds: ReadonlySet<string>;
  readonly hasPassphrase: boolean;
  /** Opens one wrapper; `where` names it in messages (`keys/<id> in /srv/backups`). */
  unwrap(armored: string, expectedRepository: string, where?: string): Promise<Uint8Array>;
  /** Whether the wrapper could open with these credentials at all (a matching key id, or a passphrase packet). */
  mayOpen(description: WrapperDescription): boolean;
}

async function unlockSecretKeys(credential: SecretKeyCredential): Promise<PrivateKey[]> {
  const source = credential.source ?? 'the secret key';
  if (!/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(credential.armored)) {
    const isPublic = /-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(credential.armored);
    throw new KeyError(
      'secret-key',
      isPublic
        ? `${source} is a public key; decryption needs the secret key (gpg --armor --export-secret-keys <id>)`
        : `${source} is not an armored OpenPGP secret key`,
    );
  }
  let keys: PrivateKey[];
  try {
    keys = await readPrivateKeys({ armoredKeys: credential.armored });
  } catch (error) {
    throw new KeyError(
      'secret-key',
      `${source} is not a readable OpenPGP secret key (${(error as Error).message})`,
      {
        cause: error,
      },
    );
  }
  const out: PrivateKey[] = [];
  for (const key of keys) {
    const label = `${source} (${key.getFingerprint().toUpperCase()})`;
    const locked = key
      .getKeys()
      .some((part) => !part.isDecrypted() && !(part.keyPacket as { isDummy?(): boolean }).isDummy?.());
    if (!locked) {
      out.push(key);
      continue;
    }
    if (credential.passphrase === undefined || credential.passphrase === '') {
      throw new KeyError(
        'secret-key',
        `secret key ${label} is protected by a passphrase, and none was given (RESTORABLE_SECRET_KEY_PASSPHRASE)`,
      );
    }
    try {
      out.push(await decryptKey({ privateKey: key, passphrase: credential.passphrase }));
    } catch (error) {
      const why = (error as Error).message;
      throw new KeyError(
        'secret-key',
        /passphrase/i.test(why)
          ? `the passphrase for secret key ${label} is wrong`
          : `secret key ${label} cannot be unlocked (${why})`,
        { cause: error },
      );
    }
  }
  return out;
}

/** Node cipher names for the OpenPGP CFB quick check of SEIPD version 1. */
const CFB = new Map<string, string>([
  ['aes128', 'aes-128-cfb'],
  ['aes192', 'aes-192-cfb'],
  ['aes256', 'aes-256-cfb'],
]);

/**
 * OpenPGP's "quick check": the first cipher block of SEIPD v1 is random, and its last two bytes are repeated
 * after it. A passphrase-derived session key that fails it is a wrong passphrase, not a damaged message (a
 * wrong passphrase gives a plausible-looking session key about once in a hundred tries). Returns undefined
 * when it cannot tell.
 */
function quickCheck(parsed: ParsedWrapper, key: SessionKey): boolean | undefined {
  const cipher = CFB.get(key.algorithm);
  const packet = parsed.message.packets.find((p) => p instanceof SymEncryptedIntegrityProtectedDataPacket) as
    | { version?: number; encrypted?: unknown }
    | undefined;
  if (!cipher || !packet || packet.version !== 1) return undefined;
  // openpgp.js holds the encrypted body as bytes, or as an array of byte chunks (its ArrayStream).
  const body = packet.encrypted;
  const encrypted =
    body instanceof Uint8Array
      ? body
      : Array.isArray(body) && body.every((chunk) => chunk instanceof Uint8Array)
        ? Buffer.concat(body as Uint8Array[])
        : undefined;
  if (!encrypted) return undefined;
  if (encrypted.length < 18) return false;
  try {
    const decipher = createDecipheriv(cipher, key.data, Buffer.alloc(16));
    const prefix = decipher.update(encrypted.subarray(0, 18));
    return prefix[14] === prefix[16] && prefix[15] === prefix[17];
  } catch {
    return false;
  }
}

function needs(description: WrapperDescription): string {
  const parts = description.recipients.map((r) => r.keyId);
  if (description.passphrase) parts.push('a passphrase');
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

/** Reads and unlocks the secret keys of `credentials` once; throws KeyError when one cannot be used. */
export async function openCredentials(credentials: Credentials): Promise<Opener> {
  const keys: PrivateKey[] = [];
  for (const credential of credentials.secretKeys ?? []) keys.push(...(await unlockSecretKeys(credential)));
  const keyIds = new Set<string>();
  for (const key of keys) for (const part of key.getKeys()) keyIds.add(hexId(part));
  const passphrase =
    credentials.passphrase !== undefined && credentials.passphrase !== ''
      ? credentials.passphrase
      : undefined;

  const mayOpen = (description: WrapperDescription) =>
    (passphrase !== undefined && description.passphrase) ||
    description.recipients.some((r) => keyIds.has(r.keyId) || r.keyId === '0000000000000000');

  const unwrap = async (armored: string, expectedRepository: string, where = 'the key wrapper') => {
    checkRepositoryId(expectedRepository);
    if (keys.length === 0 && passphrase === undefined) {
      throw new KeyError('no-credentials', `no passphrase or secret key was given to open ${where}`);
    }
    const parsed = await parseWrapper(armored, where);
    const description = describeParsed(parsed, new Map());
    const candidates: { key: SessionKey; from: 'key' | 'passphrase' }[] = [];
    const reread = async () => (await parseWrapper(armored, where)).message;
    if (keys.length > 0 && parsed.pkesks.length > 0) {
      try {
        for (const found of await decryptSessionKeys({
          message: await reread(),
          decryptionKeys: keys,
          config: READ_CONFIG,
        })) {
          if (found.algorithm)
            candidates.push({ key: { data: found.data, algorithm: found.algorithm }, from: 'key' });
        }
      } catch {
        // no PKESK opens with these keys
      }
    }
    if (passphrase !== undefined && parsed.skesks > 0) {
      try {
        for (const found of await decryptSessionKeys({
          message: await reread(),
          passwords: [passphrase],
          config: READ_CONFIG,
        })) {
          if (found.algorithm) {
            candidates.push({ key: { data: found.data, algorithm: found.algorithm }, from: 'passphrase' });
          }
        }
      } catch {
        // wrong passphrase
      }
    }
    const matchingKey = description.recipients.find((r) => keyIds.has(r.keyId));
    let damaged = candidates.length === 0 && matchingKey !== undefined;
    for (const candidate of candidates) {
      // A wrong passphrase decrypts the session key to garbage, now and then to a plausible one: a key that
      // fails OpenPGP's quick check is a wrong passphrase, and so is one that could not be checked and then
      // fails to decrypt. Only a key that passed the check and still fails points at damage.
      const fromPassphrase = candidate.from === 'passphrase';
      const check = fromPassphrase ? quickCheck(parsed, candidate.key) : undefined;
      if (check === false) continue;
      let plaintext: Uint8Array;
      try {
        const result = await decrypt({
          message: await reread(),
          sessionKeys: [candidate.key],
          format: 'binary',
          config: READ_CONFIG,
        });
        plaintext = result.data;
      } catch {
        if (!fromPassphrase || check === true) damaged = true;
        continue;
      }
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
      } catch {
        throw new KeyError('malformed', `${where} opened, but its content is not a repository key document`);
      }
      return parseRepositoryKey(text, expectedRepository, where);
    }
    if (damaged) {
      throw new KeyError(
        'tampered',
        matchingKey && candidates.length === 0
          ? `${where} is encrypted to key ${matchingKey.keyId}, which was given, but does not decrypt with it: it was altered or is corrupt`
          : `${where} opened but failed its integrity check: it was altered or is corrupt`,
      );
    }
    throw new KeyError(
      'no-match',
      `${where} does not open with the given passphrase or secret keys (it opens with: ${needs(description)})`,
    );
  };

  return {
    usable: keys.length > 0 || passphrase !== undefined,
    keyIds,
    hasPassphrase: passphrase !== undefined,
    unwrap,
    mayOpen,
  };
}

/** Opens one key wrapper with the passphrase and/or secret keys; returns the master key of `expectedRepository`. */
export async function unwrapKey(
  armored: string,
  credentials: Credentials,
  expectedRepository: string,
  where?: string,
): Promise<Uint8Array> {
  return (await openCredentials(credentials)).unwrap(armored, expectedRepository, where);
}
