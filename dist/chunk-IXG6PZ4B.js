import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  OPERATOR_WORDS,
  evaluate,
  factValue,
  fails,
  fillTemplate,
  loadProfile,
  repositoryProbe,
  showFact,
  systemFacts
} from "./chunk-64LPOJGB.js";
import {
  discoverPolicyFiles,
  loadPolicies
} from "./chunk-Q4V2YTJC.js";
import {
  EvidenceError,
  STATE_FILE,
  checkBranchName,
  evidenceSettings,
  isShallow,
  parseState,
  remoteUrl,
  withCredentials
} from "./chunk-2X7ZTPOP.js";
import {
  Git
} from "./chunk-FR2T7L4U.js";
import {
  formatDuration,
  formatRange
} from "./chunk-TKDTUBCU.js";

// src/evidence/status.ts
async function evidenceStatus(options) {
  const env = options.env ?? process.env;
  const now = options.now ?? /* @__PURE__ */ new Date();
  const settings = evidenceSettings(options.root, options.config);
  const branch = checkBranchName(options.branch ?? settings.branch);
  const { config, library, profile } = loadProfile(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths ?? [], config.data.policies);
  const problems = [
    ...config.problems,
    ...library.problems,
    ...profile.problems,
    ...discovered.problems
  ];
  const systems = [];
  const probe = repositoryProbe(options.root);
  problems.push(
    ...loadPolicies(options.root, discovered.files, (policy, valid) => {
      if (!valid) return;
      policy.data.systems.forEach((system, index) => {
        systems.push({
          name: system.name,
          policy: policy.data.metadata.name,
          file: policy.file,
          scope: systemFacts(policy.data, index, probe)
        });
      });
    })
  );
  if (discovered.files.length === 0 && discovered.problems.length === 0) {
    problems.push({
      ruleId: "policy/none-found",
      message: "no policy files found",
      remediation: "Add a policy under .restorable/ or give the paths to check.",
      location: { file: ".", line: 1, column: 1, endLine: 1, endColumn: 1 }
    });
  }
  const read = await readState(options.root, branch, options.remote, env);
  const failOn = options.failOn ?? config.data.failOn ?? "low";
  const allowMissing = options.allowMissing ?? false;
  const runtime = profile.controls.filter((c) => c.data.check.runtime !== void 0);
  const results = evaluateRuntime(read.state, systems, runtime, now, { failOn, allowMissing });
  const counts = {
    systems: systems.length,
    controls: runtime.length,
    pass: 0,
    fail: 0,
    noEvidence: 0,
    notApplicable: 0,
    problems: problems.length
  };
  for (const r of results) {
    if (r.status === "pass") counts.pass++;
    else if (r.status === "fail") counts.fail++;
    else if (r.status === "no-evidence") counts.noEvidence++;
    else counts.notApplicable++;
  }
  const report = {
    branch,
    revision: read.revision,
    remote: read.remote,
    evidence: read.state !== void 0,
    evaluatedAt: now.toISOString(),
    results,
    problems: problems.map((p) => `${formatRange(p.location)}: ${p.message}`),
    counts,
    failOn,
    allowMissing,
    failed: problems.length > 0 || results.some((r) => r.failing)
  };
  if (read.tip !== void 0) report.tip = read.tip;
  if (read.notice !== void 0) report.notice = read.notice;
  if (read.state) {
    const { head } = read.state;
    report.records = read.state.count;
    report.head = { sequence: head.sequence, file: head.file, time: head.time, sha256: head.sha256 };
  }
  return report;
}
async function readState(root, branch, remote, env) {
  let git = new Git(root, env);
  const repository = await git.run(["rev-parse", "--git-dir"], { ok: [0, 128] });
  if (repository.code !== 0) throw new EvidenceError(`${root} is not a git repository`);
  let name = null;
  if (remote !== null) {
    const wanted = remote ?? "origin";
    const url = await remoteUrl(git, wanted);
    if (url === void 0 && remote !== void 0) {
      throw new EvidenceError(`${root} has no remote "${wanted}" to read the evidence branch from`);
    }
    if (url !== void 0) {
      name = wanted;
      git = await withCredentials(git, url, env);
    }
  }
  const local = `refs/heads/${branch}`;
  if (name !== null) {
    const revision = `refs/remotes/${name}/${branch}`;
    const fetched = await git.run(
      [
        "fetch",
        "--quiet",
        "--no-tags",
        // state.json is all that is read: in a shallow clone (actions/checkout's default), the tip is enough.
        ...await isShallow(git) ? ["--depth=1"] : [],
        "--",
        name,
        `+${local}:${revision}`
      ],
      { ok: [0, 1, 128] }
    );
    if (fetched.code !== 0) {
      if (/couldn't find remote ref/i.test(fetched.stderr)) {
        return {
          revision,
          remote: name,
          notice: `${name} has no evidence branch ${branch} yet: no backup, drill or prune has written evidence. Runs write it when the profile has an \`evidence\` section and a signing key is in the environment (RESTORABLE_EVIDENCE_KEY).`
        };
      }
      throw new EvidenceError(
        `cannot fetch ${branch} from ${name}: ${fetched.stderr.trim() || `git fetch exited with ${fetched.code}`}`
      );
    }
    return readAt(git, revision, name, branch);
  }
  return readAt(git, local, null, branch);
}
async function readAt(git, revision, remote, branch) {
  const names = [`${revision}^{commit}`, `${revision}:${STATE_FILE}`];
  const objects = await git.catObjects(names);
  const tip = objects.get(names[0])?.id;
  if (tip === void 0) {
    return {
      revision,
      remote,
      notice: `there is no evidence branch ${branch} in ${git.cwd} yet: no backup, drill or prune has written evidence. Runs write it when the profile has an \`evidence\` section and a signing key is in the environment (RESTORABLE_EVIDENCE_KEY).`
    };
  }
  const blob = objects.get(names[1]);
  const state = blob?.type === "blob" ? parseState(blob.content) : void 0;
  if (!state) {
    throw new EvidenceError(
      `${revision} (at ${tip.slice(0, 12)}) has ${blob ? "a state.json this version cannot read" : "no state.json"}; the next append rebuilds it from the records (run \`restorable evidence verify\` to check them)`
    );
  }
  return { state, revision, remote, tip };
}
var DURATION_MEASURES = /* @__PURE__ */ new Set(["snapshotAge", "drillAge", "restoreDuration"]);
function evaluateRuntime(state, systems, controls, now, options = {}) {
  const failOn = options.failOn ?? "low";
  const results = [];
  for (const system of systems) {
    for (const control of controls) {
      const check = control.data.check.runtime;
      if (!check) continue;
      const evidence = check.evidence;
      const base = {
        system: system.name,
        policy: system.policy,
        file: system.file,
        control: control.data.id,
        title: control.data.title,
        severity: control.severity,
        evidence,
        measure: check.measure
      };
      if (check.when && !evaluate(check.when, system.scope, control).ok) {
        results.push({
          ...base,
          status: "not-applicable",
          message: "does not apply to this system",
          failing: false
        });
        continue;
      }
      const kind = state?.systems[system.name]?.[evidence];
      const measured = measure(check.measure, kind, now, evidence);
      if (measured.value === void 0) {
        const result2 = {
          ...base,
          status: measured.status,
          message: measured.why,
          remediation: fillTemplate(control.data.remediation, void 0, system.scope, control),
          failing: measured.status === "fail" || !options.allowMissing ? fails(control.severity, failOn) : false
        };
        const limit = limitOf(check.require, system.scope, control);
        if (limit) Object.assign(result2, limit);
        if (measured.ref) result2.record = measured.ref;
        results.push(result2);
        continue;
      }
      const scope = {
        ...system.scope,
        values: { ...system.scope.values, measured: measured.value }
      };
      const outcome = evaluate(check.require, scope, control);
      const value = show(check.measure, measured.value);
      const result = {
        ...base,
        status: outcome.ok ? "pass" : "fail",
        measured: measured.value,
        value,
        message: "",
        failing: !outcome.ok && fails(control.severity, failOn)
      };
      if (measured.ref) result.record = measured.ref;
      if (outcome.ok) {
        const limit = limitOf(check.require, scope, control);
        if (limit) Object.assign(result, limit);
        result.message = `${check.measure} is ${value}${limit ? `, ${limit.expected}` : ""}`;
      } else {
        const failure = outcome.failure;
        result.limit = failure.limit;
        result.expected = failure.expected;
        result.message = fillTemplate(check.message, failure, scope, control) ?? failure.text;
        const remediation = fillTemplate(control.data.remediation, failure, scope, control);
        if (remediation !== void 0) result.remediation = remediation;
      }
      results.push(result);
    }
  }
  return results;
}
var describe = (ref) => `#${ref.sequence} of ${ref.time}, ${ref.outcome}`;
function measure(name, kind, now, evidence = name === "snapshotAge" || name === "backupSucceeded" ? "backup" : "drill") {
  if (!kind)
    return { status: "no-evidence", why: `the evidence branch holds no ${evidence} record of this system` };
  const last = kind.last;
  const age = (time) => Math.max(0, Math.floor((now.getTime() - Date.parse(time)) / 1e3));
  switch (name) {
    case "snapshotAge":
    case "drillAge": {
      const ref = kind.lastSuccess;
      if (!ref) {
        return {
          status: "fail",
          why: `no ${evidence} of this system has succeeded: the newest (${describe(last)}) and every one before it did not`,
          ref: last
        };
      }
      const time = name === "snapshotAge" ? ref.snapshotTime ?? ref.time : ref.time;
      return { value: age(time), ref };
    }
    case "restoreDuration":
      if (last.restoreDurationMs === void 0) {
        return {
          status: "no-evidence",
          why: `the newest ${evidence} (${describe(last)}) recorded no restore time (measurements.restoreDurationMs)`,
          ref: last
        };
      }
      return { value: Math.round(last.restoreDurationMs / 1e3), ref: last };
    case "restoredComplete":
      return { value: last.verified === true, ref: last };
    case "drillPassed":
    case "backupSucceeded":
      return { value: last.outcome === "success", ref: last };
    default:
      return {
        status: "no-evidence",
        why: `this version of restorable does not know the measure ${name}`,
        ref: last
      };
  }
}
function show(measureName, value) {
  if (!DURATION_MEASURES.has(measureName) || typeof value !== "number") return String(value);
  return formatDuration(value < 3600 ? value : Math.ceil(value / 60) * 60);
}
function limitOf(predicate, scope, control) {
  const comparison = firstComparison(predicate);
  if (!comparison) return void 0;
  const op = Object.keys(OPERATOR_WORDS).find((o) => o in comparison);
  if (!op) return void 0;
  const operand = comparison[op];
  let limit;
  if (typeof operand === "object" && operand !== null && "param" in operand) {
    limit = control.paramText[String(operand.param)] ?? "not set";
  } else if (typeof operand === "object" && operand !== null && "fact" in operand) {
    const fact = String(operand.fact);
    limit = showFact(fact, factValue(scope, fact));
  } else if (Array.isArray(operand)) {
    limit = operand.map(String).join(", ");
  } else {
    limit = String(operand);
  }
  return { limit, expected: `${OPERATOR_WORDS[op]} ${limit}` };
}
function firstComparison(predicate) {
  if ("all" in predicate) return predicate.all.map(firstComparison).find(Boolean);
  if ("any" in predicate) return predicate.any.map(firstComparison).find(Boolean);
  if ("not" in predicate || "each" in predicate) return void 0;
  return predicate.fact === "measured" ? predicate : void 0;
}
var LABEL = {
  pass: "pass",
  fail: "FAIL",
  "no-evidence": "NO EVIDENCE",
  "not-applicable": "n/a"
};
function renderStatus(report) {
  const lines = [];
  const where = report.tip ? `${report.revision} at ${report.tip.slice(0, 12)}` : `${report.revision}`;
  if (report.evidence && report.head) {
    lines.push(
      `evidence: ${where}, ${report.records} record${report.records === 1 ? "" : "s"}, newest #${report.head.sequence} of ${report.head.time}; evaluated at ${report.evaluatedAt}`
    );
  } else {
    lines.push(`evidence: ${report.notice ?? `none in ${where}`}`);
  }
  for (const problem of report.problems) lines.push(`problem: ${problem}`);
  lines.push("");
  if (report.results.length === 0) {
    lines.push(
      report.counts.controls === 0 ? "No run-time control is selected by the profile: nothing to evaluate." : "No system to evaluate."
    );
  } else {
    const header = ["SYSTEM", "CONTROL", "MEASURE", "VALUE", "REQUIRED", "STATUS", "RECORD"];
    const rows = report.results.map((r) => [
      r.system,
      r.control,
      r.measure,
      r.value ?? "-",
      r.expected ?? "-",
      LABEL[r.status],
      r.record ? `#${r.record.sequence} ${r.record.time.slice(0, 16).replace("T", " ")}` : "-"
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
    const line = (row) => row.map((c2, i) => i === row.length - 1 ? c2 : c2.padEnd(widths[i])).join("  ").trimEnd();
    lines.push(line(header));
    let previous = "";
    for (const [i, row] of rows.entries()) {
      if (previous !== "" && report.results[i].system !== previous) lines.push("");
      previous = report.results[i].system;
      lines.push(line(row));
    }
  }
  const bad = report.results.filter(
    (r) => r.status === "fail" || r.status === "no-evidence" && report.evidence
  );
  if (bad.length > 0) lines.push("");
  for (const r of bad) {
    const what = r.status === "fail" ? `${r.measure} ${r.value ?? "not measured"}${r.limit !== void 0 ? `, limit ${r.limit}` : ""}` : "no evidence";
    lines.push(
      `${LABEL[r.status]} ${r.system} ${r.control} (${r.severity}, ${r.title}; ${what}): ${r.message}${r.record ? ` [${r.record.file}]` : ""}`
    );
    if (r.remediation) lines.push(`  remediation: ${r.remediation}`);
  }
  const c = report.counts;
  lines.push("");
  lines.push(
    `${c.systems} system${c.systems === 1 ? "" : "s"} \xD7 ${c.controls} run-time control${c.controls === 1 ? "" : "s"}: ${c.pass} pass, ${c.fail} fail, ${c.noEvidence} without evidence, ${c.notApplicable} not applicable${c.problems ? `; ${c.problems} problem${c.problems === 1 ? "" : "s"} with files` : ""}${report.failed ? ` (fails at ${report.failOn}${report.allowMissing ? "" : ", missing evidence included"})` : ""}`
  );
  return `${lines.join("\n")}
`;
}

export {
  evidenceStatus,
  readState,
  renderStatus
};
