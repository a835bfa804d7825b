import { EvidenceRun, EXIT_EVIDENCE } from '../commands/evidence.ts';
import type { Io } from './io.ts';

/** The evidence of a CLI run that writes records (backup, prune): messages to stderr, `--no-evidence` to skip. */
export function cliEvidenceRun(
  io: Io,
  options: { root: string; config?: string | undefined; enabled: boolean; remote?: string | undefined },
): EvidenceRun {
  return new EvidenceRun({
    root: options.root,
    ...(options.config !== undefined ? { config: options.config } : {}),
    env: io.env,
    enabled: options.enabled,
    keyHint: 'set RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE, or pass --no-evidence',
    ...(options.remote !== undefined ? { remote: options.remote } : {}),
    log: io.err,
    warn: (line) => io.err(`warning: ${line}`),
    error: io.err,
  });
}

/** After a run that itself succeeded: EXIT_EVIDENCE, said on stderr, when its evidence is incomplete. */
export function evidenceExit(evidence: EvidenceRun, io: Io, done: string): number | undefined {
  if (evidence.error === undefined) return undefined;
  io.err(`evidence: ${evidence.incomplete(done)}; exit status ${EXIT_EVIDENCE}`);
  return EXIT_EVIDENCE;
}
