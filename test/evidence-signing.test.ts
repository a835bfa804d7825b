import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalBytes } from '../src/evidence/canonical.ts';
import {
  checkSignature,
  loadPinnedKey,
  loadSigner,
  normalizeFingerprint,
  SIGNING_ENV,
  type Signer,
  SigningError,
  signerFromEnv,
} from '../src/evidence/signing.ts';
import { GpgHome } from './helpers/gpg.ts';
import { newSigningKey } from './helpers/signing-key.ts';

// Signatures both ways with Debian's gpg 2.2: gpg --verify accepts what openpgp.js signs with a key gpg made,
// and the verifier accepts what gpg --detach-sign made with that key. Keys are ed25519 (fast).

const PASSPHRASE = 'evidence signing passphrase ✓';
let gpg: GpgHome;
let alice = ''; // the pinned key, no passphrase
let mallory = ''; // another valid key
let carol = ''; // protected by PASSPHRASE
let aliceSecret = '';
let alicePublic = '';
let signer: Signer;

const record = canonicalBytes({ format: 'restorable-evidence', kind: 'backup', sequence: 0, note: 'é' });

beforeAll(async () => {
  gpg = new GpgHome();
  alice = gpg.generate('Alice <alice@example.com>');
  mallory = gpg.generate('Mallory <mallory@example.com>');
  carol = gpg.generate('Carol <carol@example.com>', PASSPHRASE);
  aliceSecret = gpg.exportSecret(alice);
  alicePublic = gpg.exportPublic(alice);
  signer = await loadSigner(aliceSecret, undefined, 'alice.asc');
});

afterAll(() => gpg.remove());

function files(bytes: Uint8Array, signature: string): { data: string; sig: string } {
  const data = join(gpg.home, `record-${Math.random().toString(16).slice(2)}.json`);
  writeFileSync(data, bytes);
  writeFileSync(`${data}.asc`, signature);
  return { data, sig: `${data}.asc` };
}

describe('signing with openpgp.js, verified by gpg', () => {
  it('gpg --verify accepts the detached armored signature over the exact bytes', async () => {
    expect(signer.fingerprint).toBe(alice);
    const signature = await signer.sign(record);
    expect(signature).toMatch(/^-----BEGIN PGP SIGNATURE-----\n/);
    const { data, sig } = files(record, signature);
    const run = gpg.run(['--status-fd', '1', '--verify', sig, data]);
    expect(run.status, run.stderr).toBe(0);
    const status = run.stdout.toString('utf8');
    expect(status).toMatch(new RegExp(`^\\[GNUPG:\\] VALIDSIG ${alice} `, 'm'));
    // Signature class 00: a binary document signature, so the bytes are taken as they are.
    expect(status).toMatch(/^\[GNUPG:\] VALIDSIG .* 00 [0-9A-F]{40}$/m);
  });

  it('gpg --verify refuses the signature when one byte of the record changes', async () => {
    const signature = await signer.sign(record);
    const changed = Uint8Array.from(record);
    changed[10] = changed[10]! ^ 1;
    const { data, sig } = files(changed, signature);
    const run = gpg.run(['--verify', sig, data]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/BAD signature/);
  });
});

describe('verifying against the pinned key', () => {
  it('accepts a signature gpg made with the pinned key (gpg --detach-sign --armor)', async () => {
    const { data } = files(record, '');
    const signature = gpg
      .ok(['--local-user', alice, '--detach-sign', '--armor', '--output', '-', data])
      .toString('utf8');
    const pinned = await loadPinnedKey(alicePublic, alice, 'keys/alice.asc');
    expect(await checkSignature(record, signature, pinned)).toBeUndefined();
    // and one openpgp.js made
    expect(await checkSignature(record, await signer.sign(record), pinned)).toBeUndefined();
  });

  it('refuses a valid signature by any other key, naming that key', async () => {
    const { data } = files(record, '');
    const signature = gpg
      .ok(['--local-user', mallory, '--detach-sign', '--armor', '--output', '-', data])
      .toString('utf8');
    const pinned = await loadPinnedKey(alicePublic, alice, 'keys/alice.asc');
    const malloryKeyId = mallory.slice(-16);
    expect(await checkSignature(record, signature, pinned)).toBe(
      `is signed by key ${malloryKeyId}, not by the pinned key ${alice}`,
    );
  });

  it('refuses a signature of other bytes, garbage, and two signatures in one file', async () => {
    const pinned = await loadPinnedKey(alicePublic, alice, 'keys/alice.asc');
    const other = await signer.sign(canonicalBytes({ other: true }));
    expect(await checkSignature(record, other, pinned)).toMatch(
      new RegExp(`^does not verify with the pinned key ${alice} \\(`),
    );
    expect(await checkSignature(record, 'hello', pinned)).toMatch(/^is not an armored OpenPGP signature/);
    const { data } = files(record, '');
    const both = gpg
      .ok(['--local-user', alice, '--local-user', mallory, '--detach-sign', '--armor', '--output', '-', data])
      .toString('utf8');
    expect(await checkSignature(record, both, pinned)).toBe('holds 2 signatures; a record has exactly one');
  });

  it('loads the pinned key only when its fingerprint is the pinned one', async () => {
    await expect(loadPinnedKey(gpg.exportPublic(mallory), alice, 'keys/x.asc')).rejects.toThrow(
      `keys/x.asc holds ${mallory}, not the pinned key ${alice}`,
    );
    await expect(loadPinnedKey(aliceSecret, alice, 'keys/x.asc')).rejects.toThrow(/holds a secret key/);
    await expect(loadPinnedKey(alicePublic, alice.toLowerCase(), 'k')).resolves.toMatchObject({
      fingerprint: alice,
    });
    await expect(loadPinnedKey(alicePublic, 'ABCD', 'k')).rejects.toThrow(/is not an OpenPGP fingerprint/);
  });

  it('normalizes fingerprints as gpg prints them', () => {
    expect(normalizeFingerprint('abcd ef01 2345 6789 ABCD  EF01 2345 6789 ABCD EF01')).toBe(
      'ABCDEF0123456789ABCDEF0123456789ABCDEF01',
    );
    expect(() => normalizeFingerprint('xyz')).toThrow(SigningError);
  });
});

describe('the signing key from the environment', () => {
  it('is read from RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE, unlocked with its passphrase', async () => {
    expect(await signerFromEnv({})).toBeUndefined();
    expect((await signerFromEnv({ [SIGNING_ENV.key]: aliceSecret }))?.fingerprint).toBe(alice);
    const carolSecret = gpg.exportSecret(carol, PASSPHRASE);
    const path = join(gpg.home, 'carol-secret.asc');
    writeFileSync(path, carolSecret, { mode: 0o600 });
    const carolSigner = await signerFromEnv({
      [SIGNING_ENV.keyFile]: path,
      [SIGNING_ENV.passphrase]: `${PASSPHRASE}\n`,
    });
    expect(carolSigner?.fingerprint).toBe(carol);
    // gpg accepts what the unlocked key signs
    const { data, sig } = files(record, await carolSigner!.sign(record));
    expect(gpg.run(['--verify', sig, data]).status).toBe(0);
  });

  it('fails with a message naming the variable, never the key or the passphrase', async () => {
    const carolSecret = gpg.exportSecret(carol, PASSPHRASE);
    const attempts: [NodeJS.ProcessEnv, RegExp][] = [
      [
        { [SIGNING_ENV.key]: carolSecret },
        /is protected by a passphrase, and none was given \(RESTORABLE_EVIDENCE_KEY_PASSPHRASE\)/,
      ],
      [
        { [SIGNING_ENV.key]: carolSecret, [SIGNING_ENV.passphrase]: 'wrong' },
        /the passphrase for secret key [0-9A-F]{40} \(RESTORABLE_EVIDENCE_KEY\) is wrong/,
      ],
      [
        { [SIGNING_ENV.key]: alicePublic },
        /RESTORABLE_EVIDENCE_KEY holds a public key; signing needs the secret key/,
      ],
      [{ [SIGNING_ENV.key]: 'nonsense' }, /RESTORABLE_EVIDENCE_KEY is not an armored OpenPGP secret key/],
      [
        { [SIGNING_ENV.keyFile]: '/nonexistent/key.asc' },
        /RESTORABLE_EVIDENCE_KEY_FILE names \/nonexistent\/key.asc, which cannot be read \(ENOENT\)/,
      ],
      [
        { [SIGNING_ENV.key]: aliceSecret, [SIGNING_ENV.keyFile]: '/x' },
        /both RESTORABLE_EVIDENCE_KEY and RESTORABLE_EVIDENCE_KEY_FILE are set/,
      ],
    ];
    for (const [env, message] of attempts) {
      const error = await signerFromEnv(env).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(SigningError);
      expect(error!.message).toMatch(message);
      expect(error!.message).not.toContain(PASSPHRASE);
      expect(error!.message).not.toContain('PRIVATE KEY');
    }
  });

  it('accepts a key made by openpgp.js (v4, curve25519), which gpg verifies too', async () => {
    const { armored: privateKey, publicArmored: publicKey } = await newSigningKey('Robot');
    const robot = await loadSigner(privateKey, undefined, 'robot');
    gpg.ok(['--import'], publicKey);
    const { data, sig } = files(record, await robot.sign(record));
    const run = gpg.run(['--verify', sig, data]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Good signature from "Robot <robot@example.com>"/);
  });
});
