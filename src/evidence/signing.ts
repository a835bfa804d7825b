import { readFile } from 'node:fs/promises';
import {
  createMessage,
  decryptKey,
  type Key,
  type PrivateKey,
  readKeys,
  readPrivateKeys,
  readSignature,
  type Signature,
  sign,
  verify,
} from 'openpgp';

/**
 * OpenPGP signatures of evidence records: a detached, armored signature over the record's exact bytes
 * (signature type "binary", so `gpg --verify record.json.asc record.json` checks it), made with openpgp.js
 * from a secret key given in the environment, and checked against one pinned key: a signature by any
 * other key, however valid, is refused.
 */

/** The environment variables the signing key comes from. Never argv, never a file in the work tree. */
export const SIGNING_ENV = {
  /** The armored secret key itself (`gpg --armor --export-secret-keys FPR`), e.g. from an Actions secret. */
  key: 'RESTORABLE_EVIDENCE_KEY',
  /** Or the path of a file holding it. */
  keyFile: 'RESTORABLE_EVIDENCE_KEY_FILE',
  /** Its passphrase, when it has one. */
  passphrase: 'RESTORABLE_EVIDENCE_KEY_PASSPHRASE',
} as const;

/** Signature files are small; anything bigger is refused before parsing. */
export const MAX_SIGNATURE_BYTES = 64 * 1024;

export class SigningError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SigningError';
  }
}

const FINGERPRINT = /^([0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$/;

/** A fingerprint as we print and compare it: uppercase hex, spaces removed. Throws when it is not one. */
export function normalizeFingerprint(fingerprint: string, where = 'the fingerprint'): string {
  const compact = fingerprint.replace(/\s+/g, '');
  if (!FINGERPRINT.test(compact)) {
    throw new SigningError(
      `${where} "${fingerprint}" is not an OpenPGP fingerprint (40 or 64 hex digits, as \`gpg --fingerprint\` prints it)`,
    );
  }
  return compact.toUpperCase();
}

export interface Signer {
  /** The primary key's fingerprint (uppercase hex): what `evidence.signingKey.fingerprint` pins. */
  fingerprint: string;
  /** The armored public key, published on the evidence branch as keys/<fingerprint>.asc. */
  publicKey: string;
  /** A detached armored signature over `bytes`. */
  sign(bytes: Uint8Array): Promise<string>;
}

/** Reads and unlocks an armored secret key; `source` names where it came from in messages (never the key). */
export async function loadSigner(
  armored: string,
  passphrase: string | undefined,
  source: string,
): Promise<Signer> {
  if (!/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored)) {
    throw new SigningError(
      /-----BEGIN PGP PUBLIC KEY BLOCK-----/.test(armored)
        ? `${source} holds a public key; signing needs the secret key (gpg --armor --export-secret-keys FINGERPRINT)`
        : `${source} is not an armored OpenPGP secret key`,
    );
  }
  let keys: PrivateKey[];
  try {
    keys = await readPrivateKeys({ armoredKeys: armored });
  } catch (error) {
    throw new SigningError(`${source} is not a readable OpenPGP secret key (${(error as Error).message})`, {
      cause: error,
    });
  }
  if (keys.length !== 1) {
    throw new SigningError(`${source} holds ${keys.length} secret keys; give exactly one`);
  }
  let key = keys[0]!;
  const fingerprint = key.getFingerprint().toUpperCase();
  if (!key.isDecrypted()) {
    if (passphrase === undefined || passphrase === '') {
      throw new SigningError(
        `secret key ${fingerprint} (${source}) is protected by a passphrase, and none was given (${SIGNING_ENV.passphrase})`,
      );
    }
    try {
      key = await decryptKey({ privateKey: key, passphrase });
    } catch (error) {
      const why = (error as Error).message;
      throw new SigningError(
        /passphrase/i.test(why)
          ? `the passphrase for secret key ${fingerprint} (${source}) is wrong`
          : `secret key ${fingerprint} (${source}) cannot be unlocked (${why})`,
        { cause: error },
      );
    }
  }
  try {
    await key.getSigningKey();
  } catch (error) {
    throw new SigningError(
      `secret key ${fingerprint} (${source}) cannot sign (${(error as Error).message})`,
      { cause: error },
    );
  }
  const unlocked = key;
  return {
    fingerprint,
    publicKey: unlocked.toPublic().armor(),
    async sign(bytes: Uint8Array): Promise<string> {
      return sign({
        message: await createMessage({ binary: bytes }),
        signingKeys: unlocked,
        detached: true,
        format: 'armored',
      });
    },
  };
}

/**
 * The signer the environment names (SIGNING_ENV), or undefined when it names none. The key file is read here;
 * a variable that is set but empty counts as unset.
 */
export async function signerFromEnv(env: NodeJS.ProcessEnv): Promise<Signer | undefined> {
  const passphrase = env[SIGNING_ENV.passphrase]?.replace(/\r?\n$/, '') || undefined;
  const inline = env[SIGNING_ENV.key];
  const file = env[SIGNING_ENV.keyFile];
  if (inline && file) {
    throw new SigningError(`both ${SIGNING_ENV.key} and ${SIGNING_ENV.keyFile} are set; set one`);
  }
  if (inline) return loadSigner(inline, passphrase, SIGNING_ENV.key);
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new SigningError(
        `${SIGNING_ENV.keyFile} names ${file}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    return loadSigner(text, passphrase, `${SIGNING_ENV.keyFile} (${file})`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Verification

/** The one public key signatures are checked against. */
export interface PinnedKey {
  fingerprint: string;
  key: Key;
  /** Key ids (16 uppercase hex) of the primary key and its subkeys. */
  keyIds: ReadonlySet<string>;
}

/**
 * Reads the armored public key and checks that its primary fingerprint is the pinned one. `source` names
 * the key's location in messages (`keys/ABCD….asc on restorable-evidence`).
 */
export async function loadPinnedKey(
  armored: string,
  fingerprint: string,
  source: string,
): Promise<PinnedKey> {
  const pinned = normalizeFingerprint(fingerprint, 'the pinned fingerprint');
  if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(armored)) {
    throw new SigningError(`${source} holds a secret key; it must hold only the public key`);
  }
  let keys: Key[];
  try {
    keys = await readKeys({ armoredKeys: armored });
  } catch (error) {
    throw new SigningError(`${source} is not a readable OpenPGP public key (${(error as Error).message})`, {
      cause: error,
    });
  }
  const key = keys.find((k) => k.getFingerprint().toUpperCase() === pinned);
  if (!key) {
    const found = keys.map((k) => k.getFingerprint().toUpperCase()).join(', ') || 'no key';
    throw new SigningError(`${source} holds ${found}, not the pinned key ${pinned}`);
  }
  const keyIds = new Set(key.getKeys().map((part) => part.getKeyID().toHex().toUpperCase()));
  return { fingerprint: pinned, key, keyIds };
}

/**
 * Checks a detached armored signature over `bytes` against the pinned key. Returns undefined when it holds,
 * else what is wrong, as a phrase to follow the signature file's name ("is signed by key …").
 */
export async function checkSignature(
  bytes: Uint8Array,
  armoredSignature: string,
  pinned: PinnedKey,
): Promise<string | undefined> {
  if (armoredSignature.length > MAX_SIGNATURE_BYTES) {
    return `is ${armoredSignature.length} bytes, too large for a signature`;
  }
  let signature: Signature;
  try {
    signature = await readSignature({ armoredSignature });
  } catch (error) {
    return `is not an armored OpenPGP signature (${(error as Error).message})`;
  }
  const issuers = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  if (issuers.length === 0) return 'holds no signature';
  if (issuers.length > 1) return `holds ${issuers.length} signatures; a record has exactly one`;
  const issuer = issuers[0]!;
  if (!pinned.keyIds.has(issuer)) {
    return `is signed by key ${issuer}, not by the pinned key ${pinned.fingerprint}`;
  }
  try {
    const result = await verify({
      message: await createMessage({ binary: bytes }),
      signature,
      verificationKeys: pinned.key,
      format: 'binary',
    });
    for (const entry of result.signatures) await entry.verified;
    return undefined;
  } catch (error) {
    const why = (error as Error).message.replace(
      /^Signed digest did not match$/,
      'the record does not match it',
    );
    return `does not verify with the pinned key ${pinned.fingerprint} (${why})`;
  }
}
