import { type AppendResult, appendRecord, type PagesHook } from './branch.ts';
import { auditorPages } from './pages.ts';
import type { RecordDraft } from './record.ts';
import { evidenceSettings } from './settings.ts';
import { SIGNING_ENV, signerFromEnv } from './signing.ts';

export interface WriteEvidenceOptions {
  root: string;
  /** The profile (default .restorable/config.yaml). */
  config?: string;
  env: NodeJS.ProcessEnv;
  /** See AppendOptions.remote: a name, null for local mode, default `origin` when there is one. */
  remote?: string | null;
  log?: (line: string) => void;
  /**
   * Renders the pages written with each record. Default: the auditor's view (pages.ts: README.md, a page per
   * system and per control), with the controls of this repository's profile; null writes no pages.
   */
  pages?: PagesHook | null;
}

export type WriteEvidenceResult =
  | ({ written: true } & AppendResult)
  /** No signing key in the environment: evidence is not configured for this run. */
  | { written: false; reason: string };

/**
 * What a command calls after its run: signs the draft with the key from the environment and appends it to
 * the evidence branch named in the profile, checking the key against the pinned fingerprint. Without a
 * signing key in the environment nothing is written (and the reason is returned); a key that is present
 * but unusable, or that is not the pinned one, is an error.
 */
export async function writeEvidence(
  draft: RecordDraft,
  options: WriteEvidenceOptions,
): Promise<WriteEvidenceResult> {
  const signer = await signerFromEnv(options.env);
  if (!signer) {
    return {
      written: false,
      reason: `no evidence signing key (${SIGNING_ENV.key} or ${SIGNING_ENV.keyFile}) in the environment`,
    };
  }
  const settings = evidenceSettings(options.root, options.config);
  // The key is loaded: git and the programs it runs (credential helpers, hooks) get no copy of it.
  const gitEnv = { ...options.env };
  for (const name of Object.values(SIGNING_ENV)) delete gitEnv[name];
  const result = await appendRecord(draft, {
    root: options.root,
    branch: settings.branch,
    signer,
    env: gitEnv,
    ...(settings.fingerprint !== undefined ? { fingerprint: settings.fingerprint } : {}),
    ...(options.remote !== undefined ? { remote: options.remote } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.pages !== null
      ? { pages: options.pages ?? auditorPages({ root: options.root, config: options.config }) }
      : {}),
  });
  return { written: true, ...result };
}
