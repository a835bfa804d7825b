import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { armor, enums, generateKey, unarmor } from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMasterKey } from '../src/engine/crypto.ts';
import {
  addWrapper,
  credentialsFromEnv,
  listWrappers,
  readWrapper,
  removeWrapper,
  unlock,
  wrapperId,
  writeWrapper,
} from '../src/engine/keyring.ts';
import {
  type Credentials,
  checkRecipient,
  describeWrapper,
  KeyError,
  parseRepositoryKey,
  type RecipientFile,
  repositoryKeyDocument,
  unwrapKey,
  wrapKey,
} from '../src/engine/keys.ts';
import { LocalBackend } from '../src/storage/local.ts';

// Real gpg (Debian's gnupg 2.2) in a temporary home: it decrypts what openpgp.js wraps, and openpgp.js opens
// what gpg exports and encrypts. Keys are ed25519/cv25519 (fast) plus one RSA-3072.

const GPG = '/usr/bin/gpg';
const root = join(import.meta.dirname, '..');
const REPO = createHash('sha256').update('repository one').digest('hex');
const OTHER_REPO = createHash('sha256').update('repository two').digest('hex');
const WRAP_PASSPHRASE = 'correct horse battery staple ✓';
const BOB_PASSPHRASE = 'bob’s secret key passphrase';

let home = '';
const temps: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

function gpg(args: string[], input?: string | Uint8Array): Run {
  const result = spawnSync(GPG, ['--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
    env: { ...process.env, GNUPGHOME: home, LC_ALL: 'C' },
    input,
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

function gpgOk(args: string[], input?: string | Uint8Array): Buffer {
  const run = gpg(args, input);
  if (run.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
  return run.stdout;
}

/** A file holding `text`, for --passphrase-file (secrets stay out of argv). */
function secretFile(text: string): string {
  const path = join(home, `secret-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, `${text}\n`, { mode: 0o600 });
  return path;
}

function primaryFingerprint(email: string): string {
  const colons = gpgOk(['--with-colons', '--list-keys', email]).toString('utf8');
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons);
  if (!fpr) throw new Error(`no fingerprint for ${email}:\n${colons}`);
  return fpr[1]!;
}

interface TestKey {
  fingerprint: string;
  public: RecipientFile;
  secret?: string;
}

const keys: Record<'alice' | 'bob' | 'carol' | 'dave' | 'erin', TestKey> = {} as never;
let bobPassFile = '';
let wrapPassFile = '';

function exportPublic(name: string, fingerprint: string): RecipientFile {
  const armored = gpgOk(['--armor', '--export', fingerprint]).toString('utf8');
  const path = join(home, `${name}.asc`);
  writeFileSync(path, armored);
  return { path, armored };
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'rk-gpg-'));
  chmodSync(home, 0o700);
  // No passphrase caching (a wrong passphrase must fail every time) and a fixed, cheap protection count.
  writeFileSync(join(home, 'gpg-agent.conf'), 's2k-count 65536\ndefault-cache-ttl 0\nmax-cache-ttl 0\n');
  bobPassFile = secretFile(BOB_PASSPHRASE);
  wrapPassFile = secretFile(WRAP_PASSPHRASE);
  const empty = secretFile('');

  gpgOk([
    '--passphrase-file',
    empty,
    '--quick-gen-key',
    'Alice <alice@example.com>',
    'future-default',
    'default',
    'never',
  ]);
  gpgOk([
    '--passphrase-file',
    bobPassFile,
    '--quick-gen-key',
    'Bob <bob@example.com>',
    'future-default',
    'default',
    'never',
  ]);
  gpgOk([
    '--passphrase-file',
    empty,
    '--quick-gen-key',
    'Carol <carol@example.com>',
    'ed25519',
    'sign,cert',
    'never',
  ]);
  const carol = primaryFingerprint('carol@example.com');
  gpgOk(['--passphrase-file', empty, '--quick-add-key', carol, 'rsa3072', 'encr', 'never']);
  // Dave's key was made in 2020 and expired a day later.
  gpgOk([
    '--faked-system-time',
    '20200101T000000',
    '--passphrase-file',
    empty,
    '--quick-gen-key',
    'Dave <dave@example.com>',
    'future-default',
    'default',
    '1d',
  ]);
  gpgOk([
    '--passphrase-file',
    empty,
    '--quick-gen-key',
    'Erin <erin@example.com>',
    'future-default',
    'default',
    'never',
  ]);
  const erin = primaryFingerprint('erin@example.com');
  const revocation = readFileSync(join(home, 'openpgp-revocs.d', `${erin}.rev`), 'utf8').replace(
    /^:-----/m,
    '-----',
  );
  gpgOk(['--import'], revocation);

  for (const name of ['alice', 'bob', 'carol', 'dave', 'erin'] as const) {
    const fingerprint = primaryFingerprint(`${name}@example.com`);
    keys[name] = { fingerprint, public: exportPublic(name, fingerprint) };
  }
  keys.alice.secret = gpgOk([
    '--passphrase-file',
    empty,
    '--armor',
    '--export-secret-keys',
    keys.alice.fingerprint,
  ]).toString();
  keys.bob.secret = gpgOk([
    '--passphrase-file',
    bobPassFile,
    '--armor',
    '--export-secret-keys',
    keys.bob.fingerprint,
  ]).toString();
  keys.carol.secret = gpgOk([
    '--passphrase-file',
    empty,
    '--armor',
    '--export-secret-keys',
    keys.carol.fingerprint,
  ]).toString();
});

afterAll(() => {
  if (home) {
    spawnSync('/usr/bin/gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: home } });
    rmSync(home, { recursive: true, force: true });
  }
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** Runs `fn` and returns the KeyError it throws (failing the test if it throws anything else or nothing). */
async function refusal(fn: () => Promise<unknown>): Promise<KeyError> {
  try {
    await fn();
  } catch (error) {
    if (!(error instanceof KeyError)) throw error;
    return error;
  }
  throw new Error('expected a KeyError, but nothing was thrown');
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function writeTemp(text: string | Uint8Array): string {
  const dir = tempDir('rk-file-');
  const path = join(dir, 'wrapper.asc');
  writeFileSync(path, text);
  return path;
}

/** gpg --decrypt of a wrapper; returns the parsed document. */
function gpgDecrypt(armored: string, extra: string[] = []): { repository: string; masterKey: string } {
  const run = gpg([...extra, '--decrypt', writeTemp(armored)]);
  if (run.status !== 0) throw new Error(`gpg --decrypt failed (${run.status}):\n${run.stderr}`);
  expect(run.stderr).not.toMatch(/WARNING|invalid|error/i);
  return JSON.parse(run.stdout.toString('utf8'));
}

/** The packets as gpg sees them: v3 PKESKs, v4 SKESKs and SEIPD version 1 (MDC), nothing gpg 2.2 lacks. */
function expectGpg22Packets(armored: string): string {
  const packets = gpgOk(['--list-packets', '--list-only', writeTemp(armored)]).toString('utf8');
  // The armor ends with its CRC-24 line; without one gpg 2.2 reads the END line as data.
  expect(armored).toMatch(/\n=[A-Za-z0-9+/]{4}\n-----END PGP MESSAGE-----\n$/);
  expect(packets).toMatch(/^:encrypted data packet:\n\s+length: \d+\n\s+mdc_method: 2$/m);
  expect(packets).not.toMatch(/:aead encrypted packet/);
  for (const line of packets.split('\n').filter((l) => l.startsWith(':pubkey enc packet'))) {
    expect(line).toMatch(/version 3/);
  }
  for (const line of packets.split('\n').filter((l) => l.startsWith(':symkey enc packet'))) {
    expect(line).toMatch(/version 4, cipher 9, aead 0, ?s2k 3/);
  }
  return packets;
}

/** The binary OpenPGP message inside the armor. */
async function binary(armored: string): Promise<Uint8Array> {
  const { data } = await unarmor(armored);
  if (!(data instanceof Uint8Array)) throw new Error('unarmor returned a stream');
  return data;
}

/** Flips one byte of the binary message at `offset` (negative: from the end) and re-armors it. */
async function tamper(armored: string, offset: number): Promise<string> {
  const bytes = new Uint8Array(await binary(armored));
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at]! ^= 0x40;
  // With its CRC-24 line, as openpgp.js writes SEIPDv1 messages: gpg 2.2 misreads armor without one.
  return armor(enums.armor.message, bytes, undefined, undefined, undefined, true);
}

describe('wrapKey: gpg recovers the key', () => {
  it('gpg --decrypt recovers the exact master key with the recipient’s own secret key', async () => {
    const masterKey = newMasterKey();
    const wrapper = await wrapKey({ repository: REPO, masterKey, recipients: [keys.alice.public] });
    expect(wrapper).toMatch(/^-----BEGIN PGP MESSAGE-----/);
    const doc = gpgDecrypt(wrapper);
    expect(doc.repository).toBe(REPO);
    expect(doc.masterKey).toBe(b64(masterKey));
    expectGpg22Packets(wrapper);
  });

  it('a passphrase wrapper decrypts with gpg --passphrase-file, and not with a wrong one', async () => {
    const masterKey = newMasterKey();
    const wrapper = await wrapKey({
      repository: REPO,
      masterKey,
      recipients: [],
      passphrase: WRAP_PASSPHRASE,
    });
    const doc = gpgDecrypt(wrapper, ['--no-symkey-cache', '--passphrase-file', wrapPassFile]);
    expect(doc.masterKey).toBe(b64(masterKey));
    const packets = expectGpg22Packets(wrapper);
    expect(packets).toMatch(/count 65011712/);
    const wrong = gpg([
      '--no-symkey-cache',
      '--passphrase-file',
      secretFile('not it'),
      '--decrypt',
      writeTemp(wrapper),
    ]);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout.length).toBe(0);
  });

  it('gpg decrypts for an RSA-3072 recipient and with a passphrase-protected secret key', async () => {
    const masterKey = newMasterKey();
    const forCarol = await wrapKey({ repository: REPO, masterKey, recipients: [keys.carol.public] });
    expect(gpgDecrypt(forCarol).masterKey).toBe(b64(masterKey));
    const forBob = await wrapKey({ repository: REPO, masterKey, recipients: [keys.bob.public] });
    expect(gpgDecrypt(forBob, ['--passphrase-file', bobPassFile]).masterKey).toBe(b64(masterKey));
    const wrongBob = gpg(['--passphrase-file', secretFile('nope'), '--decrypt', writeTemp(forBob)]);
    expect(wrongBob.status).not.toBe(0);
  });

  it('one wrapper for several recipients and a passphrase names them all, and each opens it', async () => {
    const masterKey = newMasterKey();
    const recipients = [keys.alice.public, keys.bob.public, keys.carol.public];
    const wrapper = await wrapKey({ repository: REPO, masterKey, recipients, passphrase: WRAP_PASSPHRASE });
    const description = await describeWrapper(wrapper, recipients);
    expect(description.passphrase).toBe(true);
    expect(description.gpgCompatible).toBe(true);
    expect(description.recipients.map((r) => r.fingerprint).sort()).toEqual(
      [keys.alice.fingerprint, keys.bob.fingerprint, keys.carol.fingerprint].sort(),
    );
    expect(description.recipients.find((r) => r.fingerprint === keys.carol.fingerprint)?.algorithm).toMatch(
      /^rsa/,
    );
    const packets = expectGpg22Packets(wrapper);
    for (const recipient of description.recipients) expect(packets).toContain(`keyid ${recipient.keyId}`);
    for (const secretKeys of [
      [{ armored: keys.alice.secret! }],
      [{ armored: keys.bob.secret!, passphrase: BOB_PASSPHRASE }],
      [{ armored: keys.carol.secret! }],
    ]) {
      expect(await unwrapKey(wrapper, { secretKeys }, REPO)).toEqual(masterKey);
    }
    expect(await unwrapKey(wrapper, { passphrase: WRAP_PASSPHRASE }, REPO)).toEqual(masterKey);
  });

  it('accepts the public keys shipped in examples/keys as recipients, with the key ids gpg sees', async () => {
    const dir = join(root, 'examples/keys');
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.asc'))
      .map((name) => ({ path: `examples/keys/${name}`, armored: readFileSync(join(dir, name), 'utf8') }));
    expect(files.length).toBeGreaterThanOrEqual(2);
    const gpgSubkeys = new Set<string>();
    for (const file of files) {
      const info = await checkRecipient(file);
      expect(info.length).toBe(1);
      const shown = gpgOk(
        ['--with-colons', '--import-options', 'show-only', '--import'],
        file.armored,
      ).toString();
      const encryptSubkeys = shown
        .split('\n')
        .filter((line) => line.startsWith('sub:') && line.split(':')[11]!.includes('e'))
        .map((line) => line.split(':')[4]!);
      expect(encryptSubkeys).toContain(info[0]!.encryptionKeyId);
      expect(shown).toContain(`fpr:::::::::${info[0]!.fingerprint}:`);
      for (const id of encryptSubkeys) gpgSubkeys.add(id);
    }
    const wrapper = await wrapKey({ repository: REPO, masterKey: newMasterKey(), recipients: files });
    const description = await describeWrapper(wrapper, files);
    expect(new Set(description.recipients.map((r) => r.keyId))).toEqual(gpgSubkeys);
    expect(description.recipients.map((r) => r.path).sort()).toEqual(files.map((f) => f.path).sort());
    expectGpg22Packets(wrapper);
  });

  it('stays gpg 2.2-compatible for a key that asks for SEIPDv2 (AEAD), and gpg decrypts it', async () => {
    const made = await generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ name: 'AEAD fan', email: 'aead@example.com' }],
      config: { aeadProtect: true },
      format: 'armored',
    });
    const file = { path: 'aead.asc', armored: made.publicKey };
    const masterKey = newMasterKey();
    const wrapper = await wrapKey({ repository: REPO, masterKey, recipients: [file] });
    expect((await describeWrapper(wrapper)).gpgCompatible).toBe(true);
    expectGpg22Packets(wrapper);
    gpgOk(['--import'], made.privateKey);
    expect(gpgDecrypt(wrapper).masterKey).toBe(b64(masterKey));
  });
});

describe('unwrapKey', () => {
  const masterKey = newMasterKey();
  let forAlice = '';
  let forPassphrase = '';

  beforeAll(async () => {
    forAlice = await wrapKey({ repository: REPO, masterKey, recipients: [keys.alice.public] });
    forPassphrase = await wrapKey({
      repository: REPO,
      masterKey,
      recipients: [],
      passphrase: WRAP_PASSPHRASE,
    });
  });

  it('opens with gpg-exported secret keys: plain, passphrase-protected, and subkeys only', async () => {
    expect(await unwrapKey(forAlice, { secretKeys: [{ armored: keys.alice.secret! }] }, REPO)).toEqual(
      masterKey,
    );
    const forBob = await wrapKey({ repository: REPO, masterKey, recipients: [keys.bob.public] });
    const bob = { armored: keys.bob.secret!, passphrase: BOB_PASSPHRASE };
    expect(await unwrapKey(forBob, { secretKeys: [bob] }, REPO)).toEqual(masterKey);
    const subkeys = gpgOk([
      '--passphrase-file',
      bobPassFile,
      '--armor',
      '--export-secret-subkeys',
      keys.bob.fingerprint,
    ]);
    const onlySubkeys = { armored: subkeys.toString(), passphrase: BOB_PASSPHRASE };
    expect(await unwrapKey(forBob, { secretKeys: [onlySubkeys] }, REPO)).toEqual(masterKey);
  });

  it('opens wrappers that gpg itself made, to a key or with a passphrase', async () => {
    const document = repositoryKeyDocument(REPO, masterKey);
    const toAlice = gpgOk(
      ['--armor', '--trust-model', 'always', '--encrypt', '-r', keys.alice.fingerprint],
      document,
    );
    expect(
      await unwrapKey(toAlice.toString(), { secretKeys: [{ armored: keys.alice.secret! }] }, REPO),
    ).toEqual(masterKey);
    const symmetric = gpgOk(['--armor', '--passphrase-file', wrapPassFile, '--symmetric'], document);
    expect(await unwrapKey(symmetric.toString(), { passphrase: WRAP_PASSPHRASE }, REPO)).toEqual(masterKey);
  });

  it('a wrong passphrase or someone else’s key fails with one clear line', async () => {
    for (const passphrase of [
      'wrong',
      'Correct horse battery staple ✓',
      'x'.repeat(40),
      '0',
      'correct horse',
    ]) {
      const error = await refusal(() => unwrapKey(forPassphrase, { passphrase }, REPO, 'keys/abc in /srv/r'));
      expect(error.reason).toBe('no-match');
      expect(error.message).toBe(
        'keys/abc in /srv/r does not open with the given passphrase or secret keys (it opens with: a passphrase)',
      );
    }
    const error = await refusal(() =>
      unwrapKey(forAlice, { secretKeys: [{ armored: keys.carol.secret! }] }, REPO),
    );
    expect(error.reason).toBe('no-match');
    const aliceKeyId = (await describeWrapper(forAlice)).recipients[0]!.keyId;
    expect(error.message).toContain(`it opens with: ${aliceKeyId}`);
    expect(error.message).not.toMatch(/\n/);
    // A passphrase does not open a wrapper made for a key, nor the other way round.
    expect((await refusal(() => unwrapKey(forAlice, { passphrase: WRAP_PASSPHRASE }, REPO))).reason).toBe(
      'no-match',
    );
  });

  it('names a secret key that is locked, wrongly unlocked or not a secret key', async () => {
    const locked = await refusal(() =>
      unwrapKey(forAlice, { secretKeys: [{ armored: keys.bob.secret!, source: 'bob.key' }] }, REPO),
    );
    expect(locked.reason).toBe('secret-key');
    expect(locked.message).toMatch(
      /^secret key bob\.key \([0-9A-F]{40}\) is protected by a passphrase.*RESTORABLE_SECRET_KEY_PASSPHRASE/,
    );
    const wrong = await refusal(() =>
      unwrapKey(
        forAlice,
        { secretKeys: [{ armored: keys.bob.secret!, passphrase: 'no', source: 'bob.key' }] },
        REPO,
      ),
    );
    expect(wrong.reason).toBe('secret-key');
    expect(wrong.message).toBe(`the passphrase for secret key bob.key (${keys.bob.fingerprint}) is wrong`);
    const publicOnly = await refusal(() =>
      unwrapKey(
        forAlice,
        { secretKeys: [{ armored: keys.alice.public.armored, source: 'alice.asc' }] },
        REPO,
      ),
    );
    expect(publicOnly.reason).toBe('secret-key');
    expect(publicOnly.message).toMatch(/^alice\.asc is a public key/);
    expect((await refusal(() => unwrapKey(forAlice, {}, REPO))).reason).toBe('no-credentials');
  });

  it('refuses a wrapper of another repository', async () => {
    const error = await refusal(() => unwrapKey(forPassphrase, { passphrase: WRAP_PASSPHRASE }, OTHER_REPO));
    expect(error.reason).toBe('other-repository');
    expect(error.message).toContain(REPO.slice(0, 12));
  });

  it('detects a tampered wrapper, whichever part is altered', async () => {
    // The last bytes are the MDC of the encrypted data packet.
    const badData = await tamper(forAlice, -3);
    const data = await refusal(() =>
      unwrapKey(badData, { secretKeys: [{ armored: keys.alice.secret! }] }, REPO),
    );
    expect(data.reason).toBe('tampered');
    expect(data.message).toMatch(/failed its integrity check: it was altered or is corrupt$/);
    const badPassphraseData = await tamper(forPassphrase, -3);
    expect(
      (await refusal(() => unwrapKey(badPassphraseData, { passphrase: WRAP_PASSPHRASE }, REPO))).reason,
    ).toBe('tampered');
    // The end of the first packet is the wrapped session key of Alice's PKESK.
    const pkeskEnd = 2 + (await binary(forAlice))[1]!;
    const badSessionKey = await tamper(forAlice, pkeskEnd - 1);
    const pkesk = await refusal(() =>
      unwrapKey(badSessionKey, { secretKeys: [{ armored: keys.alice.secret! }] }, REPO),
    );
    expect(pkesk.reason).toBe('tampered');
    // gpg agrees that they are broken (and still prints what it decrypted: only its exit status tells).
    const gpgData = gpg(['--decrypt', writeTemp(badData)]);
    expect(gpgData.status).not.toBe(0);
    expect(gpgData.stderr).toMatch(/WARNING: encrypted message has been manipulated!/);
    const gpgSessionKey = gpg(['--decrypt', writeTemp(badSessionKey)]);
    expect(gpgSessionKey.status).not.toBe(0);
    expect(gpgSessionKey.stderr).toMatch(/public key decryption failed: Checksum error/);
  });

  it('refuses what is not a key wrapper', async () => {
    const secretKeys = [{ armored: keys.alice.secret! }];
    for (const text of [
      '',
      'hello',
      keys.alice.public.armored,
      forAlice.slice(0, 120),
      '-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n',
    ]) {
      expect((await refusal(() => unwrapKey(text, { secretKeys }, REPO))).reason).toBe('malformed');
    }
    // A real OpenPGP message that is not a repository key document.
    const notAKey = gpgOk(
      ['--armor', '--trust-model', 'always', '--encrypt', '-r', keys.alice.fingerprint],
      '{"hello":1}',
    );
    const error = await refusal(() => unwrapKey(notAKey.toString(), { secretKeys }, REPO));
    expect(error.reason).toBe('malformed');
    expect(error.message).toMatch(/not a repository key document/);
  });
});

describe('wrapKey refuses bad recipients and passphrases', () => {
  const wrap = (recipients: RecipientFile[], passphrase?: string) =>
    refusal(() =>
      wrapKey({
        repository: REPO,
        masterKey: newMasterKey(),
        recipients,
        ...(passphrase === undefined ? {} : { passphrase }),
      }),
    );

  it('a file that is not an OpenPGP public key, named', async () => {
    const readme = {
      path: 'examples/keys/README.md',
      armored: readFileSync(join(root, 'examples/keys/README.md'), 'utf8'),
    };
    const error = await wrap([readme]);
    expect(error.reason).toBe('not-a-public-key');
    expect(error.message).toMatch(/^examples\/keys\/README\.md is not an armored OpenPGP public key/);
    const message = await wrap([
      {
        path: 'msg.asc',
        armored: gpgOk(['--armor', '--symmetric', '--passphrase-file', wrapPassFile], 'x').toString(),
      },
    ]);
    expect(message.reason).toBe('not-a-public-key');
    expect(message.message).toMatch(/^msg\.asc /);
    const broken = keys.alice.public.armored.replace(/\n[A-Za-z0-9+/]{20}/, '\n!!!!!!!!!!!!!!!!!!!!');
    expect((await wrap([{ path: 'broken.asc', armored: broken }])).message).toMatch(
      /^broken\.asc is not a readable OpenPGP public key/,
    );
  });

  it('a private key given as a recipient', async () => {
    const error = await wrap([{ path: 'keys/alice-secret.asc', armored: keys.alice.secret! }]);
    expect(error.reason).toBe('not-a-public-key');
    expect(error.message).toMatch(/^keys\/alice-secret\.asc holds a private key/);
  });

  it('an expired or a revoked recipient key, named', async () => {
    const expired = await wrap([keys.alice.public, keys.dave.public]);
    expect(expired.reason).toBe('expired');
    expect(expired.message).toBe(
      `${keys.dave.public.path}: key ${keys.dave.fingerprint} (Dave <dave@example.com>) expired on 2020-01-02; it cannot be a recipient`,
    );
    const revoked = await wrap([keys.erin.public]);
    expect(revoked.reason).toBe('revoked');
    expect(revoked.message).toContain(`${keys.erin.public.path}: key ${keys.erin.fingerprint}`);
  });

  it('keys that gpg 2.2 cannot decrypt to: version 6, or X25519 (RFC 9580)', async () => {
    const v6 = await generateKey({
      type: 'curve25519',
      userIDs: [{ email: 'v6@example.com' }],
      config: { v6Keys: true },
    });
    const v6Error = await wrap([{ path: 'v6.asc', armored: v6.publicKey }]);
    expect(v6Error.reason).toBe('unusable-recipient');
    expect(v6Error.message).toMatch(/^v6\.asc: key [0-9A-F]{64} .*is a version 6 key/);
    const x25519 = await generateKey({ type: 'curve25519', userIDs: [{ email: 'x@example.com' }] });
    const xError = await wrap([{ path: 'x25519.asc', armored: x25519.publicKey }]);
    expect(xError.reason).toBe('unusable-recipient');
    expect(xError.message).toMatch(/x25519 \(RFC 9580\), which gpg 2\.2 cannot decrypt/);
  });

  it('no recipient and no passphrase, or a passphrase gpg could not be given', async () => {
    expect((await wrap([])).reason).toBe('no-credentials');
    expect((await wrap([], '')).reason).toBe('bad-passphrase');
    expect((await wrap([], 'two\nlines')).reason).toBe('bad-passphrase');
  });
});

describe('keyring over a LocalBackend', () => {
  const setup = async () => {
    const backend = new LocalBackend(tempDir('rk-repo-'));
    const masterKey = newMasterKey();
    const forAlice = await writeWrapper(
      backend,
      await wrapKey({ repository: REPO, masterKey, recipients: [keys.alice.public] }),
    );
    const forPassphrase = await writeWrapper(
      backend,
      await wrapKey({ repository: REPO, masterKey, recipients: [], passphrase: WRAP_PASSPHRASE }),
    );
    return {
      backend,
      masterKey,
      forAlice,
      forPassphrase,
      path: (id: string) => join(backend.location, 'keys', id),
    };
  };
  const alice: Credentials = { secretKeys: [{ armored: '' }] };

  beforeAll(() => {
    alice.secretKeys = [{ armored: keys.alice.secret! }];
  });

  it('stores wrappers content-addressed and lists who opens them', async () => {
    const { backend, forAlice, forPassphrase, path } = await setup();
    for (const id of [forAlice, forPassphrase]) {
      const bytes = readFileSync(path(id));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(id);
      expect(wrapperId(bytes.toString('utf8'))).toBe(id);
      expect(await readWrapper(backend, id)).toBe(bytes.toString('utf8'));
    }
    const listed = await listWrappers(backend, [keys.alice.public, keys.bob.public]);
    expect(listed.map((w) => w.id)).toEqual([forAlice, forPassphrase].sort());
    const a = listed.find((w) => w.id === forAlice)!;
    expect(a.passphrase).toBe(false);
    expect(a.recipients).toEqual([
      expect.objectContaining({
        fingerprint: keys.alice.fingerprint,
        path: keys.alice.public.path,
        userIds: ['Alice <alice@example.com>'],
      }),
    ]);
    const p = listed.find((w) => w.id === forPassphrase)!;
    expect(p).toMatchObject({ passphrase: true, recipients: [], gpgCompatible: true });
    expect(p.problem).toBeUndefined();
  });

  it('unlocks when another run takes its wrapper back between the stat and the read', async () => {
    const { backend, masterKey, forAlice, path } = await setup();
    // A run that lost the race to create the repository removes its own wrapper while this one opens it: the
    // removal lands right after this run saw the wrapper.
    const racing = new (class extends LocalBackend {
      override async stat(name: string) {
        const info = await super.stat(name);
        if (name === `keys/${forAlice}`) rmSync(path(forAlice));
        return info;
      }
    })(backend.location);
    expect(await unlock(racing, REPO, { passphrase: WRAP_PASSPHRASE })).toEqual(masterKey);
    const error = await refusal(() => unlock(racing, REPO, alice));
    expect(error.reason).toBe('no-match');
  });

  it('unlocks with a passphrase or a secret key, and says how many wrappers it tried when none opens', async () => {
    const { backend, masterKey } = await setup();
    expect(await unlock(backend, REPO, { passphrase: WRAP_PASSPHRASE })).toEqual(masterKey);
    expect(await unlock(backend, REPO, alice)).toEqual(masterKey);
    const wrong = await refusal(() => unlock(backend, REPO, { passphrase: 'wrong' }));
    expect(wrong.reason).toBe('no-match');
    expect(wrong.message).toMatch(
      new RegExp(
        `^no key wrapper of ${backend.location} opens with the given passphrase or secret keys \\(tried 2 wrappers; they open with: [0-9A-F]{16}, a passphrase\\)$`,
      ),
    );
    const carol = await refusal(() =>
      unlock(backend, REPO, { secretKeys: [{ armored: keys.carol.secret! }] }),
    );
    expect(carol.reason).toBe('no-match');
    expect((await refusal(() => unlock(backend, REPO, {}))).reason).toBe('no-credentials');
    expect((await refusal(() => unlock(new LocalBackend(tempDir('rk-empty-')), REPO, alice))).reason).toBe(
      'no-wrappers',
    );
    const other = await refusal(() => unlock(backend, OTHER_REPO, alice));
    expect(other.reason).toBe('other-repository');
    expect(other.message).toMatch(
      /^no key wrapper of .* opens: keys\/[0-9a-f]{64} in .* holds the key of repository/,
    );
  });

  it('adds and removes wrappers without changing the master key, and keeps the last one', async () => {
    const { backend, masterKey, forAlice, forPassphrase, path } = await setup();
    const forCarol = await addWrapper(
      backend,
      REPO,
      { passphrase: WRAP_PASSPHRASE },
      { recipients: [keys.carol.public] },
    );
    expect(gpgDecrypt(readFileSync(path(forCarol), 'utf8')).masterKey).toBe(b64(masterKey));
    expect((await listWrappers(backend)).length).toBe(3);
    // The passphrase opens only its own wrapper: removing it while checking the passphrase still works is refused.
    const lockout = await refusal(() =>
      removeWrapper(backend, forPassphrase, {
        repository: REPO,
        credentials: { passphrase: WRAP_PASSPHRASE },
      }),
    );
    expect(lockout.reason).toBe('last-wrapper');
    expect(lockout.message).toMatch(
      /last key wrapper of .* that opens with the given passphrase or secret keys/,
    );
    expect(
      await removeWrapper(backend, forPassphrase.slice(0, 10), { repository: REPO, credentials: alice }),
    ).toBe(forPassphrase);
    expect(await removeWrapper(backend, forAlice)).toBe(forAlice);
    expect((await listWrappers(backend)).map((w) => w.id)).toEqual([forCarol]);
    const last = await refusal(() => removeWrapper(backend, forCarol));
    expect(last.reason).toBe('last-wrapper');
    expect(last.message).toContain(`keys/${forCarol} is the last key wrapper of ${backend.location}`);
    expect((await refusal(() => removeWrapper(backend, forAlice))).reason).toBe('not-found');
    expect(await unlock(backend, REPO, { secretKeys: [{ armored: keys.carol.secret! }] })).toEqual(masterKey);
    expect((await refusal(() => unlock(backend, REPO, { passphrase: WRAP_PASSPHRASE }))).message).toMatch(
      /tried 1 wrapper;/,
    );
  });

  it('a tampered stored wrapper fails cleanly, named', async () => {
    const { backend, forAlice, forPassphrase, path } = await setup();
    const text = readFileSync(path(forAlice), 'utf8');
    writeFileSync(
      path(forAlice),
      text.replace(/\n([A-Za-z0-9+/])/, (_, c: string) => `\n${c === 'A' ? 'B' : 'A'}`),
    );
    const listed = await listWrappers(backend);
    expect(listed.find((w) => w.id === forAlice)?.problem).toMatch(/does not match its content hash/);
    const error = await refusal(() => unlock(backend, REPO, alice));
    expect(error.reason).toBe('tampered');
    expect(error.message).toBe(
      `no key wrapper of ${backend.location} opens: keys/${forAlice} in ${backend.location} does not match its content hash: it was altered or is corrupt; 1 other wrapper did not open with the given passphrase or secret keys`,
    );
    // The passphrase wrapper still opens.
    await expect(unlock(backend, REPO, { passphrase: WRAP_PASSPHRASE })).resolves.toBeInstanceOf(Uint8Array);
    // A re-hashed forgery (a new wrapper for Alice with another master key) is caught by disagreement.
    writeFileSync(path(forAlice), text);
    await writeWrapper(
      backend,
      await wrapKey({ repository: REPO, masterKey: newMasterKey(), recipients: [keys.alice.public] }),
    );
    expect((await refusal(() => unlock(backend, REPO, alice))).reason).toBe('disagree');
    expect(forPassphrase).toMatch(/^[0-9a-f]{64}$/);
  });

  it('mentions, without blaming, a damaged wrapper that was for someone else', async () => {
    const { backend, masterKey, path } = await setup();
    const forBob = await writeWrapper(
      backend,
      await wrapKey({ repository: REPO, masterKey, recipients: [keys.bob.public] }),
    );
    // One more line break: still a readable message for Bob, but no longer its content address.
    writeFileSync(path(forBob), `${readFileSync(path(forBob), 'utf8')}\n`);
    const carol = await refusal(() =>
      unlock(backend, REPO, { secretKeys: [{ armored: keys.carol.secret! }] }),
    );
    expect(carol.reason).toBe('no-match');
    expect(carol.message).toMatch(
      /^no key wrapper of .* opens with the given passphrase or secret keys \(tried 3 wrappers;/,
    );
    expect(carol.message).toMatch(
      new RegExp(
        `; besides, keys/${forBob} in ${backend.location} does not match its content hash: it was altered or is corrupt$`,
      ),
    );
    // For Bob himself, it is the problem.
    const bob = { secretKeys: [{ armored: keys.bob.secret!, passphrase: BOB_PASSPHRASE }] };
    expect((await refusal(() => unlock(backend, REPO, bob))).reason).toBe('tampered');
  });

  it('restores with the document that gpg --decrypt printed (RESTORABLE_REPOSITORY_KEY_FILE)', async () => {
    const { backend, masterKey, forAlice, path } = await setup();
    const document = gpgOk(['--decrypt', path(forAlice)]);
    const file = join(tempDir('rk-doc-'), 'repository-key.json');
    writeFileSync(file, document, { mode: 0o600 });
    const credentials = await credentialsFromEnv({ RESTORABLE_REPOSITORY_KEY_FILE: file });
    expect(await unlock(backend, REPO, credentials)).toEqual(masterKey);
    expect(parseRepositoryKey(document.toString(), REPO, 'x')).toEqual(masterKey);
    const other = await refusal(() => unlock(backend, OTHER_REPO, credentials));
    expect(other.reason).toBe('other-repository');
    expect(other.message).toContain(`RESTORABLE_REPOSITORY_KEY_FILE (${file})`);
    // Pointing it at the still-encrypted wrapper says so.
    const encrypted = await refusal(async () =>
      unlock(backend, REPO, await credentialsFromEnv({ RESTORABLE_REPOSITORY_KEY_FILE: path(forAlice) })),
    );
    expect(encrypted.message).toMatch(/is still OpenPGP-encrypted/);
  });

  it('reads credentials from the environment only', async () => {
    const { backend, masterKey } = await setup();
    const forBob = await addWrapper(
      backend,
      REPO,
      { passphrase: WRAP_PASSPHRASE },
      { recipients: [keys.bob.public] },
    );
    expect(forBob).toMatch(/^[0-9a-f]{64}$/);
    const keyFile = join(tempDir('rk-env-'), 'bob.key');
    writeFileSync(keyFile, keys.bob.secret!, { mode: 0o600 });
    const fromFile = await credentialsFromEnv({
      RESTORABLE_SECRET_KEY_FILE: keyFile,
      RESTORABLE_SECRET_KEY_PASSPHRASE: `${BOB_PASSPHRASE}\n`,
    });
    expect(fromFile.passphrase).toBeUndefined();
    expect(fromFile.secretKeys?.[0]?.source).toBe(`RESTORABLE_SECRET_KEY_FILE (${keyFile})`);
    expect(await unlock(backend, REPO, fromFile)).toEqual(masterKey);
    const inline = await credentialsFromEnv({ RESTORABLE_SECRET_KEY: keys.alice.secret! });
    expect(await unlock(backend, REPO, inline)).toEqual(masterKey);
    const custom = await credentialsFromEnv(
      { PAYMENTS_PASSPHRASE: `${WRAP_PASSPHRASE}\n`, RESTORABLE_PASSPHRASE: 'ignored' },
      'PAYMENTS_PASSPHRASE',
    );
    expect(custom.passphrase).toBe(WRAP_PASSPHRASE);
    expect(await unlock(backend, REPO, custom)).toEqual(masterKey);
    expect(await credentialsFromEnv({ RESTORABLE_PASSPHRASE: '' })).toEqual({});
    const missing = await refusal(() =>
      credentialsFromEnv({ RESTORABLE_SECRET_KEY_FILE: '/nonexistent/key.asc' }),
    );
    expect(missing.reason).toBe('credentials');
    expect(missing.message).toBe(
      'RESTORABLE_SECRET_KEY_FILE names /nonexistent/key.asc, which cannot be read (ENOENT)',
    );
    const locked = await refusal(async () =>
      unlock(backend, REPO, await credentialsFromEnv({ RESTORABLE_SECRET_KEY_FILE: keyFile })),
    );
    expect(locked.reason).toBe('secret-key');
    expect(locked.message).toContain('RESTORABLE_SECRET_KEY_PASSPHRASE');
  });
});
