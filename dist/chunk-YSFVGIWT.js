import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  KEYS_DIR,
  MAX_RECORD_BYTES,
  MAX_SIGNATURE_BYTES,
  RECORDS_DIR,
  RECORD_VERSION,
  SIGNATURE_SUFFIX,
  STATE_FILE,
  checkBranchName,
  checkSignature,
  isCanonical,
  isCheckedOut,
  isShallow,
  loadPinnedKey,
  nextState,
  normalizeFingerprint,
  parseRecordPath,
  recordHash,
  recordSchemaProblems,
  remoteUrl,
  shardPath,
  stateBytes,
  withCredentials
} from "./chunk-2X7ZTPOP.js";
import {
  Git
} from "./chunk-FR2T7L4U.js";
import {
  DEFAULT_EVIDENCE_BRANCH
} from "./chunk-TKDTUBCU.js";

// src/evidence/verify.ts
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
async function verifyEvidence(options) {
  const env = options.env ?? process.env;
  const branch = checkBranchName(options.branch ?? DEFAULT_EVIDENCE_BRANCH);
  const fingerprint = normalizeFingerprint(options.fingerprint, "the pinned fingerprint");
  let git = new Git(options.root, env);
  let revision = options.revision ?? `refs/heads/${branch}`;
  const problems = [];
  const report = { branch, revision, fingerprint, records: [], problems, ok: false };
  const repository = await git.run(["rev-parse", "--git-dir"], { ok: [0, 128] });
  if (repository.code !== 0) {
    problems.push({ where: options.root, message: "is not a git repository" });
    return report;
  }
  if (options.remote !== void 0) {
    const url = await remoteUrl(git, options.remote);
    if (url === void 0) {
      problems.push({ where: options.root, message: `there is no remote "${options.remote}"` });
      return report;
    }
    git = await withCredentials(git, url, env);
    revision = options.revision ?? `refs/remotes/${options.remote}/${branch}`;
    report.revision = revision;
    const deepen = await isShallow(git) ? ["--depth=2147483647"] : [];
    const fetched = await git.run(
      ["fetch", "--quiet", "--no-tags", ...deepen, "--", options.remote, `+refs/heads/${branch}:${revision}`],
      { ok: [0, 1, 128] }
    );
    if (fetched.code !== 0) {
      problems.push({
        where: `${options.remote}/${branch}`,
        message: `cannot be fetched: ${fetched.stderr.trim() || `git fetch exited with ${fetched.code}`}`
      });
      return report;
    }
  }
  const tip = await git.resolve(`${revision}^{commit}`);
  if (tip === void 0) {
    problems.push({
      where: revision,
      message: `does not exist in ${options.root}: there is no evidence to verify`
    });
    return report;
  }
  report.tip = tip;
  const local = `refs/heads/${branch}`;
  const tracking = options.trackLocal === true && options.remote !== void 0 && revision !== local;
  const knownTip = options.knownTip ?? (tracking ? await git.resolve(`${local}^{commit}`) : void 0);
  if (knownTip !== void 0) {
    report.knownTip = knownTip;
    problems.push(...await checkKnownTip(git, knownTip, tip));
  }
  problems.push(...await checkHistory(git, tip));
  const files = await listFiles(git, tip);
  const { records, signatures, stray } = classify(files);
  problems.push(...stray);
  const pinned = await pinnedKey(git, fingerprint, files, options.publicKey, problems);
  const wanted = [...records.values()].flat().filter((f) => f.size <= MAX_RECORD_BYTES);
  const sigWanted = [...signatures.values()].filter((f) => f.size <= MAX_SIGNATURE_BYTES);
  const contents = await git.readObjects([...wanted, ...sigWanted].map((f) => f.id));
  const sequences = [...records.keys()].sort((a, b) => a - b);
  const last = sequences.at(-1) ?? -1;
  const hashes = /* @__PURE__ */ new Map();
  let state;
  let stateBroken = false;
  for (let sequence = 0; sequence <= last; sequence++) {
    const found = records.get(sequence);
    if (!found) {
      const before = records.get(sequence - 1)?.[0]?.path ?? "(the start)";
      const after = sequences.find((s) => s > sequence);
      problems.push({
        where: `${shardPath(sequence)}/${String(sequence).padStart(8, "0")}-*.json`,
        message: `record ${sequence} is missing: the chain goes from ${before} to ${records.get(after)?.[0]?.path}; a record was deleted`
      });
      stateBroken = true;
      continue;
    }
    if (found.length > 1) {
      for (const file of found) {
        problems.push({
          where: file.path,
          message: `${found.length} files claim sequence ${sequence}: ${found.map((f) => f.path).join(", ")}`
        });
      }
      stateBroken = true;
    }
    for (const file of found) {
      const result = await checkRecord(file, contents, signatures, hashes.get(sequence - 1), pinned);
      report.records.push(result.report);
      for (const message of result.report.problems) problems.push({ where: file.path, message });
      if (result.bytes && found.length === 1) {
        hashes.set(sequence, recordHash(result.bytes));
        if (result.record) {
          state = nextState(
            state,
            { ...result.record, sequence },
            file.path,
            recordHash(result.bytes),
            fingerprint
          );
        } else stateBroken = true;
      } else stateBroken = true;
    }
  }
  if (last >= 0) {
    const head = records.get(last)[0];
    const sha256 = hashes.get(last);
    if (sha256) report.head = { sequence: last, file: head.path, sha256 };
  }
  problems.push(...await checkState(git, files, state, stateBroken));
  report.ok = problems.length === 0;
  if (report.ok && tracking && !await isCheckedOut(git, branch)) {
    const before = await git.resolve(`${local}^{commit}`);
    const moved = await git.run(
      ["update-ref", "-m", "restorable: evidence verified", local, tip, before ?? ""],
      { ok: [0, 1, 128] }
    );
    if (moved.code === 0) report.remembered = tip;
  }
  return report;
}
async function checkKnownTip(git, knownTip, tip) {
  const known = await git.resolve(`${knownTip}^{commit}`);
  const where = `known tip ${knownTip.slice(0, 12)}`;
  if (known === void 0) {
    return [
      {
        where,
        message: `is not in this repository, so the branch cannot be shown to contain it (fetch it, or the branch was rewritten and it is gone)`
      }
    ];
  }
  if (await git.isAncestor(known, tip)) return [];
  const problems = [
    {
      where,
      message: `is not contained in the branch (tip ${tip.slice(0, 12)}): the evidence branch was rewritten (force-pushed or reset)`
    }
  ];
  const before = recordBlobs(await listFiles(git, known));
  const after = recordBlobs(await listFiles(git, tip));
  for (const [path, id] of before) {
    const now = after.get(path);
    if (now === void 0)
      problems.push({ where: path, message: `was in the known tip ${known.slice(0, 12)} and is gone` });
    else if (now !== id)
      problems.push({
        where: path,
        message: `differs from its version in the known tip ${known.slice(0, 12)}`
      });
  }
  return problems;
}
function recordBlobs(files) {
  return new Map(files.filter((f) => f.path.startsWith(`${RECORDS_DIR}/`)).map((f) => [f.path, f.id]));
}
async function checkHistory(git, tip) {
  const problems = [];
  const [parents, shallowFile] = await Promise.all([
    git.text(["rev-list", "--parents", tip]),
    git.text(["rev-parse", "--git-path", "shallow"])
  ]);
  const shallow = new Set(
    await readFile(resolve(git.cwd, shallowFile), "utf8").then(
      (text) => text.split("\n").filter(Boolean),
      () => []
    )
  );
  for (const line of parents.split("\n")) {
    const [commit2, ...rest] = line.split(" ");
    if (shallow.has(commit2)) {
      problems.push({
        where: `commit ${commit2.slice(0, 12)}`,
        message: "is where this shallow clone cuts the history: the commits before it cannot be checked; fetch the whole branch (evidence verify --remote does)"
      });
    }
    if (rest.length > 1) {
      problems.push({
        where: `commit ${commit2.slice(0, 12)}`,
        message: `is a merge (${rest.length} parents); the evidence branch is a single line of appends`
      });
    }
  }
  const log = await git.text([
    "log",
    "--no-renames",
    "--diff-filter=a",
    "--name-status",
    "--format=commit %H",
    tip,
    "--",
    `${RECORDS_DIR}/`
  ]);
  let commit = "";
  for (const line of log.split("\n")) {
    if (line.startsWith("commit ")) commit = line.slice("commit ".length, "commit ".length + 12);
    else if (line.includes("	")) {
      const [status, path] = line.split("	");
      const verb = status === "D" ? "removed" : status === "M" ? "modified" : status === "T" ? "changed in type" : `changed (${status})`;
      problems.push({
        where: path,
        message: `was ${verb} by commit ${commit} after it was written; records are never changed or removed`
      });
    }
  }
  return problems;
}
async function listFiles(git, commit) {
  const { stdout } = await git.run(["ls-tree", "-r", "-l", "-z", "--full-tree", commit]);
  return stdout.toString("utf8").split("\0").filter(Boolean).map((line) => {
    const tab = line.indexOf("	");
    const [mode, type, id, size] = line.slice(0, tab).split(/ +/);
    return { path: line.slice(tab + 1), mode, type, id, size: Number(size) };
  });
}
function classify(files) {
  const records = /* @__PURE__ */ new Map();
  const signatures = /* @__PURE__ */ new Map();
  const stray = [];
  const recordPaths = /* @__PURE__ */ new Set();
  for (const file of files) {
    if (!file.path.startsWith(`${RECORDS_DIR}/`)) continue;
    if (file.type !== "blob" || file.mode !== "100644") {
      stray.push({ where: file.path, message: `is a ${file.type} with mode ${file.mode}, not a plain file` });
      continue;
    }
    if (file.path.endsWith(SIGNATURE_SUFFIX)) {
      signatures.set(file.path.slice(0, -SIGNATURE_SUFFIX.length), file);
      continue;
    }
    const parsed = parseRecordPath(file.path);
    if (!parsed) {
      stray.push({
        where: file.path,
        message: "is not a record file (records/NNNNNN/NNNNNNNN-KIND[-SYSTEM].json)"
      });
      continue;
    }
    if (!parsed.shardMatches) {
      stray.push({
        where: file.path,
        message: `is in the wrong directory: record ${parsed.sequence} belongs in ${shardPath(parsed.sequence)}/`
      });
    }
    recordPaths.add(file.path);
    const list = records.get(parsed.sequence) ?? [];
    list.push({ ...file, parsed });
    records.set(parsed.sequence, list);
  }
  for (const [record, signature] of signatures) {
    if (!recordPaths.has(record)) {
      stray.push({ where: signature.path, message: `is a signature without its record ${record}` });
    }
  }
  return { records, signatures, stray };
}
async function pinnedKey(git, fingerprint, files, given, problems) {
  const path = `${KEYS_DIR}/${fingerprint}.asc`;
  let armored = given;
  let source = "the public key given";
  if (armored === void 0) {
    source = `${path} on the branch`;
    const file = files.find((f) => f.path === path);
    if (!file) {
      const others = files.filter((f) => f.path.startsWith(`${KEYS_DIR}/`)).map((f) => f.path);
      problems.push({
        where: path,
        message: `is missing: the branch holds no public key for the pinned fingerprint ${fingerprint}${others.length ? ` (it holds ${others.join(", ")})` : ""}; no signature can be checked`
      });
      return void 0;
    }
    armored = (await git.readObjects([file.id])).get(file.id)?.toString("utf8") ?? "";
  }
  try {
    return await loadPinnedKey(armored, fingerprint, source);
  } catch (error) {
    problems.push({
      where: given === void 0 ? path : "the public key",
      message: `${error.message}; no signature can be checked`
    });
    return void 0;
  }
}
async function checkRecord(file, contents, signatures, previousHash, pinned) {
  const { sequence, kind } = file.parsed;
  const report = { sequence, file: file.path, kind, signature: "unchecked", problems: [] };
  const problem = (message) => report.problems.push(message);
  const bytes = contents.get(file.id);
  if (file.size > MAX_RECORD_BYTES || !bytes) {
    problem(
      bytes ? "cannot be read" : `is ${file.size} bytes, over the ${MAX_RECORD_BYTES}-byte limit for a record`
    );
    return { report };
  }
  report.sha256 = recordHash(bytes);
  const signatureFile = signatures.get(file.path);
  if (!signatureFile) {
    report.signature = "missing";
    problem(`has no signature (${file.path}${SIGNATURE_SUFFIX} is missing)`);
  } else if (pinned) {
    const armored = contents.get(signatureFile.id);
    const why = armored ? await checkSignature(bytes, armored.toString("utf8"), pinned) : `is ${signatureFile.size} bytes, too large for a signature`;
    report.signature = why === void 0 ? "valid" : "invalid";
    if (why !== void 0) problem(`signature ${signatureFile.path} ${why}`);
  }
  let record;
  try {
    record = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    problem("is not UTF-8 JSON");
  }
  if (record !== void 0) {
    if (!isCanonical(bytes)) problem("is not in canonical form (sorted keys, no spaces, one final newline)");
    if (typeof record === "object" && record !== null && typeof record.version === "number" && record.version > RECORD_VERSION) {
      problem(
        `is a version ${record.version} record, written by a newer Restorable; this one reads version ${RECORD_VERSION}`
      );
    } else {
      for (const message of recordSchemaProblems(record)) problem(`is not valid evidence: ${message}`);
    }
    if (typeof record === "object" && record !== null) {
      report.time = typeof record.time === "string" ? record.time : void 0;
      report.outcome = typeof record.outcome === "string" ? record.outcome : void 0;
      if (Array.isArray(record.systems))
        report.systems = record.systems.map((s) => s?.name).filter((n) => typeof n === "string");
      if (record.sequence !== sequence) {
        problem(
          `holds sequence ${JSON.stringify(record.sequence)}, but its file name says ${sequence}: records were swapped or renamed`
        );
      }
      if (record.kind !== kind)
        problem(`holds kind ${JSON.stringify(record.kind)}, but its file name says ${kind}`);
      const named = file.parsed.system;
      const systems = Array.isArray(record.systems) ? record.systems : [];
      const expected = systems.length === 1 ? systems[0]?.name : void 0;
      if (named !== expected) {
        problem(
          `is about ${expected ?? `${systems.length} systems`}, but its file name says ${named ?? "no system"}`
        );
      }
      if (sequence === 0 && record.previous !== null) {
        problem('is the first record, but its "previous" is not null: records before it were removed');
      } else if (sequence > 0 && previousHash !== void 0 && record.previous !== previousHash) {
        problem(
          `does not follow record ${sequence - 1}: its "previous" is ${String(record.previous)}, but record ${sequence - 1} hashes to ${previousHash} (a record was edited, removed or reordered)`
        );
      }
    }
  }
  const valid = report.problems.length === 0 && record !== void 0;
  return valid ? { report, bytes, record } : { report, bytes };
}
async function checkState(git, files, rebuilt, chainBroken) {
  const file = files.find((f) => f.path === STATE_FILE);
  if (!file) return rebuilt ? [{ where: STATE_FILE, message: "is missing" }] : [];
  if (chainBroken || !rebuilt) return [];
  const stored = (await git.readObjects([file.id])).get(file.id);
  const expected = Buffer.from(stateBytes(rebuilt));
  if (stored && expected.equals(stored)) return [];
  let storedHead = "unreadable";
  try {
    const parsed = JSON.parse(stored?.toString("utf8") ?? "");
    storedHead = `record ${parsed.head?.sequence} (${parsed.head?.file}, ${parsed.head?.sha256})`;
  } catch {
  }
  const head = `record ${rebuilt.head.sequence} (${rebuilt.head.file}, ${rebuilt.head.sha256})`;
  return [
    {
      where: STATE_FILE,
      message: storedHead === head ? "does not match the records (its index of the latest records per system differs)" : `does not match the records: it names ${storedHead} as the newest, the records say ${head}`
    }
  ];
}

export {
  verifyEvidence
};
