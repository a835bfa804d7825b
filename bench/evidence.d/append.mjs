// Appends one backup record to the evidence branch of the repository in argv[2] with the real writer
// (appendRecord) and the auditor's pages (pages.ts), the signing key from the environment
// (RESTORABLE_EVIDENCE_KEY_FILE), and prints one line of JSON: how long the append took inside the process,
// the attempts, and where the record landed.
//
//   node bench/evidence.d/append.mjs REPO [REMOTE|--local]
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);
const { appendRecord } = await import(new URL('src/evidence/branch.ts', root));
const { signerFromEnv } = await import(new URL('src/evidence/signing.ts', root));
const { auditorPages } = await import(new URL('src/evidence/pages.ts', root));

const [repo, mode] = process.argv.slice(2);
const signer = await signerFromEnv(process.env);
if (!signer) throw new Error('RESTORABLE_EVIDENCE_KEY_FILE is not set');
const started = performance.now();
const result = await appendRecord(
  {
    kind: 'backup',
    outcome: 'success',
    systems: [{ name: 'payments-db', policy: 'payments' }],
    policies: [],
    measurements: { bytes: 1, durationMs: 1 },
  },
  {
    root: repo,
    signer,
    remote: mode === '--local' ? null : (mode ?? 'origin'),
    // The pages writeEvidence renders by default (README, the system's page, the controls' pages), with
    // the shipped controls, loaded inside the timed part as writeEvidence loads them (BENCH_PAGES=0: none).
    ...(process.env.BENCH_PAGES === '0' ? {} : { pages: auditorPages({ root: fileURLToPath(root) }) }),
  },
);
const ms = performance.now() - started;
console.log(
  JSON.stringify({ ms, attempts: result.attempts, sequence: result.record.sequence, file: result.file }),
);
