import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  EXIT_EVIDENCE,
  EvidenceRun
} from "./chunk-CYGRTVLD.js";

// src/cli/evidence-run.ts
function cliEvidenceRun(io, options) {
  return new EvidenceRun({
    root: options.root,
    ...options.config !== void 0 ? { config: options.config } : {},
    env: io.env,
    enabled: options.enabled,
    keyHint: "set RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE, or pass --no-evidence",
    ...options.remote !== void 0 ? { remote: options.remote } : {},
    log: io.err,
    warn: (line) => io.err(`warning: ${line}`),
    error: io.err
  });
}
function evidenceExit(evidence, io, done) {
  if (evidence.error === void 0) return void 0;
  io.err(`evidence: ${evidence.incomplete(done)}; exit status ${EXIT_EVIDENCE}`);
  return EXIT_EVIDENCE;
}

export {
  cliEvidenceRun,
  evidenceExit
};
