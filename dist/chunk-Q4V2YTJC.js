import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  DEFAULT_CONFIG_PATH,
  DEFAULT_CONTROLS_PATH,
  DEFAULT_POLICY_GLOBS,
  closest,
  fileStart,
  outsideProblem,
  outsideRoot,
  parseYamlFile,
  validateDocument,
  validator
} from "./chunk-TKDTUBCU.js";

// src/policy/discover.ts
import { existsSync, globSync, statSync } from "node:fs";
import { isAbsolute, relative, resolve, sep } from "node:path";
function discoverPolicyFiles(root, requested, configured) {
  const problems = [];
  const found = /* @__PURE__ */ new Set();
  const add = (path) => found.add(path.split(sep).join("/"));
  if (requested.length === 0) {
    const patterns = (configured ?? DEFAULT_POLICY_GLOBS).filter((pattern) => {
      const outside = isAbsolute(pattern) || pattern.split(/[\\/]/).includes("..");
      if (outside) problems.push(outsidePattern(pattern));
      return !outside;
    });
    for (const file of globYaml(root, patterns)) {
      if (file === DEFAULT_CONFIG_PATH || file.startsWith(`${DEFAULT_CONTROLS_PATH}/`)) continue;
      add(file);
    }
    return { files: [...found].sort(), problems };
  }
  for (const item of requested) {
    const absolute = resolve(root, item);
    if (/[*?[{]/.test(item)) {
      const matches = globYaml(root, [item]);
      if (matches.length === 0) problems.push(notFound(item, "matches no file"));
      matches.forEach(add);
    } else if (!existsSync(absolute)) {
      problems.push(notFound(item, "does not exist"));
    } else if (statSync(absolute).isDirectory()) {
      const prefix = relative(root, absolute).split(sep).join("/");
      const base = prefix === "" ? "" : `${prefix}/`;
      globYaml(root, [`${base}**/*.yml`, `${base}**/*.yaml`]).forEach(add);
    } else {
      add(relative(root, absolute));
    }
  }
  return { files: [...found].sort(), problems };
}
function globYaml(root, patterns) {
  return globSync([...patterns], { cwd: root }).map((p) => p.split(sep).join("/")).filter((p) => /\.ya?ml$/.test(p) && !p.split("/").includes("node_modules"));
}
function outsidePattern(pattern) {
  return {
    ruleId: "policy/not-found",
    message: `${pattern} reaches outside the repository; policies are read from inside it only`,
    remediation: "Name policies by globs relative to the repository root, such as `.restorable/**/*.yaml`.",
    location: fileStart(pattern)
  };
}
function notFound(item, what) {
  return {
    ruleId: "policy/not-found",
    message: `${item} ${what}`,
    remediation: "Give a policy file, a directory of policies, or a glob such as `.restorable/**/*.yaml`.",
    location: fileStart(item)
  };
}

// src/policy/load-policies.ts
import { readFileSync } from "node:fs";
import { join } from "node:path";
function loadPolicies(root, files, visit) {
  const problems = [];
  for (const file of files) {
    let bytes;
    if (outsideRoot(root, join(root, file))) {
      problems.push(outsideProblem(file, "policy"));
      continue;
    }
    try {
      bytes = readFileSync(join(root, file));
    } catch (error) {
      problems.push({
        ruleId: "policy/unreadable",
        message: `cannot read ${file}: ${error.message}`,
        remediation: "Check the file exists and is readable.",
        location: fileStart(file)
      });
      continue;
    }
    const parsed = parseYamlFile(file, bytes);
    problems.push(...parsed.problems);
    if (parsed.documents.length === 0 && parsed.problems.length === 0) {
      problems.push({
        ruleId: "policy/empty",
        message: `${file} holds no policy`,
        remediation: "Write a policy in it (`apiVersion: restorable/v1`, `kind: BackupPolicy`) or delete it.",
        location: fileStart(file)
      });
    }
    for (const document of parsed.documents) {
      const schemaProblems = validateDocument(document, validator("policy"), "policy/schema");
      if (schemaProblems.length) {
        problems.push(...schemaProblems);
        continue;
      }
      const data = document.value;
      const referenceProblems = crossCheck(data, document);
      problems.push(...referenceProblems);
      visit({ file, document, data }, referenceProblems.length === 0);
    }
  }
  return problems;
}
var VERIFY_PLACEHOLDERS = [
  "restore.path",
  "restore.file",
  "snapshot.id",
  "snapshot.time",
  "system.name",
  "repository.name",
  "drill.id"
];
function crossCheck(policy, document) {
  const problems = [];
  const defined = Object.keys(policy.repositories ?? {});
  const systemNames = /* @__PURE__ */ new Map();
  policy.systems.forEach((system, s) => {
    const first = systemNames.get(system.name);
    if (first !== void 0) {
      problems.push({
        ruleId: "policy/duplicate-system",
        message: `system \`${system.name}\` is defined twice in this policy (also at systems[${first}])`,
        remediation: "Give each system a unique name.",
        location: document.locate(["systems", s, "name"])
      });
    } else {
      systemNames.set(system.name, s);
    }
    system.repositories.forEach((name, r) => {
      if (!defined.includes(name)) {
        const guess = closest(name, defined);
        problems.push({
          ruleId: "policy/unknown-repository",
          message: `system \`${system.name}\` uses repository \`${name}\`, which this policy does not define`,
          remediation: guess ? `Did you mean \`${guess}\`?` : defined.length ? `Use one of: ${defined.join(", ")}, or define \`${name}\` under \`repositories:\`.` : `Define \`${name}\` under \`repositories:\` (an s3 bucket or a local directory).`,
          location: document.locate(["systems", s, "repositories", r])
        });
      }
    });
    const source = system.source;
    const misplaced = source.command ? ["exclude", "followSymlinks"].filter((k) => source[k] !== void 0) : ["timeout", "filename"].filter((k) => source[k] !== void 0);
    for (const key of misplaced) {
      problems.push({
        ruleId: "policy/source-field",
        message: `\`${key}\` applies to ${source.command ? "a `paths`" : "a `command`"} source; the source of \`${system.name}\` is ${source.command ? "a command" : "paths"}`,
        remediation: source.command ? "Remove it: a command source backs up what the command writes to standard output." : "Remove it: `timeout` and `filename` are for command sources.",
        location: document.locate(["systems", s, "source", key], { key: true })
      });
    }
    system.drill?.verify?.forEach((step, v) => {
      step.command.forEach((arg, a) => {
        for (const match of arg.matchAll(/\{([a-z]+\.[a-z]+)\}/g)) {
          if (match[1] === "restore.file" && !source.command) {
            problems.push({
              ruleId: "policy/placeholder",
              message: `\`{restore.file}\` names the one file of a command source's snapshot, and \`${system.name}\` backs up paths`,
              remediation: "Name the restored files under `{restore.path}`, e.g. `{restore.path}/etc/app.conf`.",
              location: document.locate(["systems", s, "drill", "verify", v, "command", a])
            });
            continue;
          }
          if (VERIFY_PLACEHOLDERS.includes(match[1])) continue;
          problems.push({
            ruleId: "policy/placeholder",
            message: `unknown placeholder \`{${match[1]}}\` in a verify command of \`${system.name}\``,
            remediation: `Use one of ${VERIFY_PLACEHOLDERS.map((p) => `\`{${p}}\``).join(", ")}.`,
            location: document.locate(["systems", s, "drill", "verify", v, "command", a])
          });
        }
      });
    });
    const drill = system.drill;
    if (drill?.repository && !system.repositories.includes(drill.repository)) {
      problems.push({
        ruleId: "policy/unknown-repository",
        message: `the drill of \`${system.name}\` restores from \`${drill.repository}\`, which is not one of the system's repositories`,
        remediation: `Use one of: ${system.repositories.filter((r) => defined.includes(r)).join(", ") || "(none defined)"}.`,
        location: document.locate(["systems", s, "drill", "repository"])
      });
    }
    if (drill?.select?.algorithm === "random-within" && drill.select.window === void 0) {
      problems.push({
        ruleId: "policy/drill-window",
        message: `the drill of \`${system.name}\` selects \`random-within\` but sets no \`window\``,
        remediation: "Add `window:` (e.g. `30d`), or use `algorithm: latest`.",
        location: document.locate(["systems", s, "drill", "select"])
      });
    }
  });
  return problems;
}

export {
  discoverPolicyFiles,
  loadPolicies,
  VERIFY_PLACEHOLDERS
};
