import { appendCheckRecord, EXIT_EVIDENCE } from '../commands/evidence.ts';
import type { CheckReport } from '../controls/result.ts';
import type { Io } from './io.ts';

/**
 * `restorable check --evidence`: appends the check's record once the report is printed. Loaded on demand by
 * cli.ts, so a plain `check` never loads OpenPGP or git plumbing. Everything it prints goes to stderr (stdout
 * may be the JSON report). Returns the exit status: `status` (the check's own), or EXIT_EVIDENCE when the
 * check passed but its record could not be written.
 */
export async function checkEvidence(
  report: CheckReport,
  options: { root: string; config?: string | undefined; status: number },
  io: Pick<Io, 'err' | 'env'>,
): Promise<number> {
  const run = await appendCheckRecord(report, {
    root: options.root,
    env: io.env,
    ...(options.config !== undefined ? { config: options.config } : {}),
    keyHint: 'set RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE',
    log: io.err,
    warn: (line) => io.err(`warning: ${line}`),
    error: io.err,
  });
  if (options.status === 0 && run?.error !== undefined) return EXIT_EVIDENCE;
  return options.status;
}
