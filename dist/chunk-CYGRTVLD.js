import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  NO_SYSTEM,
  SIGNING_ENV,
  appendRecord,
  evidenceSettings,
  policyEntries,
  signerFromEnv
} from "./chunk-2X7ZTPOP.js";
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_EVIDENCE_BRANCH,
  formatDuration,
  loadConfig
} from "./chunk-TKDTUBCU.js";

// src/cli/format.ts
function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
function formatSeconds(ms) {
  const seconds2 = ms / 1e3;
  if (seconds2 < 60) return `${seconds2.toFixed(1)} s`;
  const minutes = Math.floor(seconds2 / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds2 % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
function progressInterval(env) {
  const value = Number(env.RESTORABLE_PROGRESS_INTERVAL);
  return Number.isFinite(value) && value >= 0 && env.RESTORABLE_PROGRESS_INTERVAL !== "" ? value * 1e3 : 5e3;
}
var ProgressPrinter = class {
  started = Date.now();
  last = Date.now();
  intervalMs;
  write;
  constructor(write, intervalMs = 5e3) {
    this.write = write;
    this.intervalMs = intervalMs;
  }
  /** A count of items (packs read, say) out of a known total, with an ETA. */
  count(label, done, total, unit) {
    if (!this.due()) return;
    const elapsed = Date.now() - this.started;
    const eta = done > 0 && total > done ? `, ETA ${formatSeconds(elapsed / done * (total - done))}` : "";
    this.write(`${label}: ${done} of ${total} ${unit}, ${formatSeconds(elapsed)}${eta}`);
  }
  due() {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }
  update(label, files, bytes, total) {
    if (!this.due()) return;
    const now = Date.now();
    const elapsed = (now - this.started) / 1e3;
    const rate = elapsed > 0 ? bytes / elapsed : 0;
    let line = `${label}: ${files} files, ${formatBytes(bytes)}`;
    if (total !== void 0 && total > 0)
      line += ` of ${formatBytes(total)} (${Math.min(100, 100 * bytes / total).toFixed(0)}%)`;
    line += `, ${formatBytes(rate)}/s, ${formatSeconds(elapsed * 1e3)}`;
    if (total !== void 0 && rate > 0 && total > bytes)
      line += `, ETA ${formatSeconds((total - bytes) / rate * 1e3)}`;
    this.write(line);
  }
};

// src/evidence/pages.ts
var TIMELINE_ROWS = 200;
var MATRIX_COLUMNS = 10;
var README_SYSTEMS = 100;
var CONTROL_PAGE_SYSTEMS = 200;
var TIMELINE_KINDS = ["backup", "drill", "prune"];
function controlInfos(root, config) {
  const key = `${root}\0${config ?? ""}`;
  let loaded = loadedInfos.get(key);
  if (!loaded) {
    loaded = import("./chunk-YKPEMEXA.js").then(({ loadProfile }) => loadProfile(root, config).profile.controls.map(controlInfo)).catch(() => []);
    loadedInfos.set(key, loaded);
  }
  return loaded;
}
var loadedInfos = /* @__PURE__ */ new Map();
function controlInfo(control) {
  const { data } = control;
  const info = {
    id: data.id,
    title: data.title,
    description: data.description,
    severity: control.severity,
    evaluation: data.check.static ? "static" : "runtime",
    criteria: data.criteria,
    remediation: data.remediation.replace(
      /\{param\.([A-Za-z0-9]+)\}/g,
      (m, n) => control.paramText[n] ?? m
    )
  };
  if (data.check.runtime) {
    info.runtime = { evidence: data.check.runtime.evidence, measure: data.check.runtime.measure };
  }
  return info;
}
function auditorPages(options = {}) {
  let controls;
  const library = async () => {
    const list = options.controls ?? (options.root !== void 0 ? await controlInfos(options.root, options.config) : []);
    return new Map(list.map((c) => [c.id, c]));
  };
  return async (input) => {
    controls ??= library();
    return renderPages(input, await controls, options.rows ?? TIMELINE_ROWS);
  };
}
async function renderPages(input, controls, rows) {
  const { record, state } = input;
  const pages = {};
  const updates = [];
  if (TIMELINE_KINDS.includes(record.kind)) {
    for (const system of new Set(record.systems.map((s) => s.name))) {
      updates.push(systemPage(input, system, rows));
    }
  }
  const evaluated = /* @__PURE__ */ new Map();
  for (const entry of record.controls ?? []) {
    const list = evaluated.get(entry.id) ?? [];
    list.push(entry);
    evaluated.set(entry.id, list);
  }
  for (const [id, entries] of evaluated)
    updates.push(controlPage(input, id, entries, controls.get(id), rows));
  updates.push(
    input.list("controls").then((names) => {
      const present = new Set(names ?? []);
      const missing = {};
      for (const info of controls.values()) {
        const page = controlPagePath(info.id);
        if (!evaluated.has(info.id) && !present.has(page.slice("controls/".length))) {
          missing[page] = emptyControlPage(info);
        }
      }
      return missing;
    })
  );
  for (const files of await Promise.all(updates)) Object.assign(pages, files);
  pages["README.md"] = readme(input, controls);
  const systems = Object.keys(state.systems).sort();
  if (systems.length > README_SYSTEMS) pages["systems.md"] = systemsIndex(state, systems);
  return pages;
}
var NOTICE = "<!-- Generated by Restorable on every append, from state.json and the records; do not edit: the next append rewrites it. -->";
function cell(text, max = 200) {
  const flat = text.replace(/\s+/g, " ").trim();
  const short = flat.length > max ? `${flat.slice(0, max - 1)}\u2026` : flat;
  return short.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/([*_`[\]])/g, "\\$1");
}
function prose(text) {
  return text.replace(/\s+/g, " ").trim().replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
function table(header, rows) {
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map(() => "---").join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`)
  ].join("\n");
}
var SYMBOL = {
  success: "\u2705",
  pass: "\u2705",
  partial: "\u26A0\uFE0F",
  failure: "\u274C",
  fail: "\u274C",
  "not-applicable": "\u2796"
};
function when(time) {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(time) ? `${time.slice(0, 10)} ${time.slice(11, 16)} UTC` : time;
}
function day(time) {
  return /^\d{4}-\d{2}-\d{2}/.test(time) ? time.slice(0, 10) : time;
}
function recordLink(ref, depth, text = `#${ref.sequence}`) {
  return `[${text}](${"../".repeat(depth)}${ref.file})`;
}
function controlPagePath(id) {
  return `controls/${id.replace(/\//g, "~")}.md`;
}
function systemPagePath(system) {
  return `systems/${system}.md`;
}
function controlLabel(id, info, depth) {
  const link = `[${cell(id)}](${"../".repeat(depth)}${controlPagePath(id)})`;
  return info ? `${link} ${prose(info.title)}` : link;
}
function systemLabel(system, depth, state) {
  if (system === NO_SYSTEM) return "(policy-wide)";
  const kinds = state.systems[system];
  const hasPage = TIMELINE_KINDS.some((kind) => kinds?.[kind] !== void 0);
  return hasPage ? `[${system}](${"../".repeat(depth)}${systemPagePath(system)})` : system;
}
function count(n) {
  return n.toLocaleString("en-US");
}
function milliseconds(ms) {
  if (ms < 6e4) return `${(ms / 1e3).toFixed(1)} s`;
  return formatDuration(Math.round(ms / 1e3));
}
function seconds(s) {
  return Number.isFinite(s) && s >= 0 ? formatDuration(Math.round(s)) : String(s);
}
var isNumber = (value) => typeof value === "number" && Number.isFinite(value);
function describeMeasurements(m) {
  if (!m) return "";
  const parts = [];
  if (isNumber(m.files)) parts.push(`${count(m.files)} files`);
  if (isNumber(m.bytes)) parts.push(`size ${formatBytes(m.bytes)}`);
  if (isNumber(m.bytesRead)) parts.push(`${formatBytes(m.bytesRead)} read`);
  if (isNumber(m.bytesAdded)) parts.push(`${formatBytes(m.bytesAdded)} added`);
  if (isNumber(m.bytesStored)) parts.push(`${formatBytes(m.bytesStored)} stored`);
  if (isNumber(m.bytesDeleted)) parts.push(`${formatBytes(m.bytesDeleted)} freed`);
  if (isNumber(m.kept)) parts.push(`${count(m.kept)} kept`);
  if (isNumber(m.disposals) && m.disposals > 0) parts.push(`${count(m.disposals)} past the maximum`);
  if (isNumber(m.repositoryBytesFreed))
    parts.push(`${formatBytes(m.repositoryBytesFreed)} freed in the repository`);
  if (isNumber(m.durationMs)) parts.push(`took ${milliseconds(m.durationMs)}`);
  if (isNumber(m.restoreDurationMs)) parts.push(`restored in ${milliseconds(m.restoreDurationMs)}`);
  if (typeof m.verified === "boolean") parts.push(m.verified ? "verified complete" : "NOT verified");
  if (isNumber(m.snapshotAgeSeconds)) parts.push(`snapshot ${seconds(m.snapshotAgeSeconds)} old`);
  if (Array.isArray(m.steps) && m.steps.length > 0) {
    const passed = m.steps.filter(
      (step) => step?.status === "passed"
    ).length;
    parts.push(`${passed} of ${m.steps.length} verify step${m.steps.length === 1 ? "" : "s"} passed`);
  }
  for (const [name, objective] of [
    ["RPO", m.rpo],
    ["RTO", m.rto]
  ]) {
    if (!objective || typeof objective !== "object") continue;
    const target = isNumber(objective.targetSeconds) ? seconds(objective.targetSeconds) : void 0;
    const achieved = isNumber(objective.achievedSeconds) ? seconds(objective.achievedSeconds) : void 0;
    if (target && achieved) parts.push(`${name} ${achieved} (target ${target})`);
    else if (achieved) parts.push(`${name} ${achieved}`);
    else if (target) parts.push(`${name} target ${target}`);
  }
  if (Array.isArray(m.snapshots) && m.snapshots.length > 0) {
    const ids = m.snapshots.slice(0, 3).map((s) => `${s?.repository ?? "?"}:${String(s?.id ?? "?").slice(0, 12)}`).join(", ");
    parts.push(`snapshot${m.snapshots.length === 1 ? "" : "s"} ${ids}${m.snapshots.length > 3 ? " \u2026" : ""}`);
  }
  if (Array.isArray(m.deleted)) parts.push(`${count(m.deleted.length)} snapshots deleted`);
  if (isNumber(m.kept)) parts.push(`${count(m.kept)} kept`);
  return parts.join(", ");
}
var MARKER = /^<!-- restorable:timeline((?: [a-z]+=[0-9]+)*) -->$/;
var END = "<!-- restorable:timeline-end -->";
function parseTimeline(text) {
  if (text === void 0) return void 0;
  const lines = text.split("\n");
  const start = lines.findIndex((line) => MARKER.test(line));
  if (start < 0) return void 0;
  const fields = new Map(
    [...lines[start].matchAll(/ ([a-z]+)=([0-9]+)/g)].map((m) => [m[1], Number(m[2])])
  );
  const rows = [];
  for (let i = start + 3; i < lines.length && lines[i] !== END; i++) {
    if (lines[i].startsWith("|")) rows.push(lines[i]);
  }
  const timeline = {
    rows,
    archives: fields.get("archives") ?? 0,
    archiveRows: fields.get("archiverows") ?? 0
  };
  const since = fields.get("since");
  if (since !== void 0) timeline.since = since;
  return timeline;
}
function timelineBlock(header, timeline) {
  const fields = [`archives=${timeline.archives}`, `archiverows=${timeline.archiveRows}`];
  if (timeline.since !== void 0) fields.push(`since=${timeline.since}`);
  return [`<!-- restorable:timeline ${fields.join(" ")} -->`, table(header, []), ...timeline.rows, END].join(
    "\n"
  );
}
function archivePagePath(archiveDir, number) {
  return `${archiveDir}/older-${String(number).padStart(6, "0")}.md`;
}
async function addRows(spec, newRows, read) {
  const previous = parseTimeline((await read(spec.page))?.toString("utf8"));
  const timeline = previous ?? { rows: [], archives: 0, archiveRows: 0 };
  if (!previous && spec.startsLate) timeline.since = spec.sequence;
  timeline.rows = [...newRows, ...timeline.rows];
  const files = {};
  const overflow = timeline.rows.splice(spec.rows);
  const moved = overflow.map((row) => row.replaceAll("](../", "](../../"));
  while (moved.length > 0) {
    let number = timeline.archives;
    let archive;
    if (number > 0 && timeline.archiveRows < spec.rows) {
      const path = archivePagePath(spec.archiveDir, number);
      archive = files[path] !== void 0 ? parseTimeline(files[path]) : parseTimeline((await read(path))?.toString("utf8")) ?? {
        rows: [],
        archives: 0,
        archiveRows: 0
      };
    } else {
      number += 1;
      archive = { rows: [], archives: 0, archiveRows: 0 };
    }
    const room = spec.rows - archive.rows.length;
    const taken = moved.splice(Math.max(0, moved.length - room));
    archive.rows = [...taken, ...archive.rows];
    files[archivePagePath(spec.archiveDir, number)] = spec.renderArchive(
      timelineBlock(spec.header, archive),
      number
    );
    timeline.archives = number;
    timeline.archiveRows = archive.rows.length;
  }
  files[spec.page] = spec.render(timelineBlock(spec.header, timeline), timeline);
  return files;
}
function archiveLinks(base, timeline) {
  if (timeline.archives === 0) return "";
  const links = [];
  for (let n = timeline.archives; n >= 1 && links.length < 50; n--) {
    links.push(`[${n}](${archivePagePath(base, n)})`);
  }
  const more = timeline.archives > 50 ? ` \u2026 (${timeline.archives - 50} more, in ${base}/)` : "";
  return `Older rows, newest pages first: ${links.join(" \xB7 ")}${more}.`;
}
var SYSTEM_HEADER = ["record", "time (UTC)", "kind", "outcome", "measurements", "note"];
function outcome(value) {
  return `${SYMBOL[value] ?? ""} ${value}`.trim();
}
function systemRow(record, file) {
  const cells = [
    recordLink({ sequence: record.sequence, file }, 1),
    when(record.time),
    record.kind,
    outcome(record.outcome),
    cell(describeMeasurements(record.measurements), 300),
    cell(record.message ?? "")
  ];
  return `| ${cells.join(" | ")} |`;
}
function latestCell(kind, which, depth) {
  const ref = kind?.[which];
  if (!ref) return "\u2014";
  const symbol = which === "last" ? `${SYMBOL[ref.outcome] ?? ""} ` : "";
  return `${symbol}${recordLink(ref, depth, day(ref.time))}`;
}
async function systemPage(input, system, rows) {
  const { record, state, previousState } = input;
  const kinds = state.systems[system] ?? {};
  const policy = record.systems.find((s) => s.name === system)?.policy;
  const before = previousState?.systems[system];
  return addRows(
    {
      page: systemPagePath(system),
      archiveDir: `systems/${system}`,
      header: SYSTEM_HEADER,
      rows,
      startsLate: TIMELINE_KINDS.some((kind) => before?.[kind] !== void 0),
      sequence: record.sequence,
      render: (block, timeline) => [
        `# ${system}`,
        NOTICE,
        `${policy ? `Policy \`${cell(policy)}\`. ` : ""}[Evidence overview](../README.md) \xB7 every record of this system is named \`records/*/*-KIND-${system}.json\`.`,
        "## Newest runs",
        table(
          ["kind", "newest run", "newest success"],
          TIMELINE_KINDS.map((kind) => [
            kind,
            latestCell(kinds[kind], "last", 1),
            latestCell(kinds[kind], "lastSuccess", 1)
          ])
        ),
        "## Timeline",
        [
          `Backups, drills and prunes, newest first (the newest ${rows} here).`,
          timeline.since !== void 0 ? `This page was started at record #${timeline.since}; earlier runs of this system are under [records/](../records/).` : "",
          archiveLinks(system, timeline)
        ].filter(Boolean).join(" "),
        block,
        ""
      ].join("\n\n"),
      renderArchive: (block, number) => [
        `# ${system}: older runs, page ${number}`,
        NOTICE,
        `Newest first. Newer runs: [${system}](../${system}.md)${number > 1 ? ` \xB7 older: [page ${number - 1}](${archivePagePath(".", number - 1).slice(2)})` : ""}.`,
        block,
        ""
      ].join("\n\n")
    },
    [systemRow(record, input.file)],
    input.read
  );
}
var CONTROL_HEADER = ["record", "time (UTC)", "kind", "results", "failing"];
function controlRow(record, file, entries) {
  const tally = { pass: 0, fail: 0, "not-applicable": 0 };
  for (const entry of entries) tally[entry.status]++;
  const results = ["pass", "fail", "not-applicable"].filter((status) => tally[status] > 0).map(
    (status) => `${SYMBOL[status]} ${count(tally[status])} ${status === "not-applicable" ? "n/a" : status}`
  ).join(" \xB7 ");
  const failing = entries.filter((e) => e.status === "fail");
  const named = failing.slice(0, 5).map((e) => {
    const who = e.system ?? "policy-wide";
    return entries.length === 1 && e.message ? `${who}: ${e.message}` : who;
  }).join(", ");
  const note = failing.length > 5 ? `${named} and ${failing.length - 5} more` : named;
  const cells = [
    recordLink({ sequence: record.sequence, file }, 1),
    when(record.time),
    record.kind,
    results,
    cell(note, 300)
  ];
  return `| ${cells.join(" | ")} |`;
}
function describeControl(id, info) {
  if (!info) {
    return [
      `# ${cell(id)}`,
      NOTICE,
      "[Evidence overview](../README.md). This control is not in the control library of the repository that wrote the newest record here; its results are as recorded."
    ];
  }
  const criteria = info.criteria ?? {};
  const facts = [
    ["severity", info.severity ?? ""],
    [
      "evaluated",
      info.evaluation === "runtime" ? `at run time, by \`restorable status\`, from the newest ${info.runtime?.evidence ?? ""} evidence (\`${info.runtime?.measure ?? ""}\`)` : "statically, by `restorable check`, on every policy"
    ],
    ["SOC 2", (criteria.soc2 ?? []).join(", ")],
    ["ISO/IEC 27001:2022", (criteria.iso27001 ?? []).join(", ")],
    ["NIST SP 800-53", (criteria.nist80053 ?? []).join(", ")],
    ["remediation", info.remediation ?? ""]
  ];
  return [
    `# ${cell(id)}: ${prose(info.title)}`,
    NOTICE,
    "[Evidence overview](../README.md)",
    ...info.description ? [`> ${prose(info.description)}`] : [],
    table(
      ["", ""],
      facts.filter(([, value]) => value !== "").map(([name, value]) => [name, prose(value)])
    )
  ];
}
function currentResults(results, state) {
  const systems = Object.keys(results).sort();
  const order = (s) => results[s].status === "fail" ? 0 : 1;
  const listed = [...systems].sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1)).slice(0, CONTROL_PAGE_SYSTEMS);
  const rows = listed.sort((a, b) => a < b ? -1 : a > b ? 1 : 0).map((system) => {
    const ref = results[system];
    return [
      systemLabel(system, 1, state),
      outcome(ref.status),
      recordLink(ref, 1, day(ref.time)),
      cell(ref.message ?? "")
    ];
  });
  const rest = systems.length - listed.length;
  const tally = { pass: 0, fail: 0, "not-applicable": 0 };
  for (const system of systems) tally[results[system].status]++;
  return [
    `${count(systems.length)} system${systems.length === 1 ? "" : "s"}: ${tally.pass} pass, ${tally.fail} fail, ${tally["not-applicable"]} not applicable.${rest > 0 ? ` ${rest} passing or not applicable systems are not listed.` : ""}`,
    table(["system", "status", "date", "message"], rows)
  ].join("\n\n");
}
function emptyControlPage(info) {
  return [
    ...describeControl(info.id, info),
    "## Results",
    info.evaluation === "runtime" ? "A run-time control: `restorable status` evaluates it against the newest backup and drill records of each system (the system pages list them). No record on this branch holds its result." : "No record on this branch holds a result of this control yet: `restorable check` records them.",
    ""
  ].join("\n\n");
}
async function controlPage(input, id, entries, info, rows) {
  const { record, state, previousState } = input;
  const page = controlPagePath(id);
  const archiveDir = page.slice(0, -".md".length);
  const base = archiveDir.slice("controls/".length);
  return addRows(
    {
      page,
      archiveDir,
      header: CONTROL_HEADER,
      rows,
      startsLate: previousState !== void 0 && previousState.controls[id] !== void 0,
      sequence: record.sequence,
      render: (block, timeline) => [
        ...describeControl(id, info),
        "## Newest result per system",
        currentResults(state.controls[id] ?? {}, state),
        "## History",
        [
          `Every record that evaluated ${cell(id)}, newest first (the newest ${rows} here).`,
          timeline.since !== void 0 ? `This page was started at record #${timeline.since}; earlier results are in the records under [records/](../records/).` : "",
          archiveLinks(base, timeline)
        ].filter(Boolean).join(" "),
        block,
        ""
      ].join("\n\n"),
      renderArchive: (block, number) => [
        `# ${cell(id)}: older history, page ${number}`,
        NOTICE,
        `Newest first. Newer: [${cell(id)}](../${base}.md)${number > 1 ? ` \xB7 older: [page ${number - 1}](${archivePagePath(".", number - 1).slice(2)})` : ""}.`,
        block,
        ""
      ].join("\n\n")
    },
    [controlRow(record, input.file, entries)],
    input.read
  );
}
function systemRows(state, systems, depth) {
  return systems.map((system) => {
    const kinds = state.systems[system] ?? {};
    return [
      systemLabel(system, depth, state),
      latestCell(kinds.backup, "last", depth),
      latestCell(kinds.backup, "lastSuccess", depth),
      latestCell(kinds.drill, "last", depth),
      latestCell(kinds.drill, "lastSuccess", depth),
      latestCell(kinds.prune, "last", depth)
    ];
  });
}
var SYSTEMS_HEADER = [
  "system",
  "newest backup",
  "newest good backup",
  "newest drill",
  "newest passed drill",
  "newest prune"
];
function systemsIndex(state, systems) {
  return [
    "# Systems",
    NOTICE,
    `[Evidence overview](README.md). ${count(systems.length)} systems, with their newest runs.`,
    table(SYSTEMS_HEADER, systemRows(state, systems, 0)),
    ""
  ].join("\n\n");
}
function matrixCell(ref) {
  if (!ref) return "\u2014";
  return `${SYMBOL[ref.status] ?? ""} ${recordLink(ref, 0, day(ref.time))}`;
}
function controlMatrix(state, controls) {
  const ids = Object.keys(state.controls).sort();
  if (ids.length === 0) {
    return "No control results recorded yet: `restorable check` records them when it writes evidence.";
  }
  const systems = [...new Set(ids.flatMap((id) => Object.keys(state.controls[id])))].sort();
  if (systems.length <= MATRIX_COLUMNS) {
    return [
      "The newest result of each control on each system, and the record it comes from (\u2705 pass, \u274C fail, \u2796 not applicable, \u2014 never evaluated).",
      table(
        ["control", ...systems.map((s) => systemLabel(s, 0, state))],
        ids.map((id) => [
          controlLabel(id, controls.get(id), 0),
          ...systems.map((s) => matrixCell(state.controls[id][s]))
        ])
      )
    ].join("\n\n");
  }
  return [
    `${count(systems.length)} systems: too many for one table. Per control, how many systems pass and fail, and which fail; each control's page lists its newest result on every system.`,
    table(
      ["control", "pass", "fail", "n/a", "failing", "newest result"],
      ids.map((id) => {
        const results = state.controls[id];
        const tally = { pass: 0, fail: 0, "not-applicable": 0 };
        let newest;
        const failing = [];
        for (const [system, ref] of Object.entries(results)) {
          tally[ref.status]++;
          if (ref.status === "fail") failing.push(system === NO_SYSTEM ? "(policy-wide)" : system);
          if (!newest || ref.sequence > newest.sequence) newest = ref;
        }
        failing.sort();
        return [
          controlLabel(id, controls.get(id), 0),
          count(tally.pass),
          tally.fail > 0 ? `\u274C ${count(tally.fail)}` : "0",
          count(tally["not-applicable"]),
          cell(
            failing.length > 5 ? `${failing.slice(0, 5).join(", ")} and ${failing.length - 5} more` : failing.join(", ")
          ),
          newest ? recordLink(newest, 0, day(newest.time)) : "\u2014"
        ];
      })
    )
  ].join("\n\n");
}
function runtimeSection(controls) {
  const runtime = [...controls.values()].filter((c) => c.evaluation === "runtime").sort((a, b) => a.id < b.id ? -1 : 1);
  if (runtime.length === 0) return "";
  return [
    "## Run-time controls",
    "`restorable status` evaluates these against the newest backup and drill records of each system (see each system page), and fails a scheduled workflow when one is violated:",
    table(
      ["control", "from", "measure"],
      runtime.map((c) => [
        controlLabel(c.id, c, 0),
        c.runtime?.evidence ?? "",
        `\`${c.runtime?.measure ?? ""}\``
      ])
    )
  ].join("\n\n");
}
function verifySection(input) {
  const { state, branch } = input;
  const head = state.head;
  const fpr = state.signingKey;
  return [
    "## How to verify",
    `Every file under \`records/\` is one run, in canonical JSON, with a detached OpenPGP signature beside it (\`.json.asc\`); each record holds the SHA-256 of the one before (\`previous\`). Nothing on this branch is trusted for itself: the key must be the one whose fingerprint is pinned in \`.restorable/config.yaml\` on the default branch (\`evidence.signingKey.fingerprint\`), and this page, \`state.json\` and the other pages are derived from the records. Note the newest record's SHA-256 above: a later verification must still find that record, unchanged.`,
    "With Restorable, every signature, link, file name and commit of the branch:",
    [
      "```sh",
      "npx restorable evidence verify --remote origin",
      `npx restorable evidence verify --remote origin --branch ${branch} --fingerprint ${fpr}   # without the profile`,
      "```"
    ].join("\n"),
    "With git, gpg and sha256sum only:",
    [
      "```sh",
      `git fetch origin ${branch}`,
      `git worktree add ../evidence origin/${branch} && cd ../evidence`,
      "# A fresh gpg home: no other key of yours can vouch for a record.",
      "export GNUPGHOME=$(mktemp -d)",
      `gpg --import keys/${fpr}.asc && gpg --fingerprint ${fpr}       # compare with the pinned fingerprint`,
      "",
      "# The newest record: its signature, and the SHA-256 shown above.",
      `gpg --verify ${head.file}.asc ${head.file}`,
      `sha256sum ${head.file}      # ${head.sha256}`,
      "",
      "# Every record signed by the pinned key, not merely by some key gpg knows (prints nothing when all are).",
      "for f in records/*/*.json; do",
      `  gpg --status-fd 1 --verify "$f.asc" "$f" 2>/dev/null | grep -q "^\\[GNUPG:\\] VALIDSIG .* ${fpr}$" || echo "NOT SIGNED BY THE PINNED KEY: $f"`,
      "done",
      "",
      '# The chain: sequences 0, 1, 2 \u2026 and each "previous" the SHA-256 of the record before (prints nothing when whole).',
      "prev=null; n=0",
      "for f in $(ls records/*/*.json | sort); do",
      '  s=$(jq -r .sequence "$f"); [ "$s" = "$n" ] || echo "GAP OR DUPLICATE at $f"',
      '  [ "$(jq -r .previous "$f")" = "$prev" ] || echo "BROKEN CHAIN before $f"',
      `  prev=$(sha256sum "$f" | cut -d' ' -f1); n=$((s + 1))`,
      "done",
      "",
      "# No commit ever modified, deleted or renamed a record (prints nothing).",
      `git log --no-renames --diff-filter=MDT --format=%H --name-status origin/${branch} -- records/`,
      "```"
    ].join("\n"),
    "What each of these proves, and what `restorable status` checks, is explained in Restorable's `docs/auditor-guide.md`."
  ].join("\n\n");
}
function readme(input, controls) {
  const { state, record } = input;
  const head = state.head;
  const systems = Object.keys(state.systems).sort();
  const listed = systems.slice(0, README_SYSTEMS);
  const repository = record.run.repository;
  const headSystems = record.systems.map((s) => s.name);
  const about = headSystems.length === 1 ? ` of ${headSystems[0]}` : headSystems.length > 1 ? ` of ${headSystems.length} systems` : "";
  return [
    `# Backup and DR evidence${repository ? `: ${cell(repository)}` : ""}`,
    NOTICE,
    "This branch holds a signed, hash-chained record of every `check`, `backup`, `drill` and `prune` run by Restorable. Records are only ever added: each is signed with the key below and carries the SHA-256 of the record before it, so an edit, a deletion or a reordering breaks a signature or a link.",
    table(
      ["", ""],
      [
        ["records", `${count(state.count)} (#0 to #${head.sequence})`],
        [
          "newest record",
          `${recordLink(head, 0)}: ${head.kind}${about}, ${outcome(head.outcome)}, ${when(head.time)}`
        ],
        ["newest record SHA-256", `\`${head.sha256}\``],
        ["signing key", `[\`${state.signingKey}\`](keys/${state.signingKey}.asc)`],
        ["index", "[state.json](state.json): the newest record per system, kind and control"]
      ]
    ),
    "## Control matrix",
    controlMatrix(state, controls),
    runtimeSection(controls),
    "## Systems",
    systems.length === 0 ? "No system has a record yet." : [
      `The newest runs of each system (\u2705 success, \u26A0\uFE0F partial, \u274C failure); its page has the timeline.${systems.length > listed.length ? ` The first ${listed.length} of ${count(systems.length)} systems; all are listed in [systems.md](systems.md).` : ""}`,
      table(SYSTEMS_HEADER, systemRows(state, listed, 0))
    ].join("\n\n"),
    verifySection(input),
    ""
  ].filter((part) => part !== "").join("\n\n").concat("\n");
}

// src/evidence/write.ts
async function writeEvidence(draft, options) {
  const signer = await signerFromEnv(options.env);
  if (!signer) {
    return {
      written: false,
      reason: `no evidence signing key (${SIGNING_ENV.key} or ${SIGNING_ENV.keyFile}) in the environment`
    };
  }
  const settings = evidenceSettings(options.root, options.config);
  const gitEnv = { ...options.env };
  for (const name of Object.values(SIGNING_ENV)) delete gitEnv[name];
  const result = await appendRecord(draft, {
    root: options.root,
    branch: settings.branch,
    signer,
    env: gitEnv,
    ...settings.fingerprint !== void 0 ? { fingerprint: settings.fingerprint } : {},
    ...options.remote !== void 0 ? { remote: options.remote } : {},
    ...options.log ? { log: options.log } : {},
    ...options.pages !== null ? { pages: options.pages ?? auditorPages({ root: options.root, config: options.config }) } : {}
  });
  return { written: true, ...result };
}

// src/commands/evidence.ts
var EXIT_EVIDENCE = 4;
var MAX_MESSAGE = 4096;
function hasSigningKey(env) {
  return Boolean(env[SIGNING_ENV.key] || env[SIGNING_ENV.keyFile]);
}
function isPullRequestEvent(env) {
  return /^pull_request/.test(env.GITHUB_EVENT_NAME ?? "");
}
var EvidenceRun = class {
  written = [];
  notWritten = [];
  /** Why nothing is written, when evidence is off for this run. */
  skipped;
  failure;
  options;
  constructor(options) {
    this.options = options;
    this.skipped = this.whyOff();
  }
  get enabled() {
    return this.skipped === void 0;
  }
  /** The failure that stopped the appends, if one did. */
  get error() {
    return this.failure;
  }
  whyOff() {
    const { options } = this;
    if (options.enabled === false) return "evidence turned off for this run";
    const config = loadConfig(options.root, options.config);
    const file = config.file ?? options.config ?? DEFAULT_CONFIG_PATH;
    const keyed = hasSigningKey(options.env);
    if (config.problems.length > 0) {
      const why = `evidence not written: ${file} has problems`;
      if (options.requested || keyed) options.warn(why);
      return why;
    }
    const evidence = config.data.evidence;
    if (evidence === void 0) {
      const why = `evidence not written: ${file} has no \`evidence\` section (the evidence branch and the pinned signing key)`;
      if (options.requested || keyed) options.warn(why);
      return why;
    }
    if (!keyed) {
      const why = `evidence not written: ${file} configures the evidence branch ${evidence.branch ?? DEFAULT_EVIDENCE_BRANCH}, but no signing key is in the environment (${options.keyHint ?? `set ${SIGNING_ENV.key} or ${SIGNING_ENV.keyFile}`})`;
      options.warn(why);
      return why;
    }
    if (evidence.signingKey === void 0) {
      options.warn(
        `evidence: ${file} pins no signing key (evidence.signingKey.fingerprint): records are written, but nothing ties them to your key until you pin its fingerprint`
      );
    }
    return void 0;
  }
  /**
   * Appends the record `label` names (`backup payments-db`), made by `draft` (whose own failures count as
   * the append's). Returns whether it was written.
   */
  async append(label, draft) {
    if (!this.enabled) return false;
    if (this.error !== void 0) {
      this.notWritten.push(label);
      return false;
    }
    const { options } = this;
    try {
      const result = await writeEvidence(await draft(), {
        root: options.root,
        env: options.env,
        log: options.log,
        ...options.config !== void 0 ? { config: options.config } : {},
        ...options.remote !== void 0 ? { remote: options.remote } : {}
      });
      if (!result.written) throw new Error(result.reason);
      const where = result.remote === null ? `branch ${result.branch}` : `${result.remote}/${result.branch}`;
      this.written.push({
        kind: result.record.kind,
        systems: result.record.systems.map((s) => s.name),
        file: result.file,
        sha256: result.sha256,
        commit: result.commit,
        branch: result.branch,
        remote: result.remote
      });
      options.log(`evidence: ${label}: appended ${result.file} to ${where} (sha256 ${result.sha256})`);
      return true;
    } catch (error) {
      this.failure = `evidence: the ${label} record was not written: ${error.message}`;
      this.notWritten.push(label);
      options.error(this.failure);
      return false;
    }
  }
  /** Appends the record of one system's backup; a system that was not due ran nothing and gets none. */
  async appendBackup(result) {
    if (result.status === "not-due") return;
    const { root, env } = this.options;
    await this.append(`backup ${result.system}`, () => backupDraft(root, result, env));
  }
  /** Appends the record of one system's drill; a drill that was not due ran nothing and gets none. */
  async appendDrill(result) {
    if (result.status === "not-due") return;
    const { root, env } = this.options;
    await this.append(`drill ${result.system}`, () => drillDraft(root, result, env));
  }
  /** Appends one record per system pruned in a repository; a dry run changed nothing and gets none. */
  async appendPrune(run) {
    if (run.result?.dryRun) return;
    const { root, env } = this.options;
    for (const system of run.systems) {
      await this.append(`prune ${system} (${run.name})`, () => pruneDraft(root, run, system, env));
    }
  }
  /** What to say when the run is done (`the prune is done`) but some of its records are not written. */
  incomplete(done) {
    return `${done}, but the evidence is incomplete (not written: ${this.notWritten.join(", ")})`;
  }
  summary() {
    const summary = { written: this.written };
    if (this.skipped !== void 0) summary.skipped = this.skipped;
    if (this.error !== void 0) {
      summary.error = this.error;
      summary.notWritten = this.notWritten;
    }
    return summary;
  }
};
function truncate(text) {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}\u2026`;
}
var OUTCOME = {
  ok: "success",
  partial: "partial",
  failed: "failure"
};
async function backupDraft(root, result, env) {
  if (result.status === "not-due") throw new Error(`${result.system} was not due: it has no backup record`);
  const first = result.repositories[0]?.summary;
  const sum = (key) => result.repositories.reduce((total, repository) => total + repository.summary[key], 0);
  const measurements = {
    snapshots: result.repositories.map((r) => ({ repository: r.name, id: r.snapshot })),
    durationMs: first?.durationMs ?? Math.max(0, Date.parse(result.finishedAt) - Date.parse(result.startedAt)),
    problems: result.problems.length
  };
  if (first) {
    Object.assign(measurements, {
      files: first.files,
      bytes: first.bytes,
      bytesRead: first.bytesRead,
      bytesAdded: sum("bytesAdded"),
      bytesStored: sum("bytesStored")
    });
  }
  const draft = {
    kind: "backup",
    outcome: OUTCOME[result.status],
    startedAt: result.startedAt,
    time: result.finishedAt,
    systems: [{ name: result.system, policy: result.policy }],
    policies: await policyEntries(root, [{ file: result.file, name: result.policy }], env),
    measurements
  };
  if (result.status === "failed") draft.message = truncate(result.message ?? "the backup failed");
  if (result.status === "partial") {
    const [problem] = result.problems;
    const more = result.problems.length > 1 ? ` (and ${result.problems.length - 1} more)` : "";
    draft.message = truncate(
      `${result.problems.length} path(s) left out of the snapshot: ${problem?.path}: ${problem?.message}${more}`
    );
  }
  return draft;
}
var MAX_STEP_OUTPUT = 1024;
async function drillDraft(root, result, env) {
  if (result.status === "not-due") throw new Error(`${result.system} was not due: it has no drill record`);
  const m = result.measurements;
  const measurements = {
    verified: m.verified,
    drillId: result.drillId,
    durationMs: Math.max(0, Date.parse(result.finishedAt) - Date.parse(result.startedAt)),
    restoreProblems: result.restoreProblems.length,
    integrityProblems: result.integrityProblems.length,
    steps: result.steps.map((step) => {
      const entry = { name: step.name, status: step.status };
      if (step.exitCode !== void 0) entry.exitCode = step.exitCode;
      if (step.durationMs !== void 0) entry.durationMs = step.durationMs;
      if (step.status === "failed" && step.output !== void 0) {
        entry.output = step.output.length <= MAX_STEP_OUTPUT ? step.output : `\u2026${step.output.slice(-MAX_STEP_OUTPUT)}`;
      }
      return entry;
    })
  };
  if (result.snapshot && result.repository !== void 0) {
    measurements.snapshots = [
      { repository: result.repository, id: result.snapshot.id, time: result.snapshot.time }
    ];
  }
  if (result.selection) measurements.selection = { ...result.selection };
  for (const key of [
    "restoreDurationMs",
    "restoreMs",
    "integrityMs",
    "files",
    "dirs",
    "symlinks",
    "bytes"
  ]) {
    if (m[key] !== void 0) measurements[key] = m[key];
  }
  if (m.timeoutSeconds !== void 0) measurements.timeoutSeconds = m.timeoutSeconds;
  if (m.rtoSeconds !== void 0 || m.restoreDurationMs !== void 0) {
    measurements.rto = {
      ...m.rtoSeconds !== void 0 ? { targetSeconds: m.rtoSeconds } : {},
      ...m.restoreDurationMs !== void 0 ? { achievedSeconds: m.restoreDurationMs / 1e3 } : {}
    };
  }
  if (m.snapshotAgeSeconds !== void 0) measurements.snapshotAgeSeconds = m.snapshotAgeSeconds;
  const draft = {
    kind: "drill",
    outcome: result.status === "passed" ? "success" : "failure",
    startedAt: result.startedAt,
    time: result.finishedAt,
    systems: [{ name: result.system, policy: result.policy }],
    policies: await policyEntries(root, [{ file: result.file, name: result.policy }], env),
    measurements
  };
  if (result.failures.length > 0) draft.message = truncate(result.failures.join("; "));
  return draft;
}
async function pruneDraft(root, run, system, env) {
  const policy = run.policies.find((p) => p.system === system);
  if (!policy) throw new Error(`${system} was not pruned in ${run.name}`);
  const draft = {
    kind: "prune",
    outcome: run.status === "ok" ? "success" : "failure",
    startedAt: run.startedAt,
    time: run.finishedAt,
    systems: [{ name: system, policy: policy.policy }],
    policies: await policyEntries(root, [{ file: policy.file, name: policy.policy }], env),
    measurements: {
      durationMs: Math.max(0, Date.parse(run.finishedAt) - Date.parse(run.startedAt))
    }
  };
  const result = run.result;
  const mine = result?.systems.find((s) => s.system === system);
  if (run.status === "failed" || !result || !mine) {
    draft.message = truncate(run.message ?? "the prune failed");
    return draft;
  }
  Object.assign(draft.measurements, {
    kept: mine.kept,
    deleted: mine.decisions.filter((d) => d.removed).map((d) => ({ repository: run.name, id: d.id, time: d.time })),
    disposals: mine.disposals,
    lockedSnapshots: mine.locked,
    // The repository's data is shared by its systems: these are for the whole repository.
    repository: run.name,
    repositoryBytesFreed: Math.max(0, result.bytesFreed),
    repositoryPacksDeleted: result.packsDeleted,
    repositoryPacksRepacked: result.packsRepacked,
    repositoryLockedObjects: result.locked.length
  });
  return draft;
}
async function checkDraft(root, report, env, now = /* @__PURE__ */ new Date()) {
  const names = new Map(report.systems.map((s) => [s.file, s.policy]));
  const controls = report.findings.map((finding) => {
    const entry = { id: finding.ruleId, status: finding.status, severity: finding.severity };
    if (finding.system !== void 0) entry.system = finding.system;
    if (finding.status === "fail") entry.message = truncate(finding.message);
    return entry;
  });
  const { counts } = report;
  const failing = counts.failed + counts.problems;
  const outcome2 = report.failed ? "failure" : failing > 0 ? "partial" : "success";
  const draft = {
    kind: "check",
    outcome: outcome2,
    startedAt: report.startedAt,
    time: now,
    systems: report.systems.map((s) => ({ name: s.system, policy: s.policy })),
    policies: await policyEntries(
      root,
      report.files.map((file) => {
        const name = names.get(file);
        return name === void 0 ? { file } : { file, name };
      }),
      env
    ),
    controls,
    measurements: {
      durationMs: report.durationMs,
      passed: counts.passed,
      failed: counts.failed,
      notApplicable: counts.notApplicable,
      problems: counts.problems
    }
  };
  if (failing > 0) {
    draft.message = `${counts.failed} failing control result(s) and ${counts.problems} problem(s) with the files; fail-on ${report.failOn}${report.failed ? "" : ": none at or above it"}`;
  }
  return draft;
}
async function appendCheckRecord(report, options) {
  if (isPullRequestEvent(options.env)) {
    options.warn(
      `evidence not written: check never writes evidence on ${options.env.GITHUB_EVENT_NAME} events (the change under review is untrusted); run it on push or schedule`
    );
    return void 0;
  }
  const run = new EvidenceRun({ ...options, requested: true });
  await run.append("check", () => checkDraft(options.root, report, options.env));
  return run;
}

export {
  formatBytes,
  formatSeconds,
  progressInterval,
  ProgressPrinter,
  EXIT_EVIDENCE,
  isPullRequestEvent,
  EvidenceRun,
  appendCheckRecord
};
