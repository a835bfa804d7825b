import { generateKey, readKey } from 'openpgp';

export interface SigningKey {
  /** The armored secret key, as the `signing-key` input and RESTORABLE_SIGNING_KEY take it. */
  armored: string;
  publicArmored: string;
  /** Upper-case hex, as `.restorable/config.yaml` pins it. */
  fingerprint: string;
}

/** A fresh evidence signing key (Ed25519), protected by `passphrase` when one is given. */
export async function newSigningKey(name = 'Evidence', passphrase?: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name, email: `${name.toLowerCase()}@example.com` }],
    format: 'armored',
    ...(passphrase ? { passphrase } : {}),
  });
  const fingerprint = (await readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  return { armored: privateKey, publicArmored: publicKey, fingerprint };
}
