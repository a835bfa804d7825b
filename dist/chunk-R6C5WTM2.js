import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  compareChecks,
  readTerms
} from "./chunk-NJFFDDF7.js";
import {
  fails,
  runCheck
} from "./chunk-64LPOJGB.js";
import {
  Git
} from "./chunk-FR2T7L4U.js";

// src/policy/git-tree.ts
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
var BATCH_BYTES = 32 * 1024 * 1024;
var CommitUnavailableError = class extends Error {
  constructor(message) {
    super(message);
    this.name = "CommitUnavailableError";
  }
};
async function writeCommitTree(options) {
  const git = new Git(options.root, options.env ?? process.env);
  let commit = await git.resolve(`${options.revision}^{commit}`);
  if (commit === void 0 && options.fetchRemote && /^[0-9a-f]{40,64}$/i.test(options.revision)) {
    try {
      await git.run(["fetch", "--no-tags", "--depth=1", options.fetchRemote, options.revision]);
    } catch (error) {
      throw new CommitUnavailableError(
        `commit ${options.revision} is not in this clone and fetching it from ${options.fetchRemote} failed (${error.message}); use actions/checkout with fetch-depth: 0, or fetch the base commit before this step`
      );
    }
    commit = await git.resolve(`${options.revision}^{commit}`);
  }
  if (commit === void 0) {
    throw new CommitUnavailableError(
      `${options.revision} names no commit in this clone; use actions/checkout with fetch-depth: 0, or fetch it first`
    );
  }
  const top = await git.text(["rev-parse", "--show-toplevel"]);
  const inside = relative(top, options.root).split(sep).join("/");
  const dir = mkdtempSync(join(tmpdir(), "restorable-base-"));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    const listing = await git.run(["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", inside || "."]);
    const entries = parseTree(listing.stdout);
    for (const batch of batches(entries)) {
      const blobs = await git.readObjects(batch.map((entry) => entry.id));
      for (const entry of batch) {
        const content = blobs.get(entry.id);
        if (content === void 0) throw new Error(`blob ${entry.id} of ${entry.path} is missing`);
        const target = join(dir, ...entry.path.split("/"));
        mkdirSync(dirname(target), { recursive: true });
        if (entry.mode === "120000") symlinkSync(content.toString("utf8"), target);
        else {
          writeFileSync(target, content);
          if (entry.mode === "100755") chmodSync(target, 493);
        }
      }
    }
    const root = join(dir, ...inside ? inside.split("/") : []);
    mkdirSync(root, { recursive: true });
    return { commit, root, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
function parseTree(stdout) {
  const entries = [];
  for (const line of stdout.toString("utf8").split("\0")) {
    if (!line) continue;
    const tab = line.indexOf("	");
    const [mode, type, id, size] = line.slice(0, tab).split(/ +/);
    const path = line.slice(tab + 1);
    if (type !== "blob" || !mode || !id || path.split("/").some((part) => part === ".." || part === ".git"))
      continue;
    entries.push({ mode, id, size: Number(size), path });
  }
  return entries;
}
function* batches(entries) {
  let batch = [];
  let bytes = 0;
  for (const entry of entries) {
    if (batch.length > 0 && bytes + entry.size > BATCH_BYTES) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += entry.size;
  }
  if (batch.length > 0) yield batch;
}

// src/commands/check-base.ts
async function changesSinceBase(options, head, base) {
  const tree = await writeCommitTree({
    root: options.root,
    revision: base.revision,
    fetchRemote: base.fetchRemote,
    env: base.env
  });
  try {
    const baseReport = runCheck({ ...options, root: tree.root });
    return compareChecks({
      base: {
        revision: base.revision,
        commit: tree.commit,
        report: baseReport,
        terms: readTerms(tree.root, baseReport)
      },
      head: { report: head, terms: readTerms(options.root, head) }
    });
  } finally {
    tree.remove();
  }
}
function withChanges(report, changes, scope) {
  const failed = scope === "all" ? report.failed : changes.newFailures.some((c) => fails(c.finding.severity, report.failOn)) || report.findings.some((f) => f.kind === "problem" && fails(f.severity, report.failOn));
  return { ...report, changes, failScope: scope, failed };
}

export {
  changesSinceBase,
  withChanges
};
