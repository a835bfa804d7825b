import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real gpg (Debian's gnupg 2.2, /usr/bin/gpg) in a temporary GNUPGHOME, for interoperability tests: keys are
 * made and exported by gpg, and gpg verifies (or makes) signatures. Passphrases go through files, never argv.
 */

export const GPG = '/usr/bin/gpg';

export interface GpgRun {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export class GpgHome {
  readonly home: string;

  constructor() {
    this.home = mkdtempSync(join(tmpdir(), 'restorable-gpg-'));
    chmodSync(this.home, 0o700);
    // No passphrase caching, and a cheap protection count: tests stay fast and honest.
    writeFileSync(
      join(this.home, 'gpg-agent.conf'),
      's2k-count 65536\ndefault-cache-ttl 0\nmax-cache-ttl 0\n',
    );
  }

  run(args: readonly string[], input?: string | Uint8Array): GpgRun {
    const result = spawnSync(GPG, ['--batch', '--no-tty', '--pinentry-mode', 'loopback', ...args], {
      env: { ...process.env, GNUPGHOME: this.home, LC_ALL: 'C' },
      input,
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
  }

  ok(args: readonly string[], input?: string | Uint8Array): Buffer {
    const run = this.run(args, input);
    if (run.status !== 0) throw new Error(`gpg ${args.join(' ')} failed (${run.status}):\n${run.stderr}`);
    return run.stdout;
  }

  /** A file (in the gpg home, mode 600) holding `text` and a newline, for --passphrase-file. */
  secretFile(text: string): string {
    const path = join(this.home, `secret-${Math.random().toString(16).slice(2)}`);
    writeFileSync(path, `${text}\n`, { mode: 0o600 });
    return path;
  }

  /** Makes an ed25519 signing key (with a passphrase, if given); returns its fingerprint. */
  generate(userId: string, passphrase = ''): string {
    this.ok([
      '--passphrase-file',
      this.secretFile(passphrase),
      '--quick-gen-key',
      userId,
      'ed25519',
      'sign',
      'never',
    ]);
    const colons = this.ok(['--with-colons', '--list-keys', userId]).toString('utf8');
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec(colons);
    if (!fpr) throw new Error(`no fingerprint for ${userId}:\n${colons}`);
    return fpr[1]!;
  }

  exportSecret(fingerprint: string, passphrase = ''): string {
    return this.ok([
      '--passphrase-file',
      this.secretFile(passphrase),
      '--armor',
      '--export-secret-keys',
      fingerprint,
    ]).toString('utf8');
  }

  exportPublic(fingerprint: string): string {
    return this.ok(['--armor', '--export', fingerprint]).toString('utf8');
  }

  remove(): void {
    spawnSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: this.home } });
    rmSync(this.home, { recursive: true, force: true });
  }
}
