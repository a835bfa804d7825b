import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  discoverPolicyFiles,
  loadPolicies
} from "./chunk-Q4V2YTJC.js";
import {
  BUILTIN_CONTROLS_DIR,
  DEFAULT_CONTROLS_PATH,
  VERSION,
  cronMaxIntervalSeconds,
  fileStart,
  formatDuration,
  loadConfig,
  outsideProblem,
  outsideRoot,
  parseCron,
  parseDuration,
  parseYamlFile,
  validateDocument,
  validator
} from "./chunk-TKDTUBCU.js";

// src/commands/check.ts
import { closeSync, existsSync, openSync, readSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join as join2, relative } from "node:path";

// src/controls/facts.ts
function factValue(scope, name) {
  for (let s = scope; s; s = s.parent) {
    if (name in s.values) return s.values[name];
  }
  return void 0;
}
function factPath(scope, name) {
  for (let s = scope; s; s = s.parent) {
    if (name in s.values) return s.at[name] ?? s.self;
  }
  return scope.self;
}
var SYSTEM_FACTS = [
  { name: "policy.name", type: "string", description: "The policy's `metadata.name`." },
  { name: "system.name", type: "string", description: "The system's name." },
  { name: "source.kind", type: "string", description: "`command` or `paths`." },
  { name: "classification", type: "string", description: "The system's classification, else the policy's." },
  { name: "owner", type: "string", description: "The system's owner, else the policy's." },
  {
    name: "owner.valid",
    type: "boolean",
    description: "The owner is a GitHub team or user (`@org/team`, `@login`) or an e-mail address."
  },
  { name: "runbook", type: "string", description: "The system's runbook, else the policy's." },
  {
    name: "runbook.status",
    type: "string",
    description: "`file` (a path that exists in the repository), `url` (an https:// URL), `missing-file`, `outside-repository` (absolute or `..`), `insecure-url` (http://)."
  },
  { name: "schedule", type: "string", description: "The backup schedule (cron)." },
  { name: "schedule.interval", type: "duration", description: "Longest gap between two scheduled backups." },
  { name: "rpo", type: "duration", description: "Recovery point objective." },
  { name: "rto", type: "duration", description: "Recovery time objective." },
  { name: "retention.minimum", type: "duration", description: "Minimum retention." },
  { name: "retention.maximum", type: "duration", description: "Maximum retention (disposal)." },
  { name: "retention.keepRules", type: "number", description: "How many keep rules are set." },
  {
    name: "encryption",
    type: "boolean",
    description: "Encryption is configured with at least one recipient or a passphrase."
  },
  {
    name: "encryption.cipher",
    type: "string",
    description: "Content cipher (`aes-256-gcm`, the default, when encryption is configured)."
  },
  { name: "encryption.recipients", type: "number", description: "Number of OpenPGP recipients." },
  {
    name: "encryption.passphrase",
    type: "string",
    description: "`env` (from an environment variable), `literal` (written in the policy) or `none`."
  },
  {
    name: "encryption.keyPathsInRepository",
    type: "boolean",
    description: "Every recipient key path is relative and stays inside the repository (no `..`, not absolute)."
  },
  {
    name: "encryption.recipientKeys",
    type: "string",
    description: "What the recipient key files hold, the worst first: `private-key`, `missing-file`, `not-a-public-key`, `public-keys` (all are OpenPGP public keys), or `none` (no recipients). Only files inside the repository are read, and only their first bytes."
  },
  {
    name: "repositories",
    type: "list",
    description: "The system's repositories; each has the `repository.*` facts."
  },
  { name: "repositories.count", type: "number", description: "How many repositories receive each snapshot." },
  {
    name: "repositories.locations",
    type: "number",
    description: "How many distinct locations (provider endpoint and region) they are in."
  },
  {
    name: "offsite",
    type: "boolean",
    description: "At least two repositories are in different locations (another region or provider)."
  },
  { name: "drill", type: "boolean", description: "A drill is declared." },
  { name: "drill.schedule", type: "string", description: "The drill schedule (cron)." },
  { name: "drill.interval", type: "duration", description: "Longest gap between two scheduled drills." },
  { name: "drill.timeout", type: "duration", description: "The drill's timeout; the RTO when none is set." },
  {
    name: "drill.verifySteps",
    type: "number",
    description: "How many verify commands the drill runs after restoring."
  },
  { name: "drill.select", type: "string", description: "`latest` or `random-within`." }
];
var REPOSITORY_FACTS = [
  { name: "name", type: "string", description: "Repository name." },
  { name: "kind", type: "string", description: "`s3` or `local`." },
  { name: "region", type: "string", description: "S3 region." },
  { name: "endpoint", type: "string", description: "S3 endpoint URL, when not AWS's default." },
  {
    name: "tls",
    type: "boolean",
    description: "Traffic to the repository uses TLS (AWS's default endpoint, or an https:// endpoint)."
  },
  {
    name: "location",
    type: "string",
    description: "Provider endpoint and region, for telling offsite copies apart."
  },
  { name: "objectLock", type: "boolean", description: "S3 Object Lock is configured." },
  { name: "objectLock.mode", type: "string", description: "`governance` or `compliance`." },
  { name: "objectLock.retention", type: "duration", description: "Object Lock retention period." }
];
var RUNTIME_FACTS = [
  {
    name: "measured",
    type: "duration",
    description: "The measured value from the newest evidence record: a duration for snapshotAge, drillAge and restoreDuration; true or false for drillPassed, restoredComplete and backupSucceeded."
  }
];
var DAY = 86400;
function systemFacts(policy, systemIndex, probe) {
  const system = policy.systems[systemIndex];
  const base = ["systems", systemIndex];
  const sys = (...rest) => [...base, ...rest];
  const values = {};
  const at = {};
  const set = (name, value, path) => {
    values[name] = value;
    at[name] = path;
  };
  set("policy.name", policy.metadata.name, ["metadata", "name"]);
  set("system.name", system.name, sys("name"));
  set("source.kind", system.source.command ? "command" : "paths", sys("source"));
  const inherited = (key) => system[key] !== void 0 ? [system[key], sys(key)] : [policy.metadata[key], policy.metadata[key] ? ["metadata", key] : base];
  const [classification, classificationAt] = inherited("classification");
  set("classification", classification, classificationAt);
  const [owner, ownerAt] = inherited("owner");
  set("owner", owner, ownerAt);
  set("owner.valid", owner === void 0 ? void 0 : isValidOwner(owner), ownerAt);
  const [runbook, runbookAt] = inherited("runbook");
  set("runbook", runbook, runbookAt);
  set("runbook.status", runbook === void 0 ? void 0 : runbookStatus(runbook, probe), runbookAt);
  set("schedule", system.schedule, sys("schedule"));
  set("schedule.interval", intervalOf(system.schedule), sys("schedule"));
  set("rpo", parseDuration(system.rpo ?? ""), sys("rpo"));
  set("rto", parseDuration(system.rto ?? ""), sys("rto"));
  const retention = system.retention;
  set("retention.minimum", parseDuration(retention?.minimum ?? ""), sys("retention", "minimum"));
  set("retention.maximum", parseDuration(retention?.maximum ?? ""), sys("retention", "maximum"));
  set("retention.keepRules", Object.keys(retention?.keep ?? {}).length, sys("retention", "keep"));
  const encryption = system.encryption;
  const recipients = encryption?.recipients ?? [];
  const passphrase = encryption?.passphrase;
  const passphraseKind = passphrase === void 0 ? "none" : typeof passphrase === "string" ? "literal" : "env";
  set(
    "encryption",
    encryption !== void 0 && (recipients.length > 0 || passphrase !== void 0),
    sys("encryption")
  );
  set(
    "encryption.cipher",
    encryption ? encryption.cipher ?? "aes-256-gcm" : void 0,
    sys("encryption", "cipher")
  );
  set("encryption.recipients", recipients.length, sys("encryption", "recipients"));
  set("encryption.passphrase", passphraseKind, sys("encryption", "passphrase"));
  const badKey = recipients.findIndex((p) => !staysInside(p));
  set(
    "encryption.keyPathsInRepository",
    badKey === -1,
    badKey === -1 ? sys("encryption", "recipients") : sys("encryption", "recipients", badKey)
  );
  const [keyStatus, keyIndex] = recipientKeys(recipients, probe);
  set(
    "encryption.recipientKeys",
    keyStatus,
    keyIndex === -1 ? sys("encryption", "recipients") : sys("encryption", "recipients", keyIndex)
  );
  const repositories = system.repositories.map(
    (name, i) => repositoryFacts(name, policy.repositories?.[name], sys("repositories", i))
  );
  const locations = new Set(repositories.map((r) => r.values.location).filter((l) => l !== void 0));
  set("repositories.count", repositories.length, sys("repositories"));
  set("repositories.locations", locations.size, sys("repositories"));
  set("offsite", locations.size >= 2, sys("repositories"));
  const drill = system.drill;
  set("drill", drill !== void 0, sys("drill"));
  set("drill.schedule", drill?.schedule, sys("drill", "schedule"));
  set("drill.interval", intervalOf(drill?.schedule), sys("drill", "schedule"));
  set(
    "drill.timeout",
    drill ? parseDuration(drill.timeout ?? "") ?? values.rto : void 0,
    drill?.timeout ? sys("drill", "timeout") : sys("drill")
  );
  set("drill.verifySteps", drill?.verify?.length ?? 0, sys("drill", "verify"));
  set("drill.select", drill ? drill.select?.algorithm ?? "latest" : void 0, sys("drill", "select"));
  const scope = { values, at, lists: { repositories }, self: base };
  for (const repository of repositories) repository.parent = scope;
  return scope;
}
function repositoryFacts(name, repo, reference) {
  const values = { name };
  const at = {};
  const node = ["repositories", name];
  const s3 = repo?.s3;
  if (s3) {
    const lock = s3.objectLock;
    Object.assign(values, {
      kind: "s3",
      region: s3.region,
      endpoint: s3.endpoint,
      tls: s3.endpoint === void 0 || s3.endpoint.toLowerCase().startsWith("https://"),
      location: locationOf(s3.endpoint, s3.region),
      objectLock: lock !== void 0,
      "objectLock.mode": lock?.mode,
      "objectLock.retention": lock ? (lock.days ?? 0) * DAY + (lock.years ?? 0) * 365 * DAY : void 0
    });
    Object.assign(at, {
      region: [...node, "s3", "region"],
      endpoint: [...node, "s3", "endpoint"],
      tls: [...node, "s3", "endpoint"],
      location: [...node, "s3"],
      objectLock: [...node, "s3", "objectLock"],
      "objectLock.mode": [...node, "s3", "objectLock", "mode"],
      "objectLock.retention": [...node, "s3", "objectLock"]
    });
  } else if (repo?.local) {
    Object.assign(values, { kind: "local", tls: true, location: "local", objectLock: false });
    Object.assign(at, { objectLock: [...node, "local"] });
  }
  return { values, at, lists: {}, self: repo ? node : reference };
}
function intervalOf(schedule) {
  if (schedule === void 0) return void 0;
  const parsed = parseCron(schedule);
  return parsed.ok ? cronMaxIntervalSeconds(parsed.cron) : void 0;
}
function locationOf(endpoint, region) {
  let host = "aws";
  if (endpoint !== void 0) {
    try {
      host = new URL(endpoint).hostname.toLowerCase();
    } catch {
      host = endpoint.toLowerCase();
    }
  }
  const aws = host === "aws" || host.endsWith(".amazonaws.com") || host === "amazonaws.com";
  if (aws) {
    const fromHost = /(?:^|[.-])s3[.-](?:dualstack\.|fips\.)*([a-z]{2}(?:-gov)?-[a-z]+-\d)\./.exec(host)?.[1];
    const known = region ?? fromHost;
    return known === void 0 ? void 0 : `aws:${known}`;
  }
  return `${host}:${region ?? ""}`;
}
function isValidOwner(owner) {
  return /^@[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\/[A-Za-z0-9._-]{1,100})?$/.test(owner) || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(owner);
}
function staysInside(path) {
  if (path.startsWith("/") || path.startsWith("~") || /^[A-Za-z]:/.test(path) || path.includes("\\"))
    return false;
  return !path.split("/").some((part) => part === "..");
}
var KEY_STATUS_ORDER = ["private-key", "missing-file", "not-a-public-key", "public-keys"];
function recipientKeys(paths, probe) {
  if (paths.length === 0) return ["none", -1];
  let worst = KEY_STATUS_ORDER.length - 1;
  let at = -1;
  paths.forEach((path, index) => {
    if (!staysInside(path)) return;
    const rank = KEY_STATUS_ORDER.indexOf(keyFileStatus(probe.readHead(path, 64)));
    if (rank < worst) {
      worst = rank;
      at = index;
    }
  });
  return [KEY_STATUS_ORDER[worst], at];
}
function keyFileStatus(head) {
  if (head === void 0) return "missing-file";
  const text = new TextDecoder("latin1").decode(head).trimStart();
  if (text.startsWith("-----BEGIN PGP PRIVATE KEY BLOCK-----")) return "private-key";
  if (text.startsWith("-----BEGIN PGP PUBLIC KEY BLOCK-----")) return "public-keys";
  const first = head[0];
  if (first === void 0 || (first & 128) === 0) return "not-a-public-key";
  const tag = first & 64 ? first & 63 : first >> 2 & 15;
  if (tag === 5 || tag === 7) return "private-key";
  return tag === 6 ? "public-keys" : "not-a-public-key";
}
function runbookStatus(runbook, probe) {
  if (/^https:\/\//i.test(runbook)) return "url";
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(runbook)) return "insecure-url";
  if (!staysInside(runbook)) return "outside-repository";
  return probe.fileExists(runbook.replace(/#.*$/, "")) ? "file" : "missing-file";
}

// src/controls/predicate.ts
var FACT_TYPES = new Map(
  [...SYSTEM_FACTS, ...REPOSITORY_FACTS, ...RUNTIME_FACTS].map((f) => [f.name, f.type])
);
var OPERATORS = [
  "exists",
  "equals",
  "notEquals",
  "in",
  "gte",
  "gt",
  "lte",
  "lt",
  "matches"
];
var OPERATOR_WORDS = {
  exists: "set",
  equals: "equal to",
  notEquals: "other than",
  in: "one of",
  gte: "at least",
  gt: "more than",
  lte: "at most",
  lt: "less than",
  matches: "matching"
};
var SUCCESS = { ok: true };
function evaluate(predicate, scope, control) {
  if ("all" in predicate) {
    for (const p of predicate.all) {
      const outcome = evaluate(p, scope, control);
      if (!outcome.ok) return outcome;
    }
    return SUCCESS;
  }
  if ("any" in predicate) {
    let first;
    for (const p of predicate.any) {
      const outcome = evaluate(p, scope, control);
      if (outcome.ok) return outcome;
      first ??= outcome;
    }
    return first;
  }
  if ("not" in predicate) {
    const inner = evaluate(predicate.not, scope, control);
    if (!inner.ok) return SUCCESS;
    return failure(scope, firstFact(predicate.not), "it holds", "it must not", "it must not");
  }
  if ("each" in predicate) {
    for (const element of scope.lists[predicate.each] ?? []) {
      if (predicate.where && !evaluate(predicate.where, element, control).ok) continue;
      const outcome = evaluate(predicate.require, element, control);
      if (!outcome.ok) return outcome;
    }
    return SUCCESS;
  }
  return compare(predicate, scope, control);
}
var operatorOf = /* @__PURE__ */ new WeakMap();
function compare(comparison, scope, control) {
  let op = operatorOf.get(comparison);
  if (op === void 0) {
    op = OPERATORS.find((o) => o in comparison);
    operatorOf.set(comparison, op);
  }
  const fact = comparison.fact;
  const actual = factValue(scope, fact);
  const type = FACT_TYPES.get(fact) ?? "string";
  const target = comparison[op];
  if (op === "exists") {
    if (actual !== void 0 === target) return SUCCESS;
    const wanted = target ? "set" : "not set";
    return failure(scope, fact, show(actual, type), wanted, wanted);
  }
  const expected = op === "matches" ? target : resolve(target, scope, control, type);
  if (actual !== void 0 && expected !== void 0 && holds(op, actual, expected)) return SUCCESS;
  if (expected === void 0) {
    return failure(
      scope,
      fact,
      show(actual, type),
      `${OPERATOR_WORDS[op]} a value that is not set`,
      "not set"
    );
  }
  const limit = op === "in" ? (Array.isArray(expected) ? expected : []).map((v) => show(v, type)).join(", ") : op === "matches" ? String(target) : show(expected, type);
  return failure(
    scope,
    fact,
    actual === void 0 ? "not set" : show(actual, type),
    `${OPERATOR_WORDS[op]} ${limit}`,
    limit
  );
}
function holds(op, actual, expected) {
  switch (op) {
    case "equals":
      return actual === expected;
    case "notEquals":
      return actual !== expected;
    case "in":
      return Array.isArray(expected) && expected.includes(actual);
    case "matches":
      return regex(String(expected)).test(String(actual));
    default: {
      const a = Number(actual);
      const b = Number(expected);
      return op === "gte" ? a >= b : op === "gt" ? a > b : op === "lte" ? a <= b : a < b;
    }
  }
}
function resolve(operand, scope, control, type) {
  if (Array.isArray(operand)) return operand;
  if (typeof operand === "object" && operand !== null) {
    if ("param" in operand) return control.params[operand.param];
    return factValue(scope, operand.fact);
  }
  if (type === "duration" && typeof operand === "string") return parseDuration(operand);
  return operand;
}
function failure(scope, fact, actual, expected, limit) {
  const path = factPath(scope, fact);
  return {
    ok: false,
    failure: {
      fact,
      path,
      actual,
      expected,
      limit,
      text: `\`${fact}\` is ${actual}; it must be ${expected}`
    }
  };
}
function firstFact(predicate) {
  if ("all" in predicate) return firstFact(predicate.all[0]);
  if ("any" in predicate) return firstFact(predicate.any[0]);
  if ("not" in predicate) return firstFact(predicate.not);
  if ("each" in predicate) return predicate.each;
  return predicate.fact;
}
var regexes = /* @__PURE__ */ new Map();
function regex(source) {
  let compiled = regexes.get(source);
  if (!compiled) {
    compiled = new RegExp(source, "u");
    regexes.set(source, compiled);
  }
  return compiled;
}
function showFact(name, value) {
  if (value === void 0) return "not set";
  return FACT_TYPES.get(name) === "duration" && typeof value === "number" ? formatDuration(value) : String(value);
}
function show(value, type) {
  if (value === void 0) return "not set";
  if (type === "duration" && typeof value === "number") return formatDuration(value);
  if (typeof value === "string") return `\`${value}\``;
  return String(value);
}
function walkPredicate(predicate, visit, list) {
  if ("all" in predicate) for (const p of predicate.all) walkPredicate(p, visit, list);
  else if ("any" in predicate) for (const p of predicate.any) walkPredicate(p, visit, list);
  else if ("not" in predicate) walkPredicate(predicate.not, visit, list);
  else if ("each" in predicate) {
    visit.each?.(predicate.each, list);
    if (predicate.where) walkPredicate(predicate.where, visit, predicate.each);
    walkPredicate(predicate.require, visit, predicate.each);
  } else visit.comparison(predicate, list);
}
function namedOperand(operand, key) {
  return typeof operand === "object" && operand !== null && key in operand ? String(operand[key]) : void 0;
}
function factsOf(predicate) {
  const out = [];
  walkPredicate(predicate, {
    each: (name, list) => out.push({ fact: name, list }),
    comparison(c, list) {
      out.push({ fact: c.fact, list });
      for (const op of OPERATORS) {
        const fact = namedOperand(c[op], "fact");
        if (fact !== void 0) out.push({ fact, list });
      }
    }
  });
  return out;
}
function paramsOf(predicate) {
  const out = [];
  walkPredicate(predicate, {
    comparison(c) {
      for (const op of OPERATORS) {
        const param = namedOperand(c[op], "param");
        if (param !== void 0) out.push(param);
      }
    }
  });
  return out;
}
function patternsOf(predicate) {
  const out = [];
  walkPredicate(predicate, {
    comparison(c) {
      if (typeof c.matches === "string") out.push(c.matches);
    }
  });
  return out;
}
function fillTemplate(template, failure2, scope, control) {
  if (template === void 0) return void 0;
  return template.replace(
    /\{(actual|expected|limit|param\.[A-Za-z0-9]+|fact:[A-Za-z0-9.]+)\}/g,
    (whole, name) => {
      if (name === "actual") return failure2?.actual ?? whole;
      if (name === "expected") return failure2?.expected ?? whole;
      if (name === "limit") return failure2?.limit ?? whole;
      if (name.startsWith("param.")) return control.paramText[name.slice(6)] ?? whole;
      return showFact(name.slice(5), factValue(scope, name.slice(5)));
    }
  );
}

// src/controls/evaluate-static.ts
var PASS_MESSAGE = "holds";
var NOT_APPLICABLE_MESSAGE = "does not apply to this system";
function evaluatePolicy(policy, controls, probe) {
  const findings = [];
  const policyName = policy.data.metadata.name;
  policy.data.systems.forEach((system, index) => {
    const scope = systemFacts(policy.data, index, probe);
    const systemLocation = policy.document.locate(scope.self);
    const finding = (control, status, location, message, remediation) => ({
      kind: "control",
      ruleId: control.data.id,
      title: control.data.title,
      severity: control.severity,
      status,
      policy: policyName,
      system: system.name,
      location,
      message,
      remediation
    });
    for (const control of controls) {
      const check = control.data.check.static;
      if (!check) continue;
      if (check.when && !evaluate(check.when, scope, control).ok) {
        findings.push(finding(control, "not-applicable", systemLocation, NOT_APPLICABLE_MESSAGE));
        continue;
      }
      const outcome = evaluate(check.require, scope, control);
      if (outcome.ok) {
        findings.push(finding(control, "pass", systemLocation, PASS_MESSAGE));
        continue;
      }
      findings.push(
        finding(
          control,
          "fail",
          policy.document.locate(outcome.failure.path),
          fillTemplate(check.message, outcome.failure, scope, control) ?? outcome.failure.text,
          fillTemplate(control.data.remediation, outcome.failure, scope, control)
        )
      );
    }
  });
  return findings;
}

// src/controls/library.ts
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
var LIST_FACTS = {
  repositories: new Set(REPOSITORY_FACTS.map((f) => f.name))
};
var SYSTEM_FACT_NAMES = new Set(SYSTEM_FACTS.map((f) => f.name));
var RUNTIME_FACT_NAMES = new Set(RUNTIME_FACTS.map((f) => f.name));
function loadControls(directories) {
  const controls = [];
  const problems = [];
  const seen = /* @__PURE__ */ new Map();
  for (const directory of directories) {
    let names;
    try {
      names = readdirSync(directory.path).filter((n) => /\.ya?ml$/.test(n)).sort();
    } catch (error) {
      problems.push({
        ruleId: "control/directory",
        message: `cannot read the control directory: ${error.message}`,
        remediation: "Create the directory or remove it from `controls.paths` in .restorable/config.yaml.",
        location: fileStart(directory.display)
      });
      continue;
    }
    for (const name of names) {
      const display = `${directory.display}/${name}`;
      if (directory.root !== void 0 && outsideRoot(directory.root, join(directory.path, name))) {
        problems.push(outsideProblem(display, "control"));
        continue;
      }
      const file = parseYamlFile(display, readFileSync(join(directory.path, name)));
      problems.push(...file.problems);
      for (const document of file.documents) {
        const schemaProblems = directory.shipped ? [] : validateDocument(document, validator("control"), "control/schema");
        if (schemaProblems.length) {
          problems.push(...schemaProblems);
          continue;
        }
        const data = document.value;
        const semantic = checkControl(data, document);
        if (semantic.length) {
          problems.push(...semantic);
          continue;
        }
        const previous = seen.get(data.id);
        if (previous) {
          problems.push({
            ruleId: "control/duplicate-id",
            message: `control id ${data.id} is already defined in ${previous}`,
            remediation: "Give your own controls ids with a prefix of your own (e.g. `ACME-`).",
            location: document.locate(["id"])
          });
          continue;
        }
        seen.set(data.id, display);
        controls.push({ data, source: display, document });
      }
    }
  }
  return { controls, problems };
}
function checkControl(data, document) {
  const problems = [];
  const kind = data.check.static ? "static" : "runtime";
  const check = data.check.static ?? data.check.runtime;
  const predicates = [check.require, ...check.when ? [check.when] : []];
  const problem = (ruleId, message, remediation, path) => problems.push({ ruleId, message, remediation, location: document.locate(path) });
  for (const { fact, list } of predicates.flatMap((p) => factsOf(p))) {
    const known = list ? (LIST_FACTS[list]?.has(fact) ?? false) || SYSTEM_FACT_NAMES.has(fact) : SYSTEM_FACT_NAMES.has(fact) || kind === "runtime" && RUNTIME_FACT_NAMES.has(fact);
    if (!known) {
      problem(
        "control/unknown-fact",
        `${data.id}: unknown fact \`${fact}\`${list ? ` inside \`each: ${list}\`` : ""}`,
        "Use a fact listed in docs/controls-language.md.",
        ["check", kind]
      );
    }
  }
  for (const param of predicates.flatMap(paramsOf)) {
    if (!data.parameters?.[param]) {
      problem(
        "control/unknown-parameter",
        `${data.id}: parameter \`${param}\` is used but not declared`,
        "Declare it under `parameters:` with a type, default and description.",
        ["check", kind]
      );
    }
  }
  for (const pattern of predicates.flatMap(patternsOf)) {
    try {
      new RegExp(pattern, "u");
    } catch (error) {
      problem(
        "control/bad-pattern",
        `${data.id}: ${error.message}`,
        "Fix the regular expression.",
        ["check", kind]
      );
    }
  }
  for (const [name, spec] of Object.entries(data.parameters ?? {})) {
    const problemText = parameterProblem(spec.type, spec.default);
    if (problemText) {
      problem(
        "control/parameter-default",
        `${data.id}: default of \`${name}\` ${problemText}`,
        "Fix the default.",
        ["parameters", name, "default"]
      );
    }
  }
  return problems;
}
function parameterProblem(type, value) {
  switch (type) {
    case "duration":
      return typeof value === "string" && parseDuration(value) !== void 0 ? void 0 : `must be a duration such as \`35d\`, found ${JSON.stringify(value)}`;
    case "number":
      return typeof value === "number" && Number.isFinite(value) ? void 0 : `must be a number, found ${JSON.stringify(value)}`;
    case "boolean":
      return typeof value === "boolean" ? void 0 : `must be true or false, found ${JSON.stringify(value)}`;
    case "list":
      return Array.isArray(value) ? void 0 : `must be a list, found ${JSON.stringify(value)}`;
    default:
      return typeof value === "string" ? void 0 : `must be a string, found ${JSON.stringify(value)}`;
  }
}

// src/controls/profile.ts
function applyProfile(library, config) {
  const profile = config.data.controls ?? {};
  const problems = [];
  const locate = (path, key = false) => config.document?.locate(path, { key }) ?? {
    file: config.file ?? ".restorable/config.yaml",
    line: 1,
    column: 1,
    endLine: 1,
    endColumn: 1
  };
  const byId = new Map(library.map((c) => [c.data.id, c]));
  for (const section of ["parameters", "severity"]) {
    for (const id of Object.keys(profile[section] ?? {})) {
      if (!byId.has(id)) {
        problems.push({
          ruleId: "config/unknown-control",
          message: `controls.${section} names ${id}, which is not a known control`,
          remediation: `Use one of: ${[...byId.keys()].join(", ")}.`,
          location: locate(["controls", section, id], true)
        });
      }
    }
  }
  for (const section of ["include", "exclude"]) {
    (profile[section] ?? []).forEach((pattern, index) => {
      if (!library.some((c) => matchesPattern(pattern, c.data.id))) {
        problems.push({
          ruleId: "config/unknown-control",
          message: `controls.${section} pattern ${pattern} matches no control`,
          remediation: "Check the control id (docs/controls.md lists them all).",
          location: locate(["controls", section, index])
        });
      }
    });
  }
  const controls = [];
  for (const loaded of library) {
    const { data } = loaded;
    const included = profile.include ? profile.include.some((p) => matchesPattern(p, data.id)) : true;
    const excluded = (profile.exclude ?? []).some((p) => matchesPattern(p, data.id));
    if (!included || excluded) continue;
    const overrides = profile.parameters?.[data.id] ?? {};
    const params = {};
    const paramText = {};
    for (const name of Object.keys(overrides)) {
      if (!data.parameters?.[name]) {
        problems.push({
          ruleId: "config/unknown-parameter",
          message: `${data.id} has no parameter \`${name}\``,
          remediation: `Parameters of ${data.id}: ${Object.keys(data.parameters ?? {}).join(", ") || "none"}.`,
          location: locate(["controls", "parameters", data.id, name], true)
        });
      }
    }
    for (const [name, spec] of Object.entries(data.parameters ?? {})) {
      let value = spec.default;
      if (name in overrides) {
        const problem = parameterProblem(spec.type, overrides[name]);
        if (problem) {
          problems.push({
            ruleId: "config/parameter-type",
            message: `${data.id} parameter \`${name}\` ${problem}`,
            remediation: spec.description,
            location: locate(["controls", "parameters", data.id, name])
          });
        } else {
          value = overrides[name];
        }
      }
      params[name] = spec.type === "duration" ? parseDuration(String(value)) : value;
      paramText[name] = Array.isArray(value) ? value.join(", ") : spec.type === "duration" ? formatDuration(params[name]) : String(value);
    }
    controls.push({
      data,
      source: loaded.source,
      severity: profile.severity?.[data.id] ?? data.severity,
      params,
      paramText
    });
  }
  return { controls, problems };
}
function matchesPattern(pattern, id) {
  const source = pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&")).join(".*");
  return new RegExp(`^${source}$`).test(id);
}

// src/controls/result.ts
var SEVERITIES = ["critical", "high", "medium", "low"];
function isFailOn(value) {
  return value === "never" || SEVERITIES.includes(value);
}
var FAIL_SCOPES = ["all", "new"];

// src/commands/check.ts
function runCheck(options, profile) {
  const started = performance.now();
  const setup = setUpCheck(options, profile);
  const evaluated = evaluateFiles(options.root, setup.discovered.files, setup.profile.controls);
  return finishCheck(options, setup, [evaluated], started);
}
function setUpCheck(options, loaded) {
  const { config, library, profile } = loaded ?? loadProfile(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths, config.data.policies);
  return { config, library, profile, discovered };
}
function loadProfile(root, configPath) {
  const config = loadConfig(root, configPath);
  const controlDirs = [
    { path: BUILTIN_CONTROLS_DIR, display: "controls", shipped: true }
  ];
  const ownDirs = config.data.controls?.paths ?? (existsSync(join2(root, DEFAULT_CONTROLS_PATH)) ? [DEFAULT_CONTROLS_PATH] : []);
  const outside = [];
  for (const dir of ownDirs) {
    const path = join2(root, dir);
    if (outsideRoot(root, path)) outside.push(dir);
    else controlDirs.push({ path, display: dir, root });
  }
  const library = loadControls(controlDirs);
  for (const dir of outside) {
    library.problems.push({
      ruleId: "control/directory",
      message: `the control directory ${dir} is outside the repository; controls are read from inside it only`,
      remediation: "Keep your own controls in the repository (e.g. `.restorable/controls`) and name the directory relative to its root.",
      location: fileStart(dir)
    });
  }
  const profile = applyProfile(library.controls, config);
  return { config, library, profile };
}
function evaluateFiles(root, files, controls) {
  const probe = repositoryProbe(root);
  const policies = [];
  const problems = loadPolicies(root, files, (policy, valid) => {
    policies.push({
      file: policy.file,
      name: policy.data.metadata.name,
      nameLocation: policy.document.locate(["metadata", "name"]),
      evaluated: valid,
      systems: valid ? policy.data.systems.map((s) => s.name) : [],
      findings: valid ? evaluatePolicy(policy, controls, probe) : []
    });
  });
  return { policies, problems };
}
function finishCheck(options, setup, parts, started) {
  const { config, library, profile, discovered } = setup;
  const findings = [];
  const systems = [];
  const loadProblems = [];
  const names = /* @__PURE__ */ new Map();
  let policyCount = 0;
  for (const part of parts) {
    loadProblems.push(...part.problems);
    for (const policy of part.policies) {
      const previous = names.get(policy.name);
      if (previous) {
        loadProblems.push({
          ruleId: "policy/duplicate-name",
          message: `policy name \`${policy.name}\` is already used in ${previous}`,
          remediation: "Give every policy a unique `metadata.name`: evidence and reports are keyed by it.",
          location: policy.nameLocation
        });
        continue;
      }
      names.set(policy.name, `${policy.file}:${policy.nameLocation.line}`);
      if (!policy.evaluated) continue;
      policyCount++;
      for (const system of policy.systems) systems.push({ policy: policy.name, system, file: policy.file });
      for (const finding of policy.findings) findings.push(finding);
    }
  }
  const order = new Map(discovered.files.map((file, index) => [file, index]));
  loadProblems.sort(
    (a, b) => (order.get(a.location.file) ?? 0) - (order.get(b.location.file) ?? 0) || a.location.line - b.location.line || a.location.column - b.location.column
  );
  const problems = [
    ...config.problems,
    ...library.problems,
    ...profile.problems,
    ...discovered.problems,
    ...loadProblems
  ].map(problemFinding);
  if (discovered.files.length === 0 && discovered.problems.length === 0) {
    problems.push(
      problemFinding({
        ruleId: "policy/none-found",
        message: `no policy files found (${options.paths.length ? options.paths.join(", ") : (config.data.policies ?? [".restorable/**/*.{yml,yaml}"]).join(", ")})`,
        remediation: "Add a policy under .restorable/ or give the paths to check.",
        location: fileStart(".")
      })
    );
  }
  findings.push(...problems);
  const failOn = options.failOn ?? config.data.failOn ?? "low";
  const controls = profile.controls.map((c) => ({
    id: c.data.id,
    title: c.data.title,
    description: c.data.description,
    severity: c.severity,
    evaluation: c.data.check.static ? "static" : "runtime",
    criteria: {
      soc2: c.data.criteria.soc2,
      iso27001: c.data.criteria.iso27001 ?? [],
      nist80053: c.data.criteria.nist80053 ?? []
    },
    remediation: c.data.remediation.replace(
      /\{param\.([A-Za-z0-9]+)\}/g,
      (m, n) => c.paramText[n] ?? m
    ),
    source: c.source
  }));
  const counts = countFindings(
    findings,
    discovered.files.length,
    policyCount,
    systems.length,
    controls.length
  );
  return {
    tool: { name: "restorable", version: VERSION },
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    durationMs: Math.round(performance.now() - started),
    files: discovered.files,
    systems,
    controls,
    findings,
    counts,
    failOn,
    failed: findings.some((f) => f.status === "fail" && fails(f.severity, failOn))
  };
}
function fails(severity, failOn) {
  if (failOn === "never") return false;
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(failOn);
}
function problemFinding(problem) {
  return {
    kind: "problem",
    ruleId: problem.ruleId,
    title: problem.ruleId,
    // A file that cannot be read cannot be checked: that is as bad as the worst failing control.
    severity: "critical",
    status: "fail",
    location: problem.location,
    message: problem.message,
    remediation: problem.remediation
  };
}
function countFindings(findings, files, policies, systems, controls) {
  const bySeverity = { critical: 0, high: 0, medium: 0, low: 0 };
  const counts = {
    files,
    policies,
    systems,
    controls,
    passed: 0,
    failed: 0,
    notApplicable: 0,
    problems: 0,
    bySeverity
  };
  for (const f of findings) {
    if (f.kind === "problem") counts.problems++;
    else if (f.status === "pass") counts.passed++;
    else if (f.status === "not-applicable") counts.notApplicable++;
    else {
      counts.failed++;
      bySeverity[f.severity]++;
    }
  }
  return counts;
}
function repositoryProbe(root) {
  const realRoot = realpathSync(root);
  const known = /* @__PURE__ */ new Map();
  const inside = (path) => {
    if (known.has(path)) return known.get(path);
    let real;
    try {
      const absolute = join2(root, path);
      if (statSync(absolute).isFile()) {
        const candidate = realpathSync(absolute);
        const rel = relative(realRoot, candidate);
        if (!rel.startsWith("..") && !isAbsolute(rel)) real = candidate;
      }
    } catch {
      real = void 0;
    }
    known.set(path, real);
    return real;
  };
  const heads = /* @__PURE__ */ new Map();
  return {
    fileExists: (path) => inside(path) !== void 0,
    readHead(path, bytes) {
      const key = `${bytes}:${path}`;
      if (heads.has(key)) return heads.get(key);
      const real = inside(path);
      let head;
      if (real !== void 0) {
        const fd = openSync(real, "r");
        try {
          const buffer = Buffer.alloc(bytes);
          head = buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
        } finally {
          closeSync(fd);
        }
      }
      heads.set(key, head);
      return head;
    }
  };
}

export {
  factValue,
  systemFacts,
  OPERATOR_WORDS,
  evaluate,
  showFact,
  fillTemplate,
  SEVERITIES,
  isFailOn,
  FAIL_SCOPES,
  runCheck,
  setUpCheck,
  loadProfile,
  evaluateFiles,
  finishCheck,
  fails,
  repositoryProbe
};
