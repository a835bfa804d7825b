import { addWrapper, listWrappers, removeWrapper, type WrapperListing } from '../engine/keyring.ts';
import { readRecipientFiles, recipientFiles, systemCredentials } from './open-repository.ts';
import { type AccessOptions, openSystemRepository } from './repository-access.ts';

export interface KeyCommandOptions extends AccessOptions {
  system: string;
  repository?: string;
}

/** `restorable key list`: the wrappers of a system's repository, with the policy's recipients named. */
export async function runKeyList(
  options: KeyCommandOptions,
): Promise<{ location: string; wrappers: WrapperListing[] }> {
  const { item, repo } = await openSystemRepository(options);
  return {
    location: repo.location,
    wrappers: await listWrappers(repo.backend, await recipientFiles(options.root, item.system)),
  };
}

/**
 * `restorable key add`: wraps the master key for more recipients and/or a passphrase read from the environment
 * variable `passphraseEnv`. The data is not re-encrypted.
 */
export async function runKeyAdd(
  options: KeyCommandOptions & { recipients: string[]; passphraseEnv?: string },
): Promise<{ location: string; id: string }> {
  const { item, repo } = await openSystemRepository(options);
  const recipients = await readRecipientFiles(options.root, options.recipients);
  let passphrase: string | undefined;
  if (options.passphraseEnv !== undefined) {
    passphrase = options.env[options.passphraseEnv];
    if (!passphrase)
      throw new Error(`--passphrase-env names ${options.passphraseEnv}, which is not set or empty`);
  }
  if (recipients.length === 0 && passphrase === undefined) {
    throw new Error('key add needs --recipient <file.asc> and/or --passphrase-env <NAME>');
  }
  const credentials = await systemCredentials(item.system, options.env);
  const id = await addWrapper(repo.backend, repo.config.id, credentials, {
    recipients,
    ...(passphrase !== undefined ? { passphrase } : {}),
  });
  return { location: repo.location, id };
}

/** `restorable key remove`: refuses the last wrapper, and the last one that the caller's own credentials open. */
export async function runKeyRemove(
  options: KeyCommandOptions & { id: string },
): Promise<{ location: string; id: string }> {
  const { item, repo } = await openSystemRepository(options);
  const credentials = await systemCredentials(item.system, options.env);
  const id = await removeWrapper(repo.backend, options.id, { repository: repo.config.id, credentials });
  return { location: repo.location, id };
}
