import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  cliEvidenceRun,
  evidenceExit
} from "./chunk-5UOGNKN4.js";
import {
  runDrill
} from "./chunk-EYOE2RSA.js";
import "./chunk-HP26N7II.js";
import "./chunk-XP23BDUX.js";
import "./chunk-IXG6PZ4B.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import "./chunk-ZFX2HYFT.js";
import "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import {
  ProgressPrinter,
  formatBytes,
  formatSeconds,
  progressInterval
} from "./chunk-CYGRTVLD.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import {
  formatDuration
} from "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/drill-command.ts
import { resolve } from "node:path";
var OPTIONS = {
  root: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  system: { type: "string", multiple: true },
  due: { type: "boolean" },
  seed: { type: "string" },
  scratch: { type: "string" },
  "keep-scratch": { type: "boolean" },
  "no-evidence": { type: "boolean" },
  "evidence-remote": { type: "string" }
};
async function drillCommand(args, io) {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.seed !== void 0 && !/^[0-9a-f]{16}$/.test(values.seed)) {
    throw new UsageError(`--seed takes the 16 hex digits a drill recorded, not "${values.seed}"`);
  }
  const root = resolve(values.root ?? ".");
  const evidence = cliEvidenceRun(io, {
    root,
    config: values.config,
    enabled: !values["no-evidence"],
    remote: values["evidence-remote"]
  });
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const results = await runDrill({
    root,
    paths: positionals,
    ...values.config !== void 0 ? { config: values.config } : {},
    systems: values.system ?? [],
    due: values.due ?? false,
    ...values["evidence-remote"] !== void 0 ? { evidenceRemote: values["evidence-remote"] } : {},
    ...values.seed !== void 0 ? { seed: values.seed } : {},
    ...values.scratch !== void 0 ? { scratch: values.scratch } : {},
    keepScratch: values["keep-scratch"] ?? false,
    env: io.env,
    log: io.err,
    onProgress: (system, totals, expected) => progress.update(`drill ${system}: restore`, totals.files, totals.bytes, expected),
    onResult: (result) => evidence.appendDrill(result)
  });
  if (values.json) {
    io.out.write(
      `${JSON.stringify({ command: "drill", systems: results, evidence: evidence.summary() }, null, 2)}
`
    );
  } else {
    for (const result of results) io.out.write(describeDrill(result));
  }
  if (results.some((r) => r.status === "failed")) return 1;
  return evidenceExit(evidence, io, "the drills passed") ?? 0;
}
var plural = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;
function describeDrill(result) {
  if (result.status === "not-due") return `${result.system}: not due: ${result.message}
`;
  const lines = [];
  const m = result.measurements;
  const head = result.snapshot ? `snapshot ${result.snapshot.id.slice(0, 8)} of ${result.snapshot.time} from ${result.repository}` : `no snapshot${result.repository ? ` from ${result.repository}` : ""}`;
  const how = result.selection ? result.selection.algorithm === "latest" ? "the latest" : `random within ${formatDuration(result.selection.windowSeconds ?? 0)}: 1 of ${result.selection.candidates}, seed ${result.selection.seed}` : void 0;
  lines.push(`${result.system}: ${head}${how ? ` (${how})` : ""}`);
  if (m.restoreMs !== void 0) {
    lines.push(
      `  restore     ${plural(m.files ?? 0, "file")}, ${formatBytes(m.bytes ?? 0)} in ${formatSeconds(m.restoreMs)}`
    );
  }
  for (const problem of result.restoreProblems) lines.push(`    ${problem.path}: ${problem.message}`);
  if (m.integrityMs !== void 0) {
    lines.push(
      `  read back   ${m.verified ? "complete: every file, size, mode and chunk as recorded" : "DIFFERS from the snapshot"} (${formatSeconds(m.integrityMs)})`
    );
  }
  for (const problem of result.integrityProblems) lines.push(`    ${problem.path}: ${problem.message}`);
  for (const step of result.steps) {
    const time = step.durationMs === void 0 ? "" : ` (${formatSeconds(step.durationMs)})`;
    lines.push(`  ${step.status.padEnd(10)}  ${step.name}${time}${step.message ? `: ${step.message}` : ""}`);
    if (step.status === "failed" && step.output) {
      for (const line of step.output.split("\n").slice(-10)) lines.push(`    | ${line}`);
    }
  }
  if (m.restoreDurationMs !== void 0) {
    lines.push(
      `  RTO         ${formatSeconds(m.restoreDurationMs)}${m.rtoSeconds !== void 0 ? ` of ${formatDuration(m.rtoSeconds)}` : " (no RTO declared)"}`
    );
  }
  if (m.snapshotAgeSeconds !== void 0) {
    lines.push(
      `  age         ${formatDuration(Math.max(1, m.snapshotAgeSeconds))}${m.rpoSeconds !== void 0 ? ` (RPO ${formatDuration(m.rpoSeconds)})` : ""}`
    );
  }
  lines.push(result.status === "passed" ? `  PASSED
` : `  FAILED: ${result.failures.join("; ")}
`);
  return lines.join("\n");
}
export {
  describeDrill,
  drillCommand
};
