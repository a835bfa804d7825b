import { DEFAULT_EVIDENCE_BRANCH, loadConfig } from '../policy/config.ts';
import { formatRange } from '../policy/source.ts';
import { EvidenceError } from './branch.ts';

/** Where evidence goes and which key it is pinned to, as `.restorable/config.yaml` says. */
export interface EvidenceSettings {
  branch: string;
  /** `evidence.signingKey.fingerprint`, when pinned. */
  fingerprint?: string;
  /** The configuration file read, when there was one. */
  configFile?: string;
}

/** Reads the evidence settings from the profile; a profile with problems is an error naming them. */
export function evidenceSettings(root: string, configPath?: string): EvidenceSettings {
  const config = loadConfig(root, configPath);
  if (config.problems.length > 0) {
    const first = config.problems[0]!;
    throw new EvidenceError(
      `${formatRange(first.location)}: ${first.message}${config.problems.length > 1 ? ` (and ${config.problems.length - 1} more problems)` : ''}`,
    );
  }
  const settings: EvidenceSettings = { branch: config.data.evidence?.branch ?? DEFAULT_EVIDENCE_BRANCH };
  const fingerprint = config.data.evidence?.signingKey?.fingerprint;
  if (fingerprint !== undefined) settings.fingerprint = fingerprint;
  if (config.file !== undefined) settings.configFile = config.file;
  return settings;
}
