import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  EXIT_EVIDENCE,
  appendCheckRecord
} from "./chunk-CYGRTVLD.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/check-evidence.ts
async function checkEvidence(report, options, io) {
  const run = await appendCheckRecord(report, {
    root: options.root,
    env: io.env,
    ...options.config !== void 0 ? { config: options.config } : {},
    keyHint: "set RESTORABLE_EVIDENCE_KEY or RESTORABLE_EVIDENCE_KEY_FILE",
    log: io.err,
    warn: (line) => io.err(`warning: ${line}`),
    error: io.err
  });
  if (options.status === 0 && run?.error !== void 0) return EXIT_EVIDENCE;
  return options.status;
}
export {
  checkEvidence
};
