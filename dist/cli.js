#!/usr/bin/env node
import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  UsageError
} from "./chunk-DRGBZ7GX.js";
import {
  compareFindings,
  isReported,
  renderChangesText,
  renderJson,
  renderSummary,
  reportedFindings,
  writeReports
} from "./chunk-CYH7NRWU.js";
import "./chunk-NJFFDDF7.js";
import {
  FAIL_SCOPES,
  SEVERITIES,
  isFailOn,
  runCheck
} from "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import {
  VERSION,
  formatRange
} from "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli.ts
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

// src/report/text.ts
var RESET = "\x1B[0m";
var STYLES = {
  bold: "\x1B[1m",
  dim: "\x1B[2m",
  red: "\x1B[31m",
  boldRed: "\x1B[1;31m",
  green: "\x1B[32m",
  yellow: "\x1B[33m",
  cyan: "\x1B[36m"
};
var SEVERITY_STYLE = {
  critical: "boldRed",
  high: "red",
  medium: "yellow",
  low: "cyan"
};
function clean(text) {
  return text.replace(/\t/g, " ").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, "");
}
function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
function toLine(finding) {
  let label;
  let labelStyle;
  if (isReported(finding)) {
    label = finding.severity.toUpperCase();
    labelStyle = SEVERITY_STYLE[finding.severity];
  } else if (finding.status === "pass") {
    label = "PASS";
    labelStyle = "green";
  } else {
    label = "N/A";
    labelStyle = "dim";
  }
  return {
    location: clean(formatRange(finding.location)),
    label,
    labelStyle,
    rule: clean(finding.ruleId),
    scope: clean(finding.system ?? finding.policy ?? "-"),
    message: clean(finding.message),
    ...isReported(finding) && finding.remediation ? { fix: clean(finding.remediation) } : {}
  };
}
function summaryLine(report, paint) {
  const { counts } = report;
  const breakdown = SEVERITIES.filter((s) => (counts.bySeverity[s] ?? 0) > 0).map((s) => `${counts.bySeverity[s]} ${s}`).join(", ");
  const failed = `${counts.failed} failed` + (breakdown ? ` (${breakdown})` : "");
  const problems = plural(counts.problems, "problem", "problems");
  return `checked ${plural(counts.systems, "system", "systems")} in ${plural(counts.policies, "policy", "policies")} against ${plural(counts.controls, "control", "controls")}: ${counts.passed > 0 ? paint("green", `${counts.passed} passed`) : `${counts.passed} passed`}, ${counts.failed > 0 ? paint("red", failed) : failed}, ${counts.problems > 0 ? paint("yellow", problems) : problems}`;
}
function renderText(report, options) {
  const paint = (style, text) => options.color && text.length > 0 ? `${STYLES[style]}${text}${RESET}` : text;
  const findings = reportedFindings(report);
  if (options.verbose) {
    findings.push(...report.findings.filter((f) => !isReported(f)).sort(compareFindings));
  }
  const lines = findings.map(toLine);
  const width = (pick) => Math.max(0, ...lines.map((l) => [...pick(l)].length));
  const pad = (text, w) => text + " ".repeat(Math.max(0, w - [...text].length));
  const locationWidth = width((l) => l.location);
  const labelWidth = width((l) => l.label);
  const ruleWidth = width((l) => l.rule);
  const scopeWidth = width((l) => l.scope);
  const indent = " ".repeat(4);
  const out = [];
  for (const l of lines) {
    const [first = "", ...rest] = l.message.split(/\r\n|\r|\n/);
    out.push(
      [
        paint("dim", pad(l.location, locationWidth)),
        paint(l.labelStyle, pad(l.label, labelWidth)),
        paint("bold", pad(l.rule, ruleWidth)),
        pad(l.scope, scopeWidth),
        first
      ].join("  ").trimEnd()
    );
    for (const more of rest) out.push(`${indent}${more}`);
    if (l.fix !== void 0) {
      const [fixFirst = "", ...fixRest] = l.fix.split(/\r\n|\r|\n/);
      out.push(`${indent}${paint("cyan", "fix:")} ${fixFirst}`);
      for (const more of fixRest) out.push(`${indent}     ${more}`);
    }
  }
  if (out.length > 0) out.push("");
  if (report.changes) out.push(...renderChangesText(report.changes).map(clean), "");
  out.push(summaryLine(report, paint));
  return `${out.join("\n")}
`;
}

// src/cli.ts
var USAGE = `restorable ${VERSION}: backup and disaster-recovery compliance as code

Usage:
  restorable check [paths...] [options]          check policies against the control library
  restorable backup [paths...] [--system NAME]... [--due] [--no-evidence] [--evidence-remote NAME] [--json]
                                                 back up the policies' systems into their repositories, and
                                                 append one signed evidence record per system that ran
  restorable drill [paths...] [--system NAME]... [--due] [--seed HEX] [--scratch DIR] [--keep-scratch]
                     [--no-evidence] [--evidence-remote NAME] [--json]
                                                 restore each declared drill's snapshot into scratch space,
                                                 read it back against the snapshot, run the verify steps, time
                                                 it against the RTO, and append a signed drill record
  restorable plan [paths...] [--system NAME]... [--command backup|drill] [--due] [--now ISO]
                     [--evidence-remote NAME] [--json]
                                                 the backups and drills to run (with --due: those due by the
                                                 evidence branch), as a GitHub Actions job matrix on one line
  restorable snapshots [paths...] [--system NAME]... [--repository NAME] [--json]
  restorable restore [paths...] --system NAME (--target DIR | --stdout)
                     [--snapshot latest|ID] [--path PATH] [--repository NAME] [--json]
  restorable repo verify [paths...] [--system NAME]... [--repository NAME]
                     [--read-data | --read-data-subset 10%] [--json]
  restorable prune [paths...] [--system NAME]... [--repository NAME] [--dry-run] [--repack-threshold 30%]
                     [--json]            apply the policies' retention: remove snapshots the rules no
                                         longer keep, then the data only they used (never what is locked)
  restorable key list|add|remove [paths...] --system NAME [--repository NAME]
                     add: --recipient FILE.asc... and/or --passphrase-env NAME; remove: <wrapper id>
  restorable evidence verify [--branch NAME] [--remote NAME] [--fingerprint FPR] [--key FILE.asc]
                     [--known-tip COMMIT] [--json]
                                                 verify every record, signature and link of the evidence branch
  restorable status [paths...] [--branch NAME] [--remote NAME | --local] [--fail-on LEVEL]
                     [--allow-missing] [--json]
                                                 run-time controls (RPO met, drill passed and recent, restore
                                                 within the RTO, data verified) against the newest evidence

Every command takes --root <dir> (default: the current directory) and --config <file>.
Secrets come from the environment only: RESTORABLE_PASSPHRASE (or the policy's encryption.passphrase.env),
RESTORABLE_SECRET_KEY_FILE / RESTORABLE_SECRET_KEY (+ RESTORABLE_SECRET_KEY_PASSPHRASE), or
RESTORABLE_REPOSITORY_KEY_FILE (what \`gpg --decrypt keys/<id>\` printed). S3 credentials: the AWS SDK's.

Options for check:
  --root <dir>         repository root (default: the current directory)
  --config <file>      profile (default: .restorable/config.yaml when present)
  --fail-on <level>    critical, high, medium, low (default) or never
  --format <text|json> what to print (default: text)
  --sarif <file>       also write SARIF 2.1.0
  --junit <file>       also write JUnit XML
  --json <file>        also write the JSON report
  --summary <file>     also write the Markdown summary
  --verbose            list passing controls too
  --base <rev>         also check the policies as they are at <rev> (e.g. origin/main), read through git
                       without a checkout, and report what changed: new failures, fixes, systems added or
                       removed, RPO/RTO/retention loosened
  --fail-on-scope <s>  all (default): any failing control fails; new: only failures new since --base
  --evidence           append a signed check record to the evidence branch (needs RESTORABLE_EVIDENCE_KEY;
                       never written on pull_request events)
  --no-color           plain output

  -h, --help           this text
  -v, --version        the version

Exit status: 0 on success; 1 when a control fails at or above --fail-on (for status: or has no evidence,
unless --allow-missing), a file has a problem, a backup, drill, restore or verify fails; 2 on a usage error; 3 when
a backup succeeded but left unreadable files out; 4 when the run succeeded (or was partial) but its evidence
record could not be written (the snapshots are kept).
`;
async function cli(argv) {
  const [command, ...rest] = argv;
  if (command === void 0 || command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(USAGE);
    return command === void 0 ? 2 : 0;
  }
  if (command === "-v" || command === "--version") {
    process.stdout.write(`${VERSION}
`);
    return 0;
  }
  const load = Object.hasOwn(LAZY_COMMANDS, command) ? LAZY_COMMANDS[command] : void 0;
  if (load) {
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(USAGE);
      return 0;
    }
    const io = {
      out: process.stdout,
      err: (line) => process.stderr.write(`${line}
`),
      env: process.env
    };
    try {
      return await (await load())(rest, io);
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      process.stderr.write(`restorable ${command}: ${error.message}
`);
      return 1;
    }
  }
  if (command !== "check") return usageError(`unknown command "${command}"`);
  let parsed;
  try {
    parsed = parseCheckArgs(rest);
  } catch (error) {
    return usageError(error.message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const failOn = values["fail-on"];
  if (failOn !== void 0 && !isFailOn(failOn)) {
    return usageError(`--fail-on must be one of ${[...SEVERITIES, "never"].join(", ")}, not "${failOn}"`);
  }
  if (values.format !== "text" && values.format !== "json") {
    return usageError(`--format must be text or json, not "${values.format}"`);
  }
  const scope = values["fail-on-scope"];
  if (!FAIL_SCOPES.includes(scope)) {
    return usageError(`--fail-on-scope must be all or new, not "${scope}"`);
  }
  if (scope === "new" && values.base === void 0) return usageError("--fail-on-scope new needs --base");
  const root = resolve(values.root ?? ".");
  const options = { root, paths: positionals, config: values.config, failOn };
  let report = runCheck(options);
  if (values.base !== void 0) {
    const { changesSinceBase, withChanges } = await import("./chunk-NCA2BO5F.js");
    try {
      const changes = await changesSinceBase(options, report, { revision: values.base });
      report = withChanges(report, changes, scope);
    } catch (error) {
      process.stderr.write(`restorable check: --base ${values.base}: ${error.message}
`);
      return 1;
    }
  }
  writeReports(report, root, { sarif: values.sarif, junit: values.junit, json: values.json });
  if (values.summary) writeFileSync(resolve(root, values.summary), renderSummary(report));
  const color = !values["no-color"] && process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(
    values.format === "json" ? renderJson(report) : renderText(report, { color, verbose: values.verbose ?? false })
  );
  const status = report.failed ? 1 : 0;
  if (!values.evidence) return status;
  const { checkEvidence } = await import("./chunk-DLUL6FQB.js");
  return checkEvidence(
    report,
    { root, config: values.config, status },
    { err: (line) => process.stderr.write(`${line}
`), env: process.env }
  );
}
var LAZY_COMMANDS = {
  backup: async () => (await import("./chunk-2DJJ5KIL.js")).backupCommand,
  snapshots: async () => (await import("./chunk-2DJJ5KIL.js")).snapshotsCommand,
  restore: async () => {
    const { restoreCommand } = await import("./chunk-2DJJ5KIL.js");
    return (args, io) => restoreCommand(args, io, process.stdout);
  },
  repo: async () => (await import("./chunk-2DJJ5KIL.js")).repoCommand,
  key: async () => (await import("./chunk-2DJJ5KIL.js")).keyCommand,
  prune: async () => (await import("./chunk-RDMJ6FIQ.js")).pruneCommand,
  drill: async () => (await import("./chunk-GIDYENIS.js")).drillCommand,
  plan: async () => (await import("./chunk-QO35CKBZ.js")).planCommand,
  evidence: async () => (await import("./chunk-7257KZ4R.js")).evidenceCommand,
  status: async () => (await import("./chunk-RMK4TRFT.js")).statusCommand
};
function parseCheckArgs(args) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      root: { type: "string" },
      config: { type: "string" },
      "fail-on": { type: "string" },
      format: { type: "string", default: "text" },
      sarif: { type: "string" },
      junit: { type: "string" },
      json: { type: "string" },
      summary: { type: "string" },
      verbose: { type: "boolean" },
      base: { type: "string" },
      "fail-on-scope": { type: "string", default: "all" },
      evidence: { type: "boolean" },
      "no-color": { type: "boolean" },
      help: { type: "boolean", short: "h" }
    }
  });
}
function usageError(message) {
  process.stderr.write(`restorable: ${message}
Run \`restorable --help\` for usage.
`);
  return 2;
}
process.env.UV_THREADPOOL_SIZE ??= "16";
process.exitCode = await cli(process.argv.slice(2)).catch((error) => {
  process.stderr.write(
    `restorable: internal error: ${error instanceof Error ? error.stack ?? error.message : String(error)}
`
  );
  return 2;
});
export {
  cli
};
