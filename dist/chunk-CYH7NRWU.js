import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  hasChanges
} from "./chunk-NJFFDDF7.js";
import {
  SEVERITIES
} from "./chunk-64LPOJGB.js";
import {
  formatRange
} from "./chunk-TKDTUBCU.js";

// src/report/annotations.ts
var ANNOTATIONS_PER_LEVEL = 10;
var SEVERITY_RANK = { critical: 0, high: 1, medium: 2, low: 3 };
function isReported(finding) {
  return finding.kind === "problem" || finding.status === "fail";
}
function compareText(a, b) {
  const x = a ?? "";
  const y = b ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}
function compareFindings(a, b) {
  return SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || compareText(a.location.file, b.location.file) || a.location.line - b.location.line || a.location.column - b.location.column || compareText(a.ruleId, b.ruleId) || compareText(a.policy, b.policy) || compareText(a.system, b.system) || compareText(a.message, b.message);
}
function reportedFindings(report) {
  return report.findings.filter(isReported).sort(compareFindings);
}
function annotationLevel(severity) {
  switch (severity) {
    case "critical":
    case "high":
      return "error";
    case "medium":
      return "warning";
    case "low":
      return "notice";
  }
}
function findingTitle(finding) {
  const base = `${finding.ruleId} ${finding.title}`.trim();
  return finding.system ? `${base} (${finding.system})` : base;
}
function positive(n) {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}
function toAnnotation(finding) {
  const { location } = finding;
  const startLine = positive(location.line);
  const startColumn = positive(location.column);
  const endLine = Math.max(startLine, positive(location.endLine));
  const endColumn = endLine === startLine ? Math.max(startColumn, positive(location.endColumn)) : positive(location.endColumn);
  return {
    level: annotationLevel(finding.severity),
    title: findingTitle(finding),
    message: finding.remediation ? `${finding.message}
Fix: ${finding.remediation}` : finding.message,
    file: location.file.replaceAll("\\", "/"),
    startLine,
    startColumn,
    endLine,
    endColumn
  };
}
function selectAnnotations(report) {
  const perLevel = { error: 0, warning: 0, notice: 0 };
  const selected = [];
  for (const finding of reportedFindings(report)) {
    const level = annotationLevel(finding.severity);
    if (perLevel[level] >= ANNOTATIONS_PER_LEVEL) continue;
    perLevel[level] += 1;
    selected.push(toAnnotation(finding));
  }
  return selected;
}
function annotationOverflow(report) {
  return reportedFindings(report).length - selectAnnotations(report).length;
}

// src/report/markdown.ts
function escapeCell(text) {
  return text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, "").replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, "<br>");
}

// src/report/changes-render.ts
var CHANGE_ROWS = 50;
function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
function where(f) {
  return f.system ? `${f.policy ?? ""}/${f.system}` : f.policy ?? f.location.file;
}
function changesHeadline(changes) {
  if (!hasChanges(changes)) {
    return `no control changes status, no system is added or removed and no term is loosened (${changes.stillFailing} still failing)`;
  }
  const parts = [
    plural(changes.newFailures.length, "new failure", "new failures"),
    `${changes.fixed.length} fixed`,
    `${changes.stillFailing} still failing`
  ];
  if (changes.systemsAdded.length > 0) parts.push(`${changes.systemsAdded.length} system(s) added`);
  if (changes.systemsRemoved.length > 0) parts.push(`${changes.systemsRemoved.length} system(s) removed`);
  if (changes.loosened.length > 0)
    parts.push(plural(changes.loosened.length, "term loosened", "terms loosened"));
  if (changes.tightened.length > 0)
    parts.push(plural(changes.tightened.length, "term tightened", "terms tightened"));
  return parts.join(", ");
}
function table(header, rows) {
  const shown = rows.slice(0, CHANGE_ROWS);
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...shown.map((r) => `| ${r.join(" | ")} |`)
  ];
  if (rows.length > shown.length)
    lines.push("", `_\u2026 and ${rows.length - shown.length} more in the JSON report._`);
  return lines;
}
function findingRows(list, note) {
  return list.map(({ finding: f, onBase }) => [
    f.kind === "problem" ? "\u26A0\uFE0F problem" : f.severity,
    `**${escapeCell(f.ruleId)}**${note && !onBase ? " (new system)" : ""}`,
    escapeCell(where(f)),
    escapeCell(formatRange(f.location)),
    escapeCell(f.message)
  ]);
}
function termRows(list) {
  return list.map((t) => [
    escapeCell(`${t.policy}/${t.system}`),
    `\`${t.term}\``,
    escapeCell(t.before),
    escapeCell(t.after),
    escapeCell(formatRange(t.location))
  ]);
}
function renderChangesMarkdown(changes, heading = "###") {
  const base = `\`${changes.base.commit.slice(0, 7)}\``;
  const lines = [
    `${heading} What this pull request changes`,
    "",
    `Against the base commit ${base}: ${changesHeadline(changes)}.`
  ];
  const section = (title, body) => lines.push("", `**${title}**`, "", ...body);
  if (changes.newFailures.length > 0) {
    section(
      `\u274C New failures (${changes.newFailures.length})`,
      table(["Severity", "Rule", "System", "Location", "Message"], findingRows(changes.newFailures, true))
    );
  }
  if (changes.loosened.length > 0) {
    section(
      `\u26A0\uFE0F Loosened (${changes.loosened.length})`,
      table(["System", "Term", "Before", "After", "Location"], termRows(changes.loosened))
    );
  }
  if (changes.fixed.length > 0) {
    section(
      `\u2705 Fixed (${changes.fixed.length})`,
      table(
        ["Severity", "Rule", "System", "Location (base)", "Message (base)"],
        findingRows(changes.fixed, false)
      )
    );
  }
  const systems = [
    ...changes.systemsAdded.map(
      (s) => `- added: **${escapeCell(`${s.policy}/${s.system}`)}** (${escapeCell(s.file)})`
    ),
    ...changes.systemsRemoved.map(
      (s) => `- removed: **${escapeCell(`${s.policy}/${s.system}`)}** (was in ${escapeCell(s.file)})`
    )
  ];
  if (systems.length > 0) section("Systems", systems.slice(0, CHANGE_ROWS));
  if (changes.tightened.length > 0) {
    lines.push(
      "",
      `<details><summary>Tightened (${changes.tightened.length})</summary>`,
      "",
      ...table(["System", "Term", "Before", "After", "Location"], termRows(changes.tightened)),
      "",
      "</details>"
    );
  }
  return lines;
}
function renderChangesText(changes) {
  const lines = [
    `changes against ${changes.base.revision} (${changes.base.commit.slice(0, 12)}): ${changesHeadline(changes)}`
  ];
  for (const { finding: f, onBase } of changes.newFailures) {
    lines.push(
      `  new failure  ${f.severity} ${f.ruleId} ${where(f)}${onBase ? "" : " (new system)"} at ${formatRange(f.location)}: ${f.message}`
    );
  }
  for (const t of changes.loosened) {
    lines.push(
      `  loosened     ${t.policy}/${t.system} ${t.term}: ${t.before} \u2192 ${t.after} at ${formatRange(t.location)}`
    );
  }
  for (const { finding: f } of changes.fixed)
    lines.push(`  fixed        ${f.severity} ${f.ruleId} ${where(f)}`);
  for (const s of changes.systemsAdded) lines.push(`  added        ${s.policy}/${s.system} (${s.file})`);
  for (const s of changes.systemsRemoved)
    lines.push(`  removed      ${s.policy}/${s.system} (was in ${s.file})`);
  for (const t of changes.tightened)
    lines.push(`  tightened    ${t.policy}/${t.system} ${t.term}: ${t.before} \u2192 ${t.after}`);
  return lines;
}

// src/report/summary.ts
var MATRIX_MAX_SYSTEM_COLUMNS = 12;
var FAILURE_LIST_BUDGET = 8e5;
var MATRIX_BUDGET = 12e4;
var PASS = "\u2705";
var FAIL = "\u274C";
var NOT_APPLICABLE = "\u2796";
function bytes(text) {
  return Buffer.byteLength(text, "utf8");
}
function plural2(n, one, many) {
  return `${n} ${n === 1 ? one : many}`;
}
function failedBreakdown(bySeverity) {
  const parts = SEVERITIES.filter((s) => (bySeverity[s] ?? 0) > 0).map((s) => `${bySeverity[s]} ${s}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}
function verdict(report) {
  const { counts } = report;
  const icon = report.failed ? FAIL : PASS;
  const word = report.failed ? "**Failed**" : "**Passed**";
  const scope = report.failScope === "new" ? "new failures at " : "";
  const threshold = report.failOn === "never" ? "never fails on findings" : `fails on ${scope}${report.failOn} and above`;
  return `${icon} ${word}: ${plural2(counts.systems, "system", "systems")} in ${plural2(counts.policies, "policy", "policies")}, ${plural2(counts.controls, "control", "controls")}; ${counts.passed} passed, ${counts.failed} failed${failedBreakdown(counts.bySeverity)}, ${counts.notApplicable} not applicable, ${plural2(counts.problems, "problem", "problems")} (${threshold})`;
}
var SEVERITY_RANK2 = { critical: 0, high: 1, medium: 2, low: 3 };
function key(ruleId, policy, system) {
  return `${ruleId}\0${policy ?? ""}\0${system ?? ""}`;
}
function indexFindings(findings) {
  const index = /* @__PURE__ */ new Map();
  for (const f of findings) {
    if (f.kind !== "control") continue;
    const k = key(f.ruleId, f.policy, f.system);
    const list = index.get(k);
    if (list) list.push(f);
    else index.set(k, [f]);
  }
  return index;
}
function cellFor(index, control, system) {
  const found = [
    ...index.get(key(control.id, system.policy, system.system)) ?? [],
    // A policy-wide finding applies to every system of the policy.
    ...index.get(key(control.id, system.policy, void 0)) ?? []
  ];
  if (found.length === 0) return null;
  let worst;
  for (const f of found) {
    if (f.status === "fail" && (worst === void 0 || SEVERITY_RANK2[f.severity] < SEVERITY_RANK2[worst])) {
      worst = f.severity;
    }
  }
  if (worst !== void 0) return { status: "fail", severity: worst };
  if (found.some((f) => f.status === "pass")) return { status: "pass" };
  return { status: "not-applicable" };
}
function renderCell(cell) {
  if (cell === null) return " ";
  switch (cell.status) {
    case "pass":
      return PASS;
    case "fail":
      return `${FAIL} ${cell.severity}`;
    case "not-applicable":
      return NOT_APPLICABLE;
  }
}
function row(cells) {
  return `| ${cells.join(" | ")} |`;
}
function systemLabel(system) {
  return `${system.policy}/${system.system}`;
}
function criteriaText(control) {
  return control.criteria.soc2.join(", ");
}
function appendWithin(lines, rows, budget) {
  let used = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const size = bytes(r) + 1;
    if (used + size > budget) return rows.length - i;
    used += size;
    lines.push(r);
  }
  return 0;
}
function renderMatrix(report) {
  const controls = report.controls.filter((c) => c.evaluation === "static");
  const systems = report.systems;
  const lines = ["### Controls \xD7 systems", ""];
  if (controls.length === 0 || systems.length === 0) {
    lines.push(controls.length === 0 ? "_No statically evaluated controls._" : "_No systems were checked._");
    return lines;
  }
  const index = indexFindings(report.findings);
  const legend = `${PASS} pass \xB7 ${FAIL} fail (severity) \xB7 ${NOT_APPLICABLE} not applicable`;
  if (systems.length <= MATRIX_MAX_SYSTEM_COLUMNS) {
    lines.push(legend, "");
    lines.push(row(["Control", "SOC 2", ...systems.map((s) => escapeCell(systemLabel(s)))]));
    lines.push(row(["---", "---", ...systems.map(() => ":-:")]));
    for (const control of controls) {
      lines.push(
        row([
          `**${escapeCell(control.id)}** ${escapeCell(control.title)}`,
          escapeCell(criteriaText(control)),
          ...systems.map((s) => renderCell(cellFor(index, control, s)))
        ])
      );
    }
    return lines;
  }
  lines.push(legend, "");
  lines.push(row(["System", ...controls.map((c) => escapeCell(c.id))]));
  lines.push(row(["---", ...controls.map(() => ":-:")]));
  const rows = systems.map(
    (s) => row([escapeCell(systemLabel(s)), ...controls.map((c) => renderCell(cellFor(index, c, s)))])
  );
  const left = appendWithin(lines, rows, MATRIX_BUDGET);
  if (left > 0) {
    lines.push(
      "",
      `_\u2026 and ${plural2(left, "more system", "more systems")} not shown; the JSON report has all of them._`
    );
  }
  lines.push("", "<details><summary>Controls</summary>", "");
  for (const control of controls) {
    const criteria = criteriaText(control);
    lines.push(
      `- **${escapeCell(control.id)}** ${escapeCell(control.title)}` + (criteria ? ` (SOC 2 ${escapeCell(criteria)})` : "")
    );
  }
  lines.push("", "</details>");
  return lines;
}
function failureRow(f) {
  const where2 = f.system ? `${f.policy ?? ""}/${f.system}` : f.policy ?? "";
  return row([
    f.kind === "problem" ? "\u26A0\uFE0F" : FAIL,
    f.severity,
    `**${escapeCell(f.ruleId)}**`,
    escapeCell(where2),
    escapeCell(formatRange(f.location)),
    escapeCell(f.message),
    escapeCell(f.remediation ?? "")
  ]);
}
function renderFailures(report) {
  const failures = reportedFindings(report);
  const lines = [`### Failures and problems (${failures.length})`, ""];
  if (failures.length === 0) {
    lines.push("None.");
    return lines;
  }
  lines.push(row(["", "Severity", "Rule", "System", "Location", "Message", "Fix"]));
  lines.push(row(["---", "---", "---", "---", "---", "---", "---"]));
  const left = appendWithin(lines, failures.map(failureRow), FAILURE_LIST_BUDGET);
  if (left > 0) {
    lines.push(
      "",
      `_\u2026 and ${left} more not shown to keep this summary under GitHub's size limit; the JSON report has all of them._`
    );
  }
  return lines;
}
function renderSummary(report) {
  const lines = [
    "## restorable check",
    "",
    verdict(report),
    "",
    // A pull request's reviewer wants the difference first; the whole state follows.
    ...report.changes ? [...renderChangesMarkdown(report.changes), ""] : [],
    ...renderMatrix(report),
    "",
    ...renderFailures(report)
  ];
  return `${lines.join("\n")}
`;
}

// src/report/json.ts
var JSON_SCHEMA_VERSION = 1;
function renderJson(report) {
  const { findings, ...rest } = report;
  const head = JSON.stringify({ schemaVersion: JSON_SCHEMA_VERSION, ...rest }, null, 2);
  const lines = findings.map((f) => `    ${JSON.stringify(f)}`).join(",\n");
  const list = findings.length ? `[
${lines}
  ]` : "[]";
  return `${head.slice(0, -2)},
  "findings": ${list}
}
`;
}

// src/report/write.ts
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";

// src/report/junit.ts
var INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
function xmlSafe(text) {
  return text.replace(INVALID_XML, "\uFFFD");
}
function escapeXmlText(text) {
  return xmlSafe(text).replace(/[&<>]/g, (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : "&gt;");
}
var ATTRIBUTE_ESCAPES = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  // Attribute values are whitespace-normalised by parsers; references keep these characters.
  "	": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;"
};
function escapeXmlAttribute(text) {
  return xmlSafe(text).replace(/[&<>"'\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]);
}
function attributes(attrs) {
  return Object.entries(attrs).map(([name, value]) => ` ${name}="${escapeXmlAttribute(String(value))}"`).join("");
}
function uniqueName(used, name) {
  const n = (used.get(name) ?? 0) + 1;
  used.set(name, n);
  return n === 1 ? name : `${name}#${n}`;
}
function failureBody(finding) {
  const lines = [formatRange(finding.location), finding.message];
  if (finding.remediation) lines.push(`Fix: ${finding.remediation}`);
  return lines.join("\n");
}
function renderCase(c) {
  const open = `    <testcase${attributes({ classname: c.classname, name: c.name, time: "0" })}`;
  if (c.failed) {
    return [
      `${open}>`,
      `      <failure${attributes({ message: c.finding.message, type: c.finding.severity })}>${escapeXmlText(failureBody(c.finding))}</failure>`,
      "    </testcase>"
    ];
  }
  if (c.skipped) return [`${open}>`, '      <skipped message="not applicable"/>', "    </testcase>"];
  return [`${open}/>`];
}
function renderSuite(suite) {
  const failures = suite.cases.filter((c) => c.failed).length;
  const skipped = suite.cases.filter((c) => c.skipped).length;
  const open = `  <testsuite${attributes({ name: suite.name, tests: suite.cases.length, failures, errors: 0, skipped, time: "0" })}`;
  if (suite.cases.length === 0) return [`${open}/>`];
  return [`${open}>`, ...suite.cases.flatMap(renderCase), "  </testsuite>"];
}
function renderJunit(report) {
  const suites = /* @__PURE__ */ new Map();
  for (const control of report.controls) {
    if (control.evaluation !== "static") continue;
    suites.set(control.id, { name: `${control.id} ${control.title}`, cases: [] });
  }
  const problems = { name: "problems", cases: [] };
  const used = /* @__PURE__ */ new Map();
  const findings = [...report.findings].sort(
    (a, b) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0) || ((a.policy ?? "") < (b.policy ?? "") ? -1 : (a.policy ?? "") > (b.policy ?? "") ? 1 : 0) || ((a.system ?? "") < (b.system ?? "") ? -1 : (a.system ?? "") > (b.system ?? "") ? 1 : 0) || compareFindings(a, b)
  );
  for (const finding of findings) {
    if (finding.kind === "problem") {
      problems.cases.push({
        classname: finding.ruleId,
        name: uniqueName(used, `${finding.ruleId}/${formatRange(finding.location)}`),
        finding,
        failed: true,
        skipped: false
      });
      continue;
    }
    let suite = suites.get(finding.ruleId);
    if (!suite) {
      suite = { name: `${finding.ruleId} ${finding.title}`.trim(), cases: [] };
      suites.set(finding.ruleId, suite);
    }
    const scope = [finding.policy ?? "-", ...finding.system !== void 0 ? [finding.system] : []].join(
      "/"
    );
    suite.cases.push({
      classname: finding.ruleId,
      name: uniqueName(used, `${finding.ruleId}/${scope}`),
      finding,
      failed: finding.status === "fail",
      skipped: finding.status === "not-applicable"
    });
  }
  const all = [...suites.values(), ...problems.cases.length > 0 ? [problems] : []];
  const cases = all.flatMap((s) => s.cases);
  const root = attributes({
    name: "restorable check",
    tests: cases.length,
    failures: cases.filter((c) => c.failed).length,
    errors: 0,
    skipped: cases.filter((c) => c.skipped).length,
    time: (Math.max(0, report.durationMs) / 1e3).toFixed(3)
  });
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${root}>`,
    ...all.flatMap(renderSuite),
    "</testsuites>"
  ];
  return `${lines.join("\n")}
`;
}

// src/report/sarif.ts
import { createHash } from "node:crypto";
var SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";
var INFORMATION_URI = "https://github.com/restorable/restorable";
var FINGERPRINT_KEY = "restorable/v1";
var SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
function sarifLevel(severity) {
  switch (severity) {
    case "critical":
    case "high":
      return "error";
    case "medium":
      return "warning";
    case "low":
      return "note";
  }
}
var SECURITY_SEVERITY = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0"
};
function ruleName(title, fallback) {
  const name = title.split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0).map((w) => w[0].toUpperCase() + w.slice(1)).join("");
  return name || fallback.replace(/[^\p{L}\p{N}]+/gu, "");
}
function criteriaTags(control) {
  return [
    ...control.criteria.soc2.map((c) => `soc2/${c}`),
    ...control.criteria.iso27001.map((c) => `iso27001/${c}`),
    ...control.criteria.nist80053.map((c) => `nist80053/${c}`)
  ];
}
function criteriaLines(control) {
  const lines = [];
  if (control.criteria.soc2.length > 0) lines.push(`SOC 2: ${control.criteria.soc2.join(", ")}`);
  if (control.criteria.iso27001.length > 0) lines.push(`ISO 27001: ${control.criteria.iso27001.join(", ")}`);
  if (control.criteria.nist80053.length > 0)
    lines.push(`NIST 800-53: ${control.criteria.nist80053.join(", ")}`);
  return lines;
}
function controlRule(control) {
  const criteria = criteriaLines(control);
  const text = [
    control.description,
    "",
    `Remediation: ${control.remediation}`,
    ...criteria.length ? ["", ...criteria] : []
  ];
  const markdown = [
    control.description,
    "",
    `**Remediation:** ${control.remediation}`,
    ...criteria.length ? ["", ...criteria.map((l) => `- ${l}`)] : []
  ];
  return {
    id: control.id,
    name: ruleName(control.title, control.id),
    shortDescription: { text: control.title },
    fullDescription: { text: control.description },
    help: { text: text.join("\n"), markdown: markdown.join("\n") },
    defaultConfiguration: { level: sarifLevel(control.severity) },
    properties: {
      tags: [...criteriaTags(control), "security"],
      "security-severity": SECURITY_SEVERITY[control.severity]
    }
  };
}
function findingRule(finding) {
  return {
    id: finding.ruleId,
    name: ruleName(finding.title, finding.ruleId),
    shortDescription: { text: finding.title || finding.ruleId },
    defaultConfiguration: { level: sarifLevel(finding.severity) },
    properties: { tags: [finding.kind === "problem" ? "problem" : "control"] }
  };
}
function artifactUri(file) {
  return file.replaceAll("\\", "/").replace(/^(\.\/)+/, "").split("/").map((segment) => encodeURIComponent(segment)).join("/");
}
function positive2(n) {
  return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}
function region(finding) {
  const { line, column, endLine, endColumn } = finding.location;
  const startLine = positive2(line);
  const startColumn = positive2(column);
  const end = Math.max(startLine, positive2(endLine));
  const endCol = end === startLine ? Math.max(startColumn, positive2(endColumn)) : positive2(endColumn);
  return { startLine, startColumn, endLine: end, endColumn: endCol };
}
function fingerprint(parts) {
  return createHash("sha256").update(parts.join("\0"), "utf8").digest("hex");
}
function messageText(finding) {
  const where2 = [finding.policy, finding.system].filter((p) => p !== void 0 && p !== "").join("/");
  const text = where2 ? `[${where2}] ${finding.message}` : finding.message;
  return finding.remediation ? `${text}
Fix: ${finding.remediation}` : text;
}
function renderSarif(report) {
  const rules = [];
  const ruleIndex = /* @__PURE__ */ new Map();
  const addRule = (rule) => {
    if (ruleIndex.has(rule.id)) return;
    ruleIndex.set(rule.id, rules.length);
    rules.push(rule);
  };
  for (const control of report.controls) addRule(controlRule(control));
  const reported = reportedFindings(report);
  const extra = reported.filter((f) => !ruleIndex.has(f.ruleId)).sort((a, b) => a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);
  for (const finding of extra) addRule(findingRule(finding));
  const seen = /* @__PURE__ */ new Map();
  const results = reported.map((finding) => {
    const file = finding.location.file.replaceAll("\\", "/");
    const parts = [finding.ruleId, finding.policy ?? "", finding.system ?? "", file];
    const id = parts.join("\0");
    const occurrence = seen.get(id) ?? 0;
    seen.set(id, occurrence + 1);
    const print = fingerprint(occurrence === 0 ? parts : [...parts, String(occurrence)]);
    return {
      ruleId: finding.ruleId,
      ruleIndex: ruleIndex.get(finding.ruleId),
      level: sarifLevel(finding.severity),
      message: { text: messageText(finding) },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: artifactUri(file), uriBaseId: "%SRCROOT%" },
            region: region(finding)
          }
        }
      ],
      partialFingerprints: { [FINGERPRINT_KEY]: print },
      properties: {
        kind: finding.kind,
        severity: finding.severity,
        ...finding.policy !== void 0 ? { policy: finding.policy } : {},
        ...finding.system !== void 0 ? { system: finding.system } : {}
      }
    };
  });
  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: report.tool.name,
            version: report.tool.version,
            ...SEMVER.test(report.tool.version) ? { semanticVersion: report.tool.version } : {},
            informationUri: INFORMATION_URI,
            rules
          }
        },
        columnKind: "utf16CodeUnits",
        results
      }
    ]
  };
}

// src/report/write.ts
function writeReports(report, root, paths) {
  const written = {};
  const write = (key2, render) => {
    const path = paths[key2];
    if (!path) return;
    const absolute = resolve(root, path);
    mkdirSync(dirname(absolute), { recursive: true });
    writeFileSync(absolute, render());
    written[key2] = absolute;
  };
  write("sarif", () => `${JSON.stringify(renderSarif(report), null, 2)}
`);
  write("junit", () => renderJunit(report));
  write("json", () => renderJson(report));
  return written;
}

export {
  isReported,
  compareFindings,
  reportedFindings,
  selectAnnotations,
  annotationOverflow,
  escapeCell,
  changesHeadline,
  renderChangesMarkdown,
  renderChangesText,
  verdict,
  renderSummary,
  renderJson,
  writeReports
};
