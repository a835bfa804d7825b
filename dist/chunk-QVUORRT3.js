import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  normalizeInclude,
  restoreToStream,
  restoreTree
} from "./chunk-HP26N7II.js";
import {
  BlobReader,
  backendFor,
  decodePackHeader,
  findSnapshot,
  listSnapshots,
  loadIndex,
  objectId,
  openRepository,
  packId,
  packName,
  packTail,
  planSystems,
  readListing,
  repositoryLocation
} from "./chunk-XP23BDUX.js";
import {
  formatBytes
} from "./chunk-CYGRTVLD.js";

// src/commands/restore.ts
import { resolve } from "node:path";

// src/commands/repository-access.ts
async function openSystemRepository(options) {
  const [item] = planSystems({ ...options, systems: [options.system] });
  const chosen = options.repository === void 0 ? item.repositories[0] : item.repositories.find((ref) => ref.name === options.repository);
  if (!chosen) {
    throw new Error(
      `system "${options.system}" does not use a repository named "${options.repository}"; it uses ${item.repositories.map((r) => r.name).join(", ")}`
    );
  }
  const repo = await openRepository(await backendFor(options.root, chosen.data), {
    root: options.root,
    system: item.system,
    env: options.env,
    create: false
  });
  return { item, name: chosen.name, repo };
}
async function openRepositories(options) {
  const planned = planSystems(options);
  const seen = /* @__PURE__ */ new Map();
  for (const item of planned) {
    for (const ref of item.repositories) {
      if (options.repository !== void 0 && ref.name !== options.repository) continue;
      const key = repositoryLocation(options.root, ref.data);
      const known = seen.get(key);
      if (known) known.systems.push(item.system.name);
      else seen.set(key, { name: ref.name, item, data: ref.data, systems: [item.system.name] });
    }
  }
  if (seen.size === 0) throw new Error(`no repository named "${options.repository}" in the policies`);
  const opened = [];
  const failed = [];
  for (const { name, item, data, systems } of seen.values()) {
    try {
      const repo = await openRepository(await backendFor(options.root, data), {
        root: options.root,
        system: item.system,
        env: options.env,
        create: false
      });
      opened.push({ name, repo, systems });
    } catch (error) {
      if (!options.onUnavailable) throw error;
      failed.push({ name, error });
    }
  }
  if (opened.length === 0 && failed.length > 0) throw failed[0].error;
  for (const { name, error } of failed) options.onUnavailable?.(name, error);
  return opened;
}

// src/commands/restore.ts
async function runRestore(options) {
  const started = Date.now();
  const { repo, name } = await openSystemRepository(options);
  const damaged = [];
  const refs = await listSnapshots(repo, (id2, message) => damaged.push({ id: id2, message }));
  const { id, snapshot } = chooseSnapshot(refs, damaged, options);
  const warnings = damaged.map((d) => `snapshots/${d.id} is damaged and was skipped: ${d.message}`);
  const index = await loadIndex(
    repo,
    (object, message) => warnings.push(`${object} is damaged and was skipped: ${message}`)
  );
  const reader = new BlobReader(repo, index, { decodeThread: true });
  try {
    const restored = await restoreWith(
      reader,
      options,
      { repository: name, snapshot: id, system: snapshot.system },
      snapshot.tree,
      snapshot.summary.bytes,
      started
    );
    return { ...restored, warnings };
  } finally {
    await reader.close();
  }
}
function chooseSnapshot(refs, damaged, options) {
  try {
    return findSnapshot(refs, options.snapshot, options.system);
  } catch (error) {
    const hit = damaged.find((d) => options.snapshot !== "latest" && d.id.startsWith(options.snapshot));
    if (hit) throw new Error(`snapshots/${hit.id} is damaged: ${hit.message}`, { cause: error });
    throw error;
  }
}
async function restoreWith(reader, options, result, tree, snapshotBytes, started) {
  const id = result.snapshot;
  if ("dir" in options.target) {
    const { totals, problems } = await restoreTree(reader, tree, resolve(options.target.dir), {
      ...options.include !== void 0 ? { include: options.include } : {},
      ...options.onProgress ? {
        onProgress: (totals2, current) => options.onProgress(totals2, current, options.include === void 0 ? snapshotBytes : void 0)
      } : {}
    });
    if (options.include !== void 0 && totals.files + totals.dirs + totals.symlinks === 0 && problems.length === 0) {
      throw new Error(`snapshot ${id.slice(0, 8)} holds nothing at ${options.include}`);
    }
    return { ...result, totals, problems, durationMs: Date.now() - started };
  }
  const node = await oneFile(reader, tree, options.include, id);
  const bytes = await restoreToStream(reader, node, options.target.stream);
  return {
    ...result,
    totals: { files: 1, dirs: 0, symlinks: 0, bytes },
    problems: [],
    durationMs: Date.now() - started
  };
}
async function oneFile(reader, tree, include, id) {
  const wanted = include === void 0 ? void 0 : normalizeInclude(include);
  const files = [];
  for await (const node2 of readListing(reader, tree)) {
    if (wanted === void 0 ? node2.type === "file" : node2.path === wanted) {
      files.push(node2);
      if (files.length > 1) break;
    }
  }
  const label = id.slice(0, 8);
  if (files.length === 0)
    throw new Error(wanted ? `snapshot ${label} holds no ${wanted}` : `snapshot ${label} holds no file`);
  if (files.length > 1)
    throw new Error(`snapshot ${label} holds several files: name one with --path to write it to stdout`);
  const node = files[0];
  if (node.type !== "file")
    throw new Error(`${node.path} in snapshot ${label} is a ${node.type}, not a file`);
  return node;
}

// src/commands/snapshots.ts
async function runSnapshots(options) {
  const rows = [];
  const problems = [];
  const onUnavailable = (name, error) => problems.push(`repository ${name} cannot be read: ${error.message}`);
  for (const { name, repo, systems } of await openRepositories({ ...options, onUnavailable })) {
    const wanted = new Set(options.systems && options.systems.length > 0 ? options.systems : systems);
    for (const { id, snapshot } of await listSnapshots(
      repo,
      (id2, message) => problems.push(`snapshots/${id2}: ${message}`)
    )) {
      if (!wanted.has(snapshot.system)) continue;
      rows.push({
        repository: name,
        location: repo.location,
        id,
        system: snapshot.system,
        time: snapshot.time,
        hostname: snapshot.hostname,
        summary: snapshot.summary,
        problems: snapshot.problems.length
      });
    }
  }
  return { rows, problems };
}

// src/engine/checker.ts
async function checkRepository(repo, options) {
  const findings = [];
  const badBlobs = /* @__PURE__ */ new Map();
  const index = await loadIndex(
    repo,
    (object, message) => findings.push({
      object,
      message: `${message} (the packs it lists can be re-indexed from their headers)`,
      affected: []
    })
  );
  const packs = /* @__PURE__ */ new Map();
  for (const [id, at] of index.entries()) {
    const blobs = packs.get(at.pack) ?? [];
    if (blobs.length === 0) packs.set(at.pack, blobs);
    blobs.push({ id, type: at.type, offset: at.offset, length: at.length, rawLength: at.rawLength });
  }
  const stored = new Map((await repo.backend.list("data/")).map((info) => [info.name, info.size]));
  const indexedNames = /* @__PURE__ */ new Set();
  for (const [pack, blobs] of packs) {
    const name = packName(pack);
    indexedNames.add(name);
    const size = stored.get(name);
    const end = Math.max(...blobs.map((blob) => blob.offset + blob.length));
    if (size === void 0) {
      markPack(blobs, badBlobs, findings, name, "is missing, but the index lists blobs in it");
    } else if (size < end + 4) {
      markPack(
        blobs,
        badBlobs,
        findings,
        name,
        `is truncated: ${size} bytes, the index needs at least ${end + 4}`
      );
    }
  }
  let unindexedPacks = 0;
  let unindexedBytes = 0;
  for (const [name, size] of stored) {
    if (indexedNames.has(name)) continue;
    unindexedPacks++;
    unindexedBytes += size;
  }
  let packsRead = 0;
  let bytesRead = 0;
  if (options.readData > 0) {
    const broken = new Set(findings.map((finding) => finding.object));
    const subset = [...packs.keys()].filter(
      (pack) => !broken.has(packName(pack)) && (options.readData >= 1 || sampled(pack, options.readData))
    );
    for (const pack of subset) {
      options.onProgress?.(packsRead, subset.length);
      const result = await readPack(repo, index, { pack, blobs: packs.get(pack) });
      packsRead++;
      bytesRead += result.bytes;
      for (const problem of result.problems) {
        const finding = { object: packName(pack), message: problem.message, affected: [] };
        findings.push(finding);
        for (const blob of problem.blobs) badBlobs.set(blob, finding);
      }
    }
  }
  const reader = new BlobReader(repo, index);
  const snapshots = await listSnapshots(
    repo,
    (id, message) => findings.push({ object: `snapshots/${id}`, message, affected: [] })
  );
  for (const { id, snapshot } of snapshots) {
    const label = id.slice(0, 8);
    for (const blob of snapshot.tree) {
      const bad = badBlobs.get(blob);
      if (bad) bad.affected.push(`${label}:(listing of ${snapshot.system})`);
      else if (!index.has(blob)) {
        findings.push({
          object: `snapshots/${id}`,
          message: `listing blob ${blob} is in no index`,
          affected: [`${label}:(listing)`]
        });
      }
    }
    try {
      for await (const node of readListing(
        reader,
        snapshot.tree,
        (message) => findings.push({ object: `snapshots/${id}`, message, affected: [] })
      )) {
        for (const blob of node.content ?? []) {
          const bad = badBlobs.get(blob);
          if (bad) {
            if (bad.affected.at(-1) !== `${label}:${node.path}`) bad.affected.push(`${label}:${node.path}`);
          } else if (!index.has(blob)) {
            const finding = {
              object: `blob ${blob}`,
              message: "is in no index",
              affected: [`${label}:${node.path}`]
            };
            findings.push(finding);
            badBlobs.set(blob, finding);
          }
        }
      }
    } catch (error) {
      findings.push({
        object: `snapshots/${id}`,
        message: `listing cannot be read: ${error.message}`,
        affected: []
      });
    }
  }
  return {
    snapshots: snapshots.length,
    packs: packs.size,
    blobs: index.size,
    packsRead,
    bytesRead,
    unindexedPacks,
    unindexedBytes,
    findings
  };
}
function markPack(blobs, badBlobs, findings, name, message) {
  const finding = { object: name, message, affected: [] };
  findings.push(finding);
  for (const blob of blobs) badBlobs.set(blob.id, finding);
}
function sampled(pack, fraction) {
  return Number.parseInt(pack.slice(0, 8), 16) / 4294967296 < fraction;
}
async function readPack(repo, index, indexed) {
  const { pack } = indexed;
  const name = packName(pack);
  const problems = [];
  const data = await repo.backend.read(name);
  const tail = packTail(data);
  if (!tail || packId(tail.header, tail.trailer) !== pack) {
    problems.push({ message: "its header does not match its name (altered or damaged)", blobs: [] });
  }
  try {
    const header = decodePackHeader(repo, name, data);
    const inHeader = new Set(header.map((blob) => blob.id));
    const missing = indexed.blobs.filter((blob) => !inHeader.has(blob.id));
    if (missing.length > 0) {
      problems.push({
        message: `${missing.length} indexed blobs are not in its header`,
        blobs: missing.map((b) => b.id)
      });
    }
  } catch (error) {
    problems.push({ message: error.message, blobs: [] });
  }
  const reader = new BlobReader(repo, index);
  for (const blob of indexed.blobs) {
    try {
      const plain = await reader.decode(
        blob.id,
        { ...blob, pack },
        name,
        data.subarray(blob.offset, blob.offset + blob.length)
      );
      if (objectId(repo.idKey, plain) !== blob.id) throw new Error(`blob ${blob.id} does not hash to its id`);
    } catch (error) {
      problems.push({ message: error.message, blobs: [blob.id] });
    }
  }
  return { bytes: data.length, problems };
}

// src/commands/verify.ts
async function runVerify(options) {
  const results = [];
  for (const { name, repo } of await openRepositories(options)) {
    const result = await checkRepository(repo, {
      readData: options.readData,
      onProgress: (done, total) => options.onProgress?.(name, done, total)
    });
    results.push({ ...result, repository: name, location: repo.location });
  }
  return results;
}
function parseSubset(text) {
  let value;
  const fraction = /^(\d+)\/(\d+)$/.exec(text);
  if (text.endsWith("%")) value = Number(text.slice(0, -1)) / 100;
  else if (fraction) value = Number(fraction[1]) / Number(fraction[2]);
  else value = Number(text);
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : void 0;
}
function unindexedNote(result) {
  const one = result.unindexedPacks === 1;
  return `${one ? "1 pack" : `${result.unindexedPacks} packs`} (${formatBytes(result.unindexedBytes)}) ${one ? "is" : "are"} in no index: left by an interrupted backup or prune, or being written by one still running; no snapshot needs ${one ? "it" : "them"}, and \`restorable prune\` removes ${one ? "it" : "them"}`;
}

export {
  openSystemRepository,
  runRestore,
  runSnapshots,
  runVerify,
  parseSubset,
  unindexedNote
};
