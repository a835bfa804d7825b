import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  SEVERITIES
} from "./chunk-64LPOJGB.js";
import {
  loadPolicies
} from "./chunk-Q4V2YTJC.js";
import {
  parseDuration
} from "./chunk-TKDTUBCU.js";

// src/report/changes.ts
function readTerms(root, report) {
  const out = /* @__PURE__ */ new Map();
  loadPolicies(root, report.files, (policy, valid) => {
    if (!valid) return;
    policy.data.systems.forEach((system, s) => {
      const at = (path) => policy.document.locate(["systems", s, ...path]);
      out.set(systemKey(policy.data.metadata.name, system.name), {
        policy: policy.data.metadata.name,
        system: system.name,
        terms: systemTerms(system, at),
        repositories: new Set(system.repositories),
        repositoriesLocation: at(["repositories"]),
        nameLocation: at(["name"])
      });
    });
  });
  return out;
}
var KEEP = ["last", "hourly", "daily", "weekly", "monthly", "yearly"];
function systemTerms(system, at) {
  const terms = /* @__PURE__ */ new Map();
  const atMost = (name, path, text) => {
    const seconds = text === void 0 ? void 0 : parseDuration(text);
    if (seconds !== void 0) terms.set(name, { text, looseness: seconds, location: at(path) });
  };
  const atLeast = (name, path, value, text) => {
    if (value !== void 0) terms.set(name, { text, looseness: -value, location: at(path) });
  };
  atMost("rpo", ["rpo"], system.rpo);
  atMost("rto", ["rto"], system.rto);
  const retention = system.retention;
  if (retention) {
    const minimum = retention.minimum === void 0 ? void 0 : parseDuration(retention.minimum);
    atLeast("retention.minimum", ["retention", "minimum"], minimum, retention.minimum ?? "");
    atMost("retention.maximum", ["retention", "maximum"], retention.maximum);
    const within = retention.keep?.within;
    const withinSeconds = within === void 0 ? void 0 : parseDuration(within);
    atLeast("retention.keep.within", ["retention", "keep", "within"], withinSeconds, within ?? "");
    for (const rule of KEEP) {
      const count = retention.keep?.[rule];
      atLeast(`retention.keep.${rule}`, ["retention", "keep", rule], count, String(count));
    }
  }
  if (system.drill) terms.set("drill", { text: "declared", looseness: 0, location: at(["drill"]) });
  return terms;
}
function systemKey(policy, system) {
  return `${policy}\0${system}`;
}
function findingKey(f) {
  return f.kind === "control" ? `c\0${f.ruleId}\0${f.policy ?? ""}\0${f.system ?? ""}` : `p\0${f.ruleId}\0${f.location.file}\0${f.message}`;
}
function byKey(findings) {
  const out = /* @__PURE__ */ new Map();
  for (const f of findings) {
    const k = findingKey(f);
    const held = out.get(k);
    if (!held || rank(f) < rank(held)) out.set(k, f);
  }
  return out;
}
function rank(f) {
  return f.status === "fail" ? SEVERITIES.indexOf(f.severity) : SEVERITIES.length + (f.status === "pass" ? 0 : 1);
}
function compareChecks(input) {
  const { base, head } = input;
  const before = byKey(base.report.findings);
  const after = byKey(head.report.findings);
  const baseSystems = new Set(base.report.systems.map((s) => systemKey(s.policy, s.system)));
  const headSystems = new Set(head.report.systems.map((s) => systemKey(s.policy, s.system)));
  const baseFiles = new Set(base.report.files);
  const newFailures = [];
  const fixed = [];
  let stillFailing = 0;
  for (const [key, now] of after) {
    if (now.status !== "fail") continue;
    const was = before.get(key);
    if (was?.status === "fail") {
      stillFailing++;
      continue;
    }
    const onBase = now.kind === "problem" ? baseFiles.has(now.location.file) : now.system === void 0 ? base.report.systems.some((s) => s.policy === now.policy) : baseSystems.has(systemKey(now.policy ?? "", now.system));
    newFailures.push({ finding: now, onBase });
  }
  for (const [key, was] of before) {
    if (was.status !== "fail") continue;
    const now = after.get(key);
    if (was.kind === "problem" && now === void 0 || now !== void 0 && now.status !== "fail") {
      fixed.push({ finding: was, onBase: true });
    }
  }
  const loosened = [];
  const tightened = [];
  for (const [key, now] of head.terms) {
    const was = base.terms.get(key);
    if (!was) continue;
    const names = /* @__PURE__ */ new Set([...was.terms.keys(), ...now.terms.keys()]);
    for (const term of names) {
      const a = was.terms.get(term);
      const b = now.terms.get(term);
      const change = (list) => list.push({
        policy: now.policy,
        system: now.system,
        term,
        before: a?.text ?? "none",
        after: b?.text ?? "none",
        location: b?.location ?? now.nameLocation
      });
      if (a && b) {
        if (b.looseness > a.looseness) change(loosened);
        else if (b.looseness < a.looseness) change(tightened);
      } else if (a) {
        change(loosened);
      } else if (b) {
        change(tightened);
      }
    }
    const removed = [...was.repositories].filter((r) => !now.repositories.has(r));
    const added = [...now.repositories].filter((r) => !was.repositories.has(r));
    const repositoriesChange = (list) => list.push({
      policy: now.policy,
      system: now.system,
      term: "repositories",
      before: [...was.repositories].join(", "),
      after: [...now.repositories].join(", "),
      location: now.repositoriesLocation
    });
    if (removed.length > 0 && now.repositories.size < was.repositories.size) repositoriesChange(loosened);
    else if (added.length > 0 && now.repositories.size > was.repositories.size) repositoriesChange(tightened);
  }
  const sortFindings = (list) => list.sort(
    (x, y) => SEVERITIES.indexOf(x.finding.severity) - SEVERITIES.indexOf(y.finding.severity) || x.finding.ruleId.localeCompare(y.finding.ruleId) || (x.finding.policy ?? "").localeCompare(y.finding.policy ?? "") || (x.finding.system ?? "").localeCompare(y.finding.system ?? "")
  );
  return {
    base: { revision: base.revision, commit: base.commit },
    newFailures: sortFindings(newFailures),
    fixed: sortFindings(fixed),
    stillFailing,
    systemsAdded: head.report.systems.filter((s) => !baseSystems.has(systemKey(s.policy, s.system))),
    systemsRemoved: base.report.systems.filter((s) => !headSystems.has(systemKey(s.policy, s.system))).map((s) => ({ ...s })),
    loosened,
    tightened
  };
}
function hasChanges(changes) {
  return changes.newFailures.length > 0 || changes.fixed.length > 0 || changes.systemsAdded.length > 0 || changes.systemsRemoved.length > 0 || changes.loosened.length > 0 || changes.tightened.length > 0;
}

export {
  readTerms,
  compareChecks,
  hasChanges
};
