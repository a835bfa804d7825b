import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  CommandError,
  OutputTail,
  checkSnapshotPath,
  commandEnvironment,
  expandArgv,
  restoreTree,
  runCommand,
  setLongTimeout
} from "./chunk-HP26N7II.js";
import {
  BlobReader,
  backendFor,
  holdLocks,
  listSnapshots,
  loadIndex,
  openRepository,
  planSystems,
  readListing
} from "./chunk-XP23BDUX.js";
import {
  readState
} from "./chunk-IXG6PZ4B.js";
import {
  VERIFY_PLACEHOLDERS
} from "./chunk-Q4V2YTJC.js";
import {
  DEFAULT_EVIDENCE_BRANCH,
  cronPrevious,
  formatDuration,
  loadConfig,
  parseCron,
  parseDuration
} from "./chunk-TKDTUBCU.js";

// src/drill/drill.ts
import { randomBytes as randomBytes2 } from "node:crypto";
import { chmodSync, lstatSync as lstatSync2, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join as join2, resolve } from "node:path";

// src/drill/integrity.ts
import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, readSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
var READ_BUFFER_BYTES = 8 * 1024 * 1024;
var BATCH_FILES = 64;
var BATCH_BYTES = 16 * 1024 * 1024;
function workerUrl() {
  return new URL(
    import.meta.url.endsWith(".ts") ? "./readback-worker.ts" : "./readback-worker.js",
    import.meta.url
  );
}
var ReadBack = class {
  options;
  worker;
  handedOver = /* @__PURE__ */ new Set();
  batch = [];
  batchBytes = 0;
  pending = 0;
  files = { files: 0, bytes: 0, problems: [] };
  failure;
  idle;
  constructor(options) {
    this.options = options;
    this.worker = new Worker(workerUrl(), { workerData: { target: options.target, idKey: options.idKey } });
    this.worker.on("message", (result) => {
      this.files.files += result.files;
      this.files.bytes += result.bytes;
      this.files.problems.push(...result.problems);
      this.pending--;
      this.wake();
    });
    this.worker.on("error", (error) => {
      this.failure ??= new Error(`the read-back stopped: ${error.message}`);
      this.wake();
    });
    this.worker.on("exit", (code) => {
      if (this.pending > 0) this.failure ??= new Error(`the read-back thread exited (code ${code})`);
      this.wake();
    });
  }
  wake() {
    if ((this.pending === 0 || this.failure) && this.idle) {
      const idle = this.idle;
      this.idle = void 0;
      idle();
    }
  }
  /** A file the restore has written and closed: read it back now, beside the rest of the restore. */
  add(node) {
    if (node.type !== "file" || checkSnapshotPath(node.path) !== void 0) return;
    if (this.handedOver.has(node.path)) return;
    this.handedOver.add(node.path);
    const content = node.content ?? [];
    this.batch.push({
      path: node.path,
      size: node.size ?? 0,
      mode: node.mode,
      content,
      lengths: content.map((id) => this.options.chunkLength(id))
    });
    this.batchBytes += node.size ?? 0;
    if (this.batch.length >= BATCH_FILES || this.batchBytes >= BATCH_BYTES) this.flush();
  }
  flush() {
    if (this.batch.length === 0) return;
    this.pending++;
    this.worker.postMessage(this.batch);
    this.batch = [];
    this.batchBytes = 0;
  }
  /**
   * Every node of the listing: files not handed over are read back now (one missing from the restore is
   * reported as such), directories and symlinks are checked here; then waits for the worker.
   */
  async complete(nodes) {
    const started = performance.now();
    const { signal } = this.options;
    const report = { files: 0, dirs: 0, symlinks: 0, bytes: 0, problems: [], durationMs: 0 };
    for await (const node of nodes) {
      signal?.throwIfAborted();
      if (checkSnapshotPath(node.path) !== void 0) continue;
      if (node.type === "file") {
        this.add(node);
        continue;
      }
      try {
        checkOther(join(this.options.target, node.path), node);
        if (node.type === "dir") report.dirs++;
        else report.symlinks++;
      } catch (error) {
        report.problems.push({ path: node.path, message: describe(error) });
      }
    }
    this.flush();
    const aborted = () => this.idle?.();
    signal?.addEventListener("abort", aborted, { once: true });
    try {
      while (this.pending > 0 && !this.failure) {
        signal?.throwIfAborted();
        await new Promise((resolve2) => {
          this.idle = resolve2;
          this.wake();
        });
      }
    } finally {
      signal?.removeEventListener("abort", aborted);
    }
    signal?.throwIfAborted();
    if (this.failure) throw this.failure;
    report.files = this.files.files;
    report.bytes = this.files.bytes;
    report.problems = [...this.files.problems, ...report.problems];
    report.durationMs = Math.round(performance.now() - started);
    return report;
  }
  async close() {
    await this.worker.terminate();
  }
};
function describe(error) {
  return error.code === "ENOENT" ? "missing from the restore" : error.message;
}
function checkMode(mode, expected) {
  if ((mode & 4095) !== expected) {
    throw new Error(`has mode ${(mode & 4095).toString(8)}, the snapshot says ${expected.toString(8)}`);
  }
}
function checkOther(absolute, node) {
  const stat = lstatSync(absolute);
  if (node.type === "dir") {
    if (!stat.isDirectory()) throw new Error("is not a directory");
    checkMode(stat.mode, node.mode);
    return;
  }
  if (!stat.isSymbolicLink()) throw new Error("is not a symlink");
  const target = readlinkSync(absolute);
  if (target !== node.target) {
    throw new Error(`points to ${JSON.stringify(target)}, the snapshot says ${JSON.stringify(node.target)}`);
  }
}

// src/drill/select.ts
import { createHash, randomBytes } from "node:crypto";
var DEFAULT_WINDOW_SECONDS = 30 * 86400;
function newSeed() {
  return randomBytes(8).toString("hex");
}
function checkSeed(seed) {
  if (!/^[0-9a-f]{16}$/.test(seed)) throw new Error(`a drill seed is 16 hex digits, not "${seed}"`);
  return seed;
}
function selectSnapshot(refs, spec, now, seed, system) {
  const sorted = [...refs].sort(
    (a, b) => Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time) || a.id.localeCompare(b.id)
  );
  const newest = sorted.at(-1);
  if (!newest) throw new Error(`no snapshot of ${system} in the repository: there is nothing to drill`);
  if (spec.algorithm === "latest") {
    return { algorithm: "latest", seed, candidates: sorted.length, chosen: newest };
  }
  const windowSeconds = spec.windowSeconds ?? DEFAULT_WINDOW_SECONDS;
  const from = now.getTime() - windowSeconds * 1e3;
  const candidates = sorted.filter((ref) => Date.parse(ref.snapshot.time) >= from);
  if (candidates.length === 0) {
    throw new Error(
      `no snapshot of ${system} was taken within the drill's window of ${formatDuration(windowSeconds)}: the newest, ${newest.id.slice(0, 8)}, is from ${newest.snapshot.time}`
    );
  }
  const digest = createHash("sha256").update(`${seed}
${candidates.map((ref) => ref.id).join("\n")}`).digest();
  const draw = digest.readUIntBE(0, 6) % candidates.length;
  return {
    algorithm: "random-within",
    windowSeconds,
    seed,
    candidates: candidates.length,
    chosen: candidates[draw]
  };
}

// src/drill/steps.ts
var PLACEHOLDER = new RegExp(
  `\\{(${VERIFY_PLACEHOLDERS.map((p) => p.replace(".", "\\.")).join("|")})\\}`,
  "g"
);
var OUTPUT_TAIL_BYTES = 2048;
function fillPlaceholders(arg, values) {
  return arg.replace(PLACEHOLDER, (match, name) => {
    const value = values[name];
    return value === void 0 ? match : value.replaceAll("$", "$$$$");
  });
}
function stepName(step, index) {
  return step.name ?? `step ${index + 1} (${step.command[0] ?? ""})`;
}
async function runSteps(steps, options) {
  const results = [];
  let failed = options.blocked ?? false;
  for (const [index, step] of steps.entries()) {
    const name = stepName(step, index);
    if (failed && !step.always || options.signal.aborted && !step.always) {
      results.push({ name, command: step.command, status: "skipped" });
      continue;
    }
    options.onStart?.(name);
    const result = await runStep(step, name, options);
    if (result.status === "failed") failed = true;
    results.push(result);
  }
  return results;
}
async function runStep(step, name, options) {
  const started = performance.now();
  const result = { name, command: step.command, status: "failed" };
  const expected = step.expectExitCode ?? 0;
  const timeoutMs = step.timeout === void 0 ? void 0 : parseTimeout(step.timeout);
  const stdout = new OutputTail(OUTPUT_TAIL_BYTES);
  let stderr = "";
  let exitCode;
  let failure;
  let secrets = [];
  try {
    const signal = step.always ? void 0 : options.signal;
    const argv = step.command.map((arg) => fillPlaceholders(arg, options.placeholders));
    secrets = expandArgv(argv, options.env).secrets;
    const running = runCommand(argv, {
      env: options.env,
      cwd: options.cwd,
      killGraceMs: 5e3,
      ...timeoutMs !== void 0 ? { timeoutMs } : {},
      ...signal ? { signal } : {}
    });
    try {
      for await (const chunk of running.stdout) stdout.add(Buffer.from(chunk));
      exitCode = 0;
    } finally {
      stderr = running.stderrTail();
    }
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    exitCode = error.exitCode;
    stderr = error.stderrTail || stderr;
    if (error.reason !== "exit") failure = error.message;
  }
  result.durationMs = Math.round(performance.now() - started);
  if (exitCode !== void 0) result.exitCode = exitCode;
  const output = [stdout.text(secrets), stderr].filter((text) => text !== "").join("\n");
  if (output !== "") result.output = output;
  if (failure !== void 0) {
    result.message = failure;
  } else if (exitCode === expected) {
    result.status = "passed";
  } else {
    result.message = `exited with code ${exitCode}, expected ${expected}`;
  }
  return result;
}
function parseTimeout(text) {
  const seconds2 = parseDuration(text);
  if (seconds2 === void 0 || seconds2 <= 0)
    throw new Error(`verify step timeout "${text}" is not a duration`);
  return seconds2 * 1e3;
}

// src/drill/drill.ts
var MAX_LISTED_PROBLEMS = 20;
async function drillSystem(system, options) {
  const clock = options.now ?? (() => /* @__PURE__ */ new Date());
  const started = clock();
  const drill = system.drill ?? {};
  const rto = system.rto === void 0 ? void 0 : parseDuration(system.rto);
  const rpo = system.rpo === void 0 ? void 0 : parseDuration(system.rpo);
  const timeout = (drill.timeout === void 0 ? void 0 : parseDuration(drill.timeout)) ?? rto;
  const result = {
    system: system.name,
    status: "failed",
    failures: [],
    drillId: randomBytes2(4).toString("hex"),
    restoreProblems: [],
    integrityProblems: [],
    steps: [],
    measurements: { verified: false },
    startedAt: started.toISOString(),
    finishedAt: started.toISOString()
  };
  const m = result.measurements;
  if (rto !== void 0) m.rtoSeconds = rto;
  if (rpo !== void 0) m.rpoSeconds = rpo;
  if (timeout !== void 0) m.timeoutSeconds = timeout;
  const fail = (why) => result.failures.push(why);
  const t0 = performance.now();
  const deadline = new AbortController();
  let phase = "opening the repository";
  const timer = timeout === void 0 ? void 0 : setLongTimeout(() => deadline.abort(new DrillTimeout(phase)), timeout * 1e3);
  let scratch;
  let placeholders;
  const timedOut = () => deadline.signal.aborted && deadline.signal.reason instanceof DrillTimeout;
  try {
    try {
      const wanted = drill.repository ?? options.repositories[0]?.name;
      const source = options.repositories.find((r) => r.name === wanted);
      if (!source)
        throw new Error(`the drill names repository "${wanted}", which ${system.name} does not use`);
      result.repository = source.name;
      const repo = await source.open();
      deadline.signal.throwIfAborted();
      phase = "choosing a snapshot";
      const refs = (await listSnapshots(
        repo,
        (id, message) => options.log(`${system.name}: snapshot ${id.slice(0, 8)} left out: ${message}`)
      )).filter((ref) => ref.snapshot.system === system.name);
      const windowSeconds = drill.select?.window === void 0 ? void 0 : parseDuration(drill.select.window);
      const selection = selectSnapshot(
        refs,
        {
          algorithm: drill.select?.algorithm ?? "latest",
          ...windowSeconds !== void 0 ? { windowSeconds } : {}
        },
        started,
        options.seed,
        system.name
      );
      const { chosen, ...recorded } = selection;
      result.selection = recorded;
      result.snapshot = { id: chosen.id, time: chosen.snapshot.time };
      m.snapshotAgeSeconds = Math.max(
        0,
        Math.round((started.getTime() - Date.parse(chosen.snapshot.time)) / 1e3)
      );
      options.log(
        `${system.name}: drilling snapshot ${chosen.id.slice(0, 8)} of ${chosen.snapshot.time} from ${source.name} (${selection.algorithm}${selection.algorithm === "random-within" ? `, 1 of ${selection.candidates}, seed ${selection.seed}` : ""})`
      );
      scratch = mkdtempSync(join2(resolve(options.scratch ?? tmpdir()), `restorable-drill-${system.name}-`));
      placeholders = {
        "restore.path": scratch,
        "snapshot.id": chosen.id,
        "snapshot.time": chosen.snapshot.time,
        "system.name": system.name,
        "repository.name": source.name,
        "drill.id": result.drillId
      };
      if (chosen.snapshot.source.kind === "command") {
        placeholders["restore.file"] = join2(scratch, chosen.snapshot.source.filename);
      }
      phase = "restoring";
      await restoreAndReadBack(repo, chosen.snapshot.tree, chosen.snapshot.summary.bytes, scratch, result, {
        signal: deadline.signal,
        onReadBack: () => {
          phase = "reading the restore back";
        },
        ...options.onRestoreProgress ? { onProgress: options.onRestoreProgress } : {}
      });
    } catch (error) {
      if (!timedOut()) fail(error.message);
    }
    if (placeholders !== void 0) {
      phase = "running the verify steps";
      result.steps = await runSteps(drill.verify ?? [], {
        env: {
          ...options.env,
          RESTORABLE_RESTORE_PATH: placeholders["restore.path"],
          RESTORABLE_SNAPSHOT_ID: placeholders["snapshot.id"],
          RESTORABLE_DRILL_ID: result.drillId
        },
        cwd: options.root,
        placeholders,
        signal: deadline.signal,
        blocked: !m.verified || result.failures.length > 0 || timedOut(),
        onStart: (name) => {
          phase = `running verify step "${name}"`;
        }
      });
    } else {
      result.steps = (drill.verify ?? []).map((step, i) => ({
        name: stepName(step, i),
        command: step.command,
        status: "skipped"
      }));
    }
    m.restoreDurationMs = Math.round(
      performance.now() - t0 - result.steps.reduce(
        (total, step, i) => total + (drill.verify?.[i]?.always ? step.durationMs ?? 0 : 0),
        0
      )
    );
    for (const step of result.steps) {
      if (step.status === "failed") {
        fail(
          `verify step "${step.name}" failed: ${step.message}${step.output ? `; output: ${oneLine(step.output)}` : ""}`
        );
      }
    }
  } finally {
    timer?.clear();
    if (scratch !== void 0) {
      if (options.keepScratch) options.log(`${system.name}: scratch directory kept: ${scratch}`);
      else {
        try {
          removeScratch(scratch);
        } catch (error) {
          options.log(
            `${system.name}: scratch directory ${scratch} could not be removed: ${error.message}`
          );
        }
      }
    }
  }
  if (timedOut()) {
    const reason = deadline.signal.reason;
    result.failures.unshift(
      `the drill ran past its timeout of ${formatDuration(timeout)}${drill.timeout === void 0 ? " (the RTO)" : ""} while ${reason.phase}: stopped after ${seconds(m.restoreDurationMs ?? timeout * 1e3)}`
    );
  } else if (rto !== void 0 && m.restoreDurationMs !== void 0 && m.restoreDurationMs > rto * 1e3) {
    fail(
      `restoring and verifying took ${seconds(m.restoreDurationMs)}, longer than the RTO of ${formatDuration(rto)}`
    );
  }
  if (rpo !== void 0 && result.selection?.algorithm === "latest" && m.snapshotAgeSeconds !== void 0 && m.snapshotAgeSeconds > rpo) {
    fail(
      `the newest snapshot was ${formatDuration(m.snapshotAgeSeconds)} old, older than the RPO of ${formatDuration(rpo)}`
    );
  }
  result.status = result.failures.length === 0 ? "passed" : "failed";
  result.restoreProblems = result.restoreProblems.slice(0, MAX_LISTED_PROBLEMS);
  result.integrityProblems = result.integrityProblems.slice(0, MAX_LISTED_PROBLEMS);
  result.finishedAt = clock().toISOString();
  return result;
}
async function restoreAndReadBack(repo, tree, expected, scratch, result, options) {
  const m = result.measurements;
  const started = performance.now();
  const locks = await holdLocks([repo], "shared", { purpose: `drill ${result.system}` });
  let integrity;
  let readBack;
  let reader;
  try {
    const index = await loadIndex(repo);
    reader = new BlobReader(repo, index, { decodeThread: true });
    readBack = new ReadBack({
      target: scratch,
      idKey: repo.idKey,
      chunkLength: (id) => index.get(id)?.rawLength,
      signal: options.signal
    });
    const restored = await restoreTree(reader, tree, scratch, {
      signal: options.signal,
      onFileRestored: (node) => readBack.add(node),
      ...options.onProgress ? { onProgress: (totals) => options.onProgress(totals, expected) } : {}
    });
    m.restoreMs = Math.round(performance.now() - started);
    Object.assign(m, restored.totals);
    result.restoreProblems = restored.problems;
    options.onReadBack();
    integrity = await readBack.complete(readListing(reader, tree));
  } finally {
    await Promise.all([locks.release(), readBack?.close(), reader?.close()]);
  }
  m.integrityMs = integrity.durationMs;
  result.integrityProblems = integrity.problems;
  m.verified = integrity.problems.length === 0 && result.restoreProblems.length === 0;
  if (result.restoreProblems.length > 0) {
    result.failures.push(`the restore failed for ${describeProblems(result.restoreProblems)}`);
  }
  if (integrity.problems.length > 0) {
    result.failures.push(
      `the restored data differs from the snapshot: ${describeProblems(integrity.problems)}`
    );
  }
}
var DrillTimeout = class extends Error {
  phase;
  constructor(phase) {
    super(`the drill ran out of time while ${phase}`);
    this.name = "DrillTimeout";
    this.phase = phase;
  }
};
function seconds(ms) {
  return `${(ms / 1e3).toFixed(1)} s`;
}
function oneLine(text) {
  const flat = text.replace(/\s*\r?\n\s*/g, " \u23CE ");
  return flat.length > 300 ? `\u2026${flat.slice(-300)}` : flat;
}
function describeProblems(problems) {
  const [first] = problems;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
  return `${problems.length === 1 ? "1 path" : `${problems.length} paths`}: ${first.path}: ${first.message}${more}`;
}
function removeScratch(path) {
  try {
    rmSync(path, { recursive: true, force: true });
    return;
  } catch {
  }
  const open = (dir) => {
    chmodSync(dir, 448);
    for (const entry of readdirSync(dir)) {
      const child = join2(dir, entry);
      if (lstatSync2(child).isDirectory()) open(child);
    }
  };
  open(path);
  rmSync(path, { recursive: true, force: true });
}

// src/commands/drill.ts
async function runDrill(options) {
  const named = (options.systems ?? []).length > 0;
  const planned = planSystems(options).filter((item) => {
    if (item.system.drill !== void 0) return true;
    if (named) {
      throw new Error(
        `system "${item.system.name}" declares no drill (${item.file}): add a \`drill\` section to its policy`
      );
    }
    return false;
  });
  if (planned.length === 0) throw new Error("no system in the policies declares a drill");
  if (options.seed !== void 0) checkSeed(options.seed);
  const now = () => options.now ?? /* @__PURE__ */ new Date();
  const last = options.due ? await lastDrills(options) : void 0;
  const results = [];
  for (const item of planned) {
    const base = { system: item.system.name, policy: item.policy.metadata.name, file: item.file };
    const notDue = last ? whyNotDue(item, last, now()) : void 0;
    const result = notDue ? { ...base, status: "not-due", message: notDue } : { ...base, ...await drillOne(item, options, now) };
    results.push(result);
    await options.onResult?.(result);
  }
  return results;
}
function drillOne(item, options, now) {
  return drillSystem(item.system, {
    root: options.root,
    repositories: item.repositories.map(({ name, data }) => ({
      name,
      open: async () => openRepository(await backendFor(options.root, data), {
        root: options.root,
        system: item.system,
        env: options.env,
        create: false
      })
    })),
    env: commandEnvironment(options.env, item),
    seed: options.seed ?? newSeed(),
    now,
    ...options.scratch !== void 0 ? { scratch: options.scratch } : {},
    ...options.keepScratch ? { keepScratch: true } : {},
    log: options.log,
    ...options.onProgress ? { onRestoreProgress: (totals, expected) => options.onProgress(item.system.name, totals, expected) } : {}
  });
}
async function readDueEvidence(options) {
  const config = loadConfig(options.root, options.config);
  const evidence = config.data.evidence;
  if (evidence === void 0) {
    return {
      unknown: "no evidence branch is configured (the `evidence` section of the profile), so the last runs are unknown"
    };
  }
  const branch = evidence.branch ?? DEFAULT_EVIDENCE_BRANCH;
  try {
    const read = await readState(options.root, branch, options.evidenceRemote, options.env);
    return {
      ...read.state !== void 0 ? { state: read.state } : {},
      ...read.notice !== void 0 ? { notice: read.notice } : {}
    };
  } catch (error) {
    return { unknown: `the evidence branch ${branch} cannot be read (${error.message})` };
  }
}
function lastDrillTimes(state) {
  const times = /* @__PURE__ */ new Map();
  for (const [name, kinds] of Object.entries(state?.systems ?? {})) {
    const time = kinds.drill?.last.time;
    if (time !== void 0) times.set(name, time);
  }
  return { times };
}
async function lastDrills(options) {
  const read = await readDueEvidence(options);
  if (read.unknown !== void 0) options.log(`drill --due: ${read.unknown}: every drill is due`);
  return lastDrillTimes(read.state);
}
function whyNotDue(item, last, now) {
  const schedule = item.system.drill?.schedule;
  if (!schedule) return void 0;
  const parsed = parseCron(schedule);
  if (!parsed.ok) return void 0;
  const time = last.times.get(item.system.name);
  if (time === void 0) return void 0;
  const fired = cronPrevious(parsed.cron, now);
  if (Date.parse(time) < fired.getTime()) return void 0;
  return `last drill (${time}) is not older than the drill schedule's last time (${fired.toISOString()})`;
}

export {
  runDrill,
  readDueEvidence,
  lastDrillTimes,
  whyNotDue
};
