import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  cliEvidenceRun,
  evidenceExit
} from "./chunk-5UOGNKN4.js";
import {
  runPrune
} from "./chunk-OOANDPDH.js";
import "./chunk-XP23BDUX.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import "./chunk-ZFX2HYFT.js";
import "./chunk-Q4V2YTJC.js";
import {
  formatBytes
} from "./chunk-CYGRTVLD.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/prune-command.ts
import { resolve } from "node:path";
var OPTIONS = {
  root: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  system: { type: "string", multiple: true },
  repository: { type: "string" },
  "dry-run": { type: "boolean" },
  "repack-threshold": { type: "string" },
  "no-evidence": { type: "boolean" },
  "evidence-remote": { type: "string" }
};
async function pruneCommand(args, io) {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  let repackThreshold;
  if (values["repack-threshold"] !== void 0) {
    const text = values["repack-threshold"];
    const percent = /^(\d{1,3})%$/.exec(text);
    repackThreshold = percent ? Number(percent[1]) / 100 : Number(text);
    if (text === "" || !Number.isFinite(repackThreshold) || repackThreshold < 0 || repackThreshold > 1) {
      throw new UsageError(`--repack-threshold must be a share from 0 to 1 or a percentage, not "${text}"`);
    }
  }
  const root = resolve(values.root ?? ".");
  const evidence = cliEvidenceRun(io, {
    root,
    config: values.config,
    enabled: !values["no-evidence"] && !values["dry-run"],
    remote: values["evidence-remote"]
  });
  const runs = await runPrune({
    root,
    paths: positionals,
    ...values.config !== void 0 ? { config: values.config } : {},
    systems: values.system ?? [],
    ...values.repository !== void 0 ? { repository: values.repository } : {},
    env: io.env,
    dryRun: values["dry-run"] ?? false,
    ...repackThreshold !== void 0 ? { repackThreshold } : {},
    log: io.err
  });
  for (const run of runs) await evidence.appendPrune(run);
  if (values.json) {
    io.out.write(
      `${JSON.stringify({ command: "prune", dryRun: values["dry-run"] ?? false, repositories: runs, evidence: evidence.summary() }, null, 2)}
`
    );
  } else {
    for (const run of runs) {
      if (run.status === "failed") io.err(`${run.name} (${run.location}): FAILED: ${run.message}`);
      else io.out.write(describeRun(run));
    }
  }
  if (runs.some((run) => run.status === "failed")) return 1;
  return evidenceExit(evidence, io, "the prune is done") ?? 0;
}
function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
function table(system) {
  const rows = [["SNAPSHOT", "TIME (UTC)", "DECISION", "REASONS"]];
  for (const d of system.decisions) {
    rows.push([
      d.id.slice(0, 8),
      d.authentic ? d.time.replace("T", " ").replace(/:\d\d\.\d+Z$/, "") : "(unknown)",
      d.decision === "remove" && d.lockedUntil ? "locked" : d.decision,
      d.reasons.join("; ")
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${r.map((cell, c) => c === 3 ? cell : cell.padEnd(widths[c])).join("  ")}
`).join("");
}
function describeRun(run) {
  const result = run.result;
  const lines = [];
  const verb = result.dryRun ? "would remove" : "removed";
  for (const system of result.systems) {
    lines.push(`${system.system} \u2192 ${run.name} (${run.location})${result.dryRun ? " [dry run]" : ""}
`);
    lines.push(system.decisions.length === 0 ? "  no snapshots\n" : table(system));
    lines.push(
      `  kept ${system.kept}, ${verb} ${system.removed} (${plural(system.disposals, "disposal")} past the maximum)${system.locked > 0 ? `, ${system.locked} locked by object lock` : ""}
`
    );
  }
  if (!result.dryRun) {
    lines.push(
      `${run.name}: ${plural(result.packsDeleted, "pack")} deleted, ${plural(result.packsRepacked, "pack")} repacked into ${result.packsWritten}, ${plural(result.indexesReplaced, "index", "indexes")} replaced, ${result.temporariesRemoved > 0 ? `${plural(result.temporariesRemoved, "abandoned temporary file")} removed, ` : ""}${formatBytes(Math.max(0, result.bytesFreed))} freed${result.retentionExtended > 0 ? `, retention extended on ${plural(result.retentionExtended, "object")}` : ""}
`
    );
  }
  for (const locked of result.locked)
    lines.push(`${run.name}: ${locked.object}: locked until ${locked.until}
`);
  for (const note of result.notes) lines.push(`${run.name}: ${note}
`);
  return lines.join("");
}
export {
  pruneCommand
};
