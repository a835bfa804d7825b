import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { newMasterKey } from '../engine/crypto.ts';
import { credentialsFromEnv, listWrappers, unlock, writeWrapper } from '../engine/keyring.ts';
import { type Credentials, checkRecipient, type RecipientFile, wrapKey } from '../engine/keys.ts';
import { newConfig, Repository, readConfig, writeNewConfig } from '../engine/repository.ts';
import type { RepositoryData, SystemData } from '../policy/model.ts';
import type { Backend } from '../storage/backend.ts';
import { LocalBackend } from '../storage/local.ts';

/**
 * The backend a policy's repository names: local paths are relative to the repository root. The S3 backend
 * (and the AWS SDK, some 35 MiB of memory) is loaded only when a repository is on S3.
 */
export async function backendFor(root: string, data: RepositoryData): Promise<Backend> {
  if (data.local) return new LocalBackend(resolve(root, data.local.path));
  if (data.s3) {
    const { S3Backend } = await import('../storage/s3.ts');
    return new S3Backend(data.s3);
  }
  throw new Error('repository names neither `local` nor `s3`');
}

/** Where a repository is, for grouping and messages, without loading its backend. */
export function repositoryLocation(root: string, data: RepositoryData): string {
  if (data.local) return resolve(root, data.local.path);
  return `s3://${data.s3?.bucket}/${data.s3?.prefix ?? ''}${data.s3?.endpoint ? ` at ${data.s3.endpoint}` : ''}`;
}

/** The environment variable holding a system's passphrase (`encryption.passphrase.env`, else RESTORABLE_PASSPHRASE). */
export function passphraseVariable(system: SystemData): string {
  const passphrase = system.encryption?.passphrase;
  if (typeof passphrase === 'string') {
    throw new Error(
      `system "${system.name}": encryption.passphrase is written in the policy; a passphrase kept in the repository is no secret, so Restorable refuses to use it. Write \`passphrase: { env: NAME }\` and set NAME in the runner's secrets.`,
    );
  }
  return passphrase?.env ?? 'RESTORABLE_PASSPHRASE';
}

export async function systemCredentials(system: SystemData, env: NodeJS.ProcessEnv): Promise<Credentials> {
  return credentialsFromEnv(env, passphraseVariable(system));
}

export async function recipientFiles(root: string, system: SystemData): Promise<RecipientFile[]> {
  return readRecipientFiles(root, system.encryption?.recipients ?? [], `system "${system.name}": `);
}

/** Armored public key files (relative to root); a file that cannot be read is named, after `context`. */
export async function readRecipientFiles(
  root: string,
  paths: readonly string[],
  context = '',
): Promise<RecipientFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      try {
        return { path, armored: await readFile(resolve(root, path), 'utf8') };
      } catch (error) {
        throw new Error(`${context}cannot read recipient key ${path}: ${(error as Error).message}`);
      }
    }),
  );
}

export interface OpenOptions {
  root: string;
  system: SystemData;
  env: NodeJS.ProcessEnv;
  /** Create the repository when it does not exist yet (backup), instead of failing (restore, snapshots). */
  create: boolean;
  /** Told about what opening did (created the repository, added a wrapper for a new recipient). */
  log?: (line: string) => void;
}

/**
 * Opens (or creates) a repository for a system. A new repository gets a random master key wrapped to the
 * system's recipients and passphrase. An existing one is unlocked with the passphrase or secret key in the
 * environment; recipients that the policy names but no wrapper holds are then added, so that adding a key
 * to the policy is enough to give its holder access.
 */
export async function openRepository(backend: Backend, options: OpenOptions): Promise<Repository> {
  const { system } = options;
  const credentials = await systemCredentials(system, options.env);
  const config = await readConfig(backend);
  if (config) {
    const masterKey = await unlock(backend, config.id, credentials);
    const repo = new Repository(backend, config, masterKey);
    if (options.create)
      await addMissingRecipients(repo, masterKey, await recipientFiles(options.root, system), options.log);
    return repo;
  }
  if (!options.create) {
    throw new Error(
      `${backend.location} holds no repository (no config object): check the location and the credentials. A new repository is created by its first \`restorable backup\`; do not run one to restore from a repository that should be there, as it would start a new, empty one`,
    );
  }
  const recipients = await recipientFiles(options.root, system);
  if (recipients.length === 0 && credentials.passphrase === undefined) {
    throw new Error(
      `system "${system.name}": cannot create ${backend.location}: its key needs a passphrase or recipients; set ${passphraseVariable(system)} or list encryption.recipients`,
    );
  }
  const created = newConfig();
  const masterKey = newMasterKey();
  const armored = await wrapKey({
    repository: created.id,
    masterKey,
    recipients,
    ...(credentials.passphrase !== undefined ? { passphrase: credentials.passphrase } : {}),
  });
  // Keys before config: a repository whose config exists always has a key that opens it.
  const wrapper = await writeWrapper(backend, armored);
  if (!(await writeNewConfig(backend, created))) {
    // Another run (a parallel job of the same workflow) created the repository first: use theirs, and take
    // back the wrapper of the key that lost, which opens nothing.
    await backend.remove(`keys/${wrapper}`).catch((error: unknown) => {
      options.log?.(
        `${backend.location}: could not remove the unused key wrapper keys/${wrapper}: ${(error as Error).message}`,
      );
    });
    const winner = await readConfig(backend);
    if (!winner)
      throw new Error(`${backend.location}: its config was created by another run but cannot be read`);
    options.log?.(`${backend.location} was created by another run at the same time; using it`);
    return new Repository(backend, winner, await unlock(backend, winner.id, credentials));
  }
  options.log?.(
    `created repository ${backend.location} (key wrapped to ${[...recipients.map((r) => r.path), ...(credentials.passphrase !== undefined ? ['a passphrase'] : [])].join(', ')})`,
  );
  return new Repository(backend, created, masterKey);
}

async function addMissingRecipients(
  repo: Repository,
  masterKey: Uint8Array,
  recipients: RecipientFile[],
  log?: (line: string) => void,
): Promise<void> {
  if (recipients.length === 0) return;
  const wrapped = new Set<string>();
  for (const wrapper of await listWrappers(repo.backend)) {
    for (const recipient of wrapper.recipients) wrapped.add(recipient.keyId);
  }
  const missing: RecipientFile[] = [];
  for (const file of recipients) {
    const infos = await checkRecipient(file);
    if (!infos.some((info) => wrapped.has(info.encryptionKeyId))) missing.push(file);
  }
  if (missing.length === 0) return;
  await writeWrapper(
    repo.backend,
    await wrapKey({ repository: repo.config.id, masterKey, recipients: missing }),
  );
  log?.(`${repo.location}: added a key wrapper for ${missing.map((file) => file.path).join(', ')}`);
}
