import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  cliEvidenceRun,
  evidenceExit
} from "./chunk-5UOGNKN4.js";
import {
  openSystemRepository,
  parseSubset,
  runRestore,
  runSnapshots,
  runVerify,
  unindexedNote
} from "./chunk-QVUORRT3.js";
import {
  runBackup
} from "./chunk-HP26N7II.js";
import {
  addWrapper,
  listWrappers,
  readRecipientFiles,
  recipientFiles,
  removeWrapper,
  systemCredentials
} from "./chunk-XP23BDUX.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import "./chunk-ZFX2HYFT.js";
import "./chunk-Q4V2YTJC.js";
import {
  ProgressPrinter,
  formatBytes,
  formatSeconds,
  progressInterval
} from "./chunk-CYGRTVLD.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/engine-commands.ts
import { resolve } from "node:path";

// src/commands/key.ts
async function runKeyList(options) {
  const { item, repo } = await openSystemRepository(options);
  return {
    location: repo.location,
    wrappers: await listWrappers(repo.backend, await recipientFiles(options.root, item.system))
  };
}
async function runKeyAdd(options) {
  const { item, repo } = await openSystemRepository(options);
  const recipients = await readRecipientFiles(options.root, options.recipients);
  let passphrase;
  if (options.passphraseEnv !== void 0) {
    passphrase = options.env[options.passphraseEnv];
    if (!passphrase)
      throw new Error(`--passphrase-env names ${options.passphraseEnv}, which is not set or empty`);
  }
  if (recipients.length === 0 && passphrase === void 0) {
    throw new Error("key add needs --recipient <file.asc> and/or --passphrase-env <NAME>");
  }
  const credentials = await systemCredentials(item.system, options.env);
  const id = await addWrapper(repo.backend, repo.config.id, credentials, {
    recipients,
    ...passphrase !== void 0 ? { passphrase } : {}
  });
  return { location: repo.location, id };
}
async function runKeyRemove(options) {
  const { item, repo } = await openSystemRepository(options);
  const credentials = await systemCredentials(item.system, options.env);
  const id = await removeWrapper(repo.backend, options.id, { repository: repo.config.id, credentials });
  return { location: repo.location, id };
}

// src/cli/engine-commands.ts
var common = {
  root: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" }
};
function parse(args, options) {
  return parseCommandArgs(args, { ...common, ...options });
}
function access(values, positionals, io) {
  const system = values.system;
  return {
    root: resolve(values.root ?? "."),
    paths: positionals,
    config: values.config,
    env: io.env,
    systems: Array.isArray(system) ? system : typeof system === "string" ? [system] : [],
    repository: values.repository
  };
}
function count(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
function json(io, value) {
  io.out.write(`${JSON.stringify(value, null, 2)}
`);
}
async function backupCommand(args, io) {
  const { values, positionals } = parse(args, {
    system: { type: "string", multiple: true },
    due: { type: "boolean" },
    "no-evidence": { type: "boolean" },
    "evidence-remote": { type: "string" }
  });
  const root = resolve(values.root ?? ".");
  const config = values.config;
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const evidence = cliEvidenceRun(io, {
    root,
    config,
    enabled: !values["no-evidence"],
    remote: values["evidence-remote"]
  });
  const results = await runBackup({
    root,
    paths: positionals,
    config,
    systems: values.system ?? [],
    due: values.due ?? false,
    env: io.env,
    log: io.err,
    onProgress: (system, p) => progress.update(`backup ${system}`, p.files, p.bytes, p.expected),
    onResult: (result) => evidence.appendBackup(result)
  });
  if (values.json) json(io, { command: "backup", systems: results, evidence: evidence.summary() });
  else {
    for (const result of results) {
      if (result.status === "failed") io.err(`${result.system}: FAILED: ${result.message}`);
      else io.out.write(describeBackup(result));
    }
  }
  if (results.some((r) => r.status === "failed")) return 1;
  const incomplete = evidenceExit(evidence, io, "the backups are done and their snapshots are safe");
  if (incomplete !== void 0) return incomplete;
  return results.some((r) => r.status === "partial") ? 3 : 0;
}
function describeBackup(result) {
  if (result.status === "not-due") return `${result.system}: not due: ${result.message}
`;
  const lines = result.repositories.map(
    ({ name, repository, snapshot, summary: s }) => `${result.system} \u2192 ${name} (${repository}): snapshot ${snapshot.slice(0, 8)}, ${count(s.files, "file")}, ${formatBytes(s.bytes)}; read ${formatBytes(s.bytesRead)}, added ${formatBytes(s.bytesAdded)}, stored ${formatBytes(s.bytesStored)} in ${formatSeconds(s.durationMs)}
`
  );
  for (const problem of result.problems)
    lines.push(`${result.system}: not backed up: ${problem.path}: ${problem.message}
`);
  return lines.join("");
}
async function snapshotsCommand(args, io) {
  const { values, positionals } = parse(args, {
    system: { type: "string", multiple: true },
    repository: { type: "string" }
  });
  const { rows, problems } = await runSnapshots(access(values, positionals, io));
  for (const problem of problems) io.err(problem.startsWith("repository ") ? problem : `damaged: ${problem}`);
  if (values.json) {
    json(io, { command: "snapshots", snapshots: rows, problems });
  } else {
    const table = [["ID", "TIME", "SYSTEM", "REPOSITORY", "HOST", "FILES", "SIZE", "PROBLEMS"]];
    for (const row of rows) {
      table.push([
        row.id.slice(0, 8),
        row.time.replace("T", " ").replace(/\.\d+Z$/, "Z"),
        row.system,
        row.repository,
        row.hostname,
        String(row.summary.files),
        formatBytes(row.summary.bytes),
        String(row.problems)
      ]);
    }
    const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    for (const row of table)
      io.out.write(
        `${row.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd()}
`
      );
    io.out.write(`${rows.length} snapshot${rows.length === 1 ? "" : "s"}
`);
  }
  return problems.length > 0 ? 1 : 0;
}
async function restoreCommand(args, io, stdout) {
  const { values, positionals } = parse(args, {
    system: { type: "string" },
    repository: { type: "string" },
    snapshot: { type: "string", default: "latest" },
    target: { type: "string" },
    path: { type: "string" },
    stdout: { type: "boolean" }
  });
  const system = values.system;
  if (!system) throw new UsageError("restore needs --system <name>");
  const toStdout = values.stdout ?? false;
  const target = values.target;
  if (toStdout === (target !== void 0))
    throw new UsageError("restore needs exactly one of --target <dir> and --stdout");
  if (toStdout && values.json)
    throw new UsageError("--json and --stdout both write to standard output; choose one");
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const result = await runRestore({
    root: resolve(values.root ?? "."),
    paths: positionals,
    config: values.config,
    env: io.env,
    system,
    repository: values.repository,
    snapshot: values.snapshot,
    target: toStdout ? { stream: stdout } : { dir: resolve(target) },
    ...values.path !== void 0 ? { include: values.path } : {},
    onProgress: (totals, current, expected) => progress.update(`restore ${current}`, totals.files, totals.bytes, expected)
  });
  for (const warning of result.warnings) io.err(`warning: ${warning}`);
  for (const problem of result.problems) io.err(`not restored: ${problem.path}: ${problem.message}`);
  if (values.json) json(io, { command: "restore", ...result });
  else if (!toStdout) {
    const t = result.totals;
    io.out.write(
      `restored snapshot ${result.snapshot.slice(0, 8)} of ${result.system} from ${result.repository} into ${target}: ${count(t.files, "file")}, ${count(t.dirs, "directory", "directories")}, ${count(t.symlinks, "symlink")}, ${formatBytes(t.bytes)} in ${formatSeconds(result.durationMs)}${result.problems.length ? `; ${result.problems.length} not restored` : ""}
`
    );
  } else io.err(`wrote ${formatBytes(result.totals.bytes)} from snapshot ${result.snapshot.slice(0, 8)}`);
  return result.problems.length > 0 ? 1 : 0;
}
async function repoCommand(args, io) {
  const [sub, ...rest] = args;
  if (sub !== "verify") throw new UsageError(`unknown repo command "${sub ?? ""}" (known: verify)`);
  const { values, positionals } = parse(rest, {
    system: { type: "string", multiple: true },
    repository: { type: "string" },
    "read-data": { type: "boolean" },
    "read-data-subset": { type: "string" }
  });
  let readData = values["read-data"] ? 1 : 0;
  if (values["read-data-subset"] !== void 0) {
    const subset = parseSubset(values["read-data-subset"]);
    if (subset === void 0) throw new UsageError("--read-data-subset takes a fraction: 10%, 0.1 or 1/10");
    readData = subset;
  }
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const results = await runVerify({
    ...access(values, positionals, io),
    readData,
    onProgress: (name, done, total) => progress.count(`verify ${name}`, done, total, "packs")
  });
  if (values.json) json(io, { command: "repo verify", repositories: results });
  else {
    for (const r of results) {
      io.out.write(
        `${r.repository} (${r.location}): ${r.snapshots} snapshots, ${r.packs} packs, ${r.blobs} blobs; read ${r.packsRead} packs (${formatBytes(r.bytesRead)}): ${r.findings.length === 0 ? "no errors" : `${r.findings.length} error${r.findings.length === 1 ? "" : "s"}`}
`
      );
      if (r.unindexedPacks > 0) io.out.write(`  note: ${unindexedNote(r)}
`);
      for (const f of r.findings) {
        io.out.write(`  ${f.object}: ${f.message}
`);
        for (const affected of f.affected.slice(0, 50)) io.out.write(`    affects ${affected}
`);
        if (f.affected.length > 50) io.out.write(`    \u2026 and ${f.affected.length - 50} more
`);
      }
    }
  }
  return results.some((r) => r.findings.length > 0) ? 1 : 0;
}
async function keyCommand(args, io) {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    system: { type: "string" },
    repository: { type: "string" },
    recipient: { type: "string", multiple: true },
    "passphrase-env": { type: "string" }
  });
  const system = values.system;
  if (!system) throw new UsageError(`key ${sub ?? ""} needs --system <name>`);
  const base = {
    root: resolve(values.root ?? "."),
    config: values.config,
    env: io.env,
    system,
    repository: values.repository
  };
  if (sub === "list") {
    const { location, wrappers } = await runKeyList({ ...base, paths: positionals });
    if (values.json) json(io, { command: "key list", location, wrappers });
    else {
      for (const w of wrappers) {
        const who = w.recipients.map((r) => r.path ?? r.userIds?.[0] ?? r.keyId);
        if (w.passphrase) who.push("passphrase");
        io.out.write(`${w.id.slice(0, 16)}  ${w.problem ? `DAMAGED: ${w.problem}` : who.join(", ")}
`);
      }
    }
    return wrappers.some((w) => w.problem) ? 1 : 0;
  }
  if (sub === "add") {
    const result = await runKeyAdd({
      ...base,
      paths: positionals,
      recipients: values.recipient ?? [],
      ...values["passphrase-env"] !== void 0 ? { passphraseEnv: values["passphrase-env"] } : {}
    });
    if (values.json) json(io, { command: "key add", ...result });
    else io.out.write(`added key wrapper ${result.id.slice(0, 16)} to ${result.location}
`);
    return 0;
  }
  if (sub === "remove") {
    const [id, ...paths] = positionals;
    if (!id) throw new UsageError("key remove needs the wrapper id (see `restorable key list`)");
    const result = await runKeyRemove({ ...base, paths, id });
    if (values.json) json(io, { command: "key remove", ...result });
    else io.out.write(`removed key wrapper ${result.id.slice(0, 16)} from ${result.location}
`);
    return 0;
  }
  throw new UsageError(`unknown key command "${sub ?? ""}" (known: list, add, remove)`);
}
export {
  UsageError,
  backupCommand,
  keyCommand,
  repoCommand,
  restoreCommand,
  snapshotsCommand
};
