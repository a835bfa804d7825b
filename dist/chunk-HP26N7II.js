import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  BlobReader,
  CREDENTIAL_ENV,
  ListingWriter,
  PackWriter,
  RepositoryError,
  backendFor,
  encodeBlob,
  encodeIndex,
  holdLocks,
  listSnapshots,
  loadIndex,
  objectId,
  openRepository,
  passphraseVariable,
  planSystems,
  readListing,
  release,
  sealedLength,
  writeSnapshot
} from "./chunk-XP23BDUX.js";
import {
  SIGNING_ENV,
  TOKEN_ENV
} from "./chunk-2X7ZTPOP.js";
import {
  cronPrevious,
  formatDuration,
  parseCron,
  parseDuration
} from "./chunk-TKDTUBCU.js";

// src/engine/backup.ts
import { hostname } from "node:os";

// src/engine/archiver.ts
var READS_AHEAD = 512;
var ENTRIES_AHEAD = 16384;
var PROGRESS_BYTES = 4 * 1024 * 1024;
var Archiver = class {
  sinks;
  pool;
  totals = { files: 0, dirs: 0, symlinks: 0, bytes: 0, bytesRead: 0 };
  problems = [];
  onProgress;
  expected;
  current = "";
  constructor(targets, pool, onProgress = () => {
  }, expected) {
    this.expected = expected;
    this.pool = pool;
    this.sinks = targets.map((target) => ({
      store: target.store,
      parent: target.parent,
      listing: new ListingWriter(target.store)
    }));
    this.onProgress = onProgress;
  }
  /** Reports progress; the pool calls it as chunks of files still being read arrive. */
  report(current = this.current) {
    this.current = current;
    this.onProgress({
      files: this.totals.files,
      bytesRead: this.totals.bytesRead,
      bytes: this.totals.bytes + this.pool.partialBytes,
      ...this.expected !== void 0 ? { expected: this.expected } : {},
      current
    });
  }
  /** Adds every entry, in order, with up to READS_AHEAD files being read and ENTRIES_AHEAD entries listed ahead. */
  async addEntries(entries) {
    const iterator = entries[Symbol.asyncIterator]();
    const window = [];
    let ended = false;
    let reading = 0;
    const fill = async () => {
      while (!ended && reading < READS_AHEAD && window.length < ENTRIES_AHEAD) {
        const next = await iterator.next();
        if (next.done) ended = true;
        else {
          const entry = next.value;
          const reused = this.reusable(entry);
          const readers = reused.flatMap((content2, i) => content2 === void 0 ? [i] : []);
          const content = entry.type === "file" && readers.length > 0 ? this.pool.readFile(entry, readers) : void 0;
          if (content) {
            content.catch(() => {
            });
            reading++;
            window.push({ entry, reused, content, read: this.pool.requested });
          } else {
            window.push({ entry, reused });
          }
        }
      }
    };
    await fill();
    while (window.length > 0) {
      const { entry, reused, content, read } = window.shift();
      if (content) {
        reading--;
        this.pool.sendThrough(read);
      }
      await this.addEntry(entry, reused, content);
      if (!ended && (reading < READS_AHEAD / 2 || window.length < ENTRIES_AHEAD / 2)) await fill();
    }
  }
  /** Per target, the content ids of the previous snapshot's file when it is unchanged. */
  reusable(entry) {
    return this.sinks.map((sink) => {
      const previous = sink.parent?.get(entry.path);
      return previous?.type === "file" && previous.size === entry.size && previous.mtime === entry.mtime && previous.ctime === entry.ctime && previous.inode === entry.inode && previous.content ? previous.content : void 0;
    });
  }
  async addEntry(entry, reused, pending) {
    const base = {
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      mtime: entry.mtime,
      uid: entry.uid,
      gid: entry.gid
    };
    if (entry.type === "dir") {
      this.totals.dirs++;
      for (const sink of this.sinks) await sink.listing.add(base);
      return;
    }
    if (entry.type === "symlink") {
      this.totals.symlinks++;
      for (const sink of this.sinks) await sink.listing.add({ ...base, target: entry.target ?? "" });
      return;
    }
    const contents = [...reused];
    let size = entry.size;
    if (pending) {
      const read = await pending;
      if ("error" in read) {
        this.problems.push({ path: entry.path, message: read.error });
        return;
      }
      size = read.size;
      this.totals.bytesRead += size;
      for (let i = 0; i < contents.length; i++) contents[i] ??= read.ids[i];
    }
    this.totals.files++;
    this.totals.bytes += size;
    this.report(entry.path);
    for (let i = 0; i < this.sinks.length; i++) {
      await this.sinks[i].listing.add({
        ...base,
        size,
        content: contents[i],
        inode: entry.inode,
        ctime: entry.ctime
      });
    }
  }
  /** A command's output as one file of the snapshot. */
  async addStream(path, stream, meta) {
    const writer = this.pool.openStream(this.sinks.map((_, i) => i));
    let lastProgress = 0;
    for await (const data of stream) {
      this.totals.bytesRead += data.length;
      await writer.write(data);
      release(data);
      if (this.totals.bytesRead - lastProgress >= PROGRESS_BYTES) {
        lastProgress = this.totals.bytesRead;
        this.report(path);
      }
    }
    const read = await writer.end();
    if ("error" in read) throw new Error(`${path}: ${read.error}`);
    this.totals.files++;
    this.totals.bytes += read.size;
    for (let i = 0; i < this.sinks.length; i++) {
      await this.sinks[i].listing.add({
        path,
        type: "file",
        ...meta,
        size: read.size,
        content: read.ids[i]
      });
    }
  }
  /** Finishes every listing; returns each target's tree blob ids. The stores still need closing. */
  async finish() {
    const trees = [];
    for (const sink of this.sinks) trees.push(await sink.listing.finish());
    return trees;
  }
};

// src/engine/blob-store.ts
var PACKS_PER_INDEX = 128;
var BlobStore = class {
  repo;
  index;
  stats = { blobsAdded: 0, bytesAdded: 0, bytesStored: 0, packsWritten: 0 };
  pending = /* @__PURE__ */ new Set();
  packer;
  unindexed = [];
  indexWrites = [];
  constructor(repo, index) {
    this.repo = repo;
    this.index = index;
    this.packer = new PackWriter(repo, (contents, size) => {
      this.index.addPack(contents);
      for (const blob of contents.blobs) this.pending.delete(blob.id);
      this.stats.bytesStored += size;
      this.stats.packsWritten++;
      this.unindexed.push(contents);
      if (this.unindexed.length >= PACKS_PER_INDEX) this.indexWrites.push(this.writeIndex());
    });
  }
  has(id) {
    return this.index.has(id) || this.pending.has(id);
  }
  /** Encodes and stores a blob unless the repository has it; returns its id. */
  async store(type, plain) {
    const id = objectId(this.repo.idKey, plain);
    if (!this.has(id))
      await this.add(type, id, encodeBlob(this.repo.dataKey, this.repo.config.id, id, plain), plain.length);
    return id;
  }
  /**
   * Stores a blob a content worker encoded. Without `sealed`, the worker found the id among those the index
   * held when the backup began; that is checked here, since the worker compared only a prefix.
   */
  async addEncoded(type, id, rawLength, sealed) {
    if (this.has(id)) return;
    if (!sealed) {
      throw new Error(
        `blob ${id} was taken for one the repository holds, but the index lacks it (an id prefix collision): nothing was committed; run the backup again`
      );
    }
    await this.add(type, id, sealed, rawLength);
  }
  async add(type, id, sealed, rawLength) {
    this.pending.add(id);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += rawLength;
    await this.packer.add(type, id, sealed, rawLength);
  }
  async writeIndex() {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    const plain = encodeIndex(packs);
    this.stats.bytesStored += sealedLength(plain.length);
    await this.repo.writeSealed("index", "index", plain);
  }
  /** Writes the last pack and the index. Only after this may a snapshot refer to the blobs. */
  async close() {
    await this.packer.close();
    await Promise.all(this.indexWrites);
    await this.writeIndex();
  }
};

// src/engine/content-pool.ts
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

// src/engine/content-protocol.ts
function idPrefix(id) {
  return BigInt(`0x${id.slice(0, 16)}`);
}
function knownTable(ids, count) {
  const table = new BigUint64Array(new SharedArrayBuffer(count * 8));
  let at = 0;
  for (const id of ids) table[at++] = idPrefix(id);
  return table.subarray(0, at).sort();
}

// src/engine/content-pool.ts
var CREDIT_BYTES = 8 * 1024 * 1024;
var BATCH_FILES = 64;
var BATCH_BYTES = 2 * 1024 * 1024;
var SMALL_FILE_BYTES = 256 * 1024;
var STREAM_PIECE = 1024 * 1024;
var STREAM_AHEAD = 4 * 1024 * 1024;
function defaultWorkerCount(env = process.env) {
  const asked = Number(env.RESTORABLE_WORKERS);
  if (Number.isInteger(asked) && asked >= 1 && asked <= 64) return asked;
  return Math.min(4, availableParallelism() + 1);
}
function workerUrl() {
  return new URL(
    import.meta.url.endsWith(".ts") ? "./content-worker.ts" : "./content-worker.js",
    import.meta.url
  );
}
var ContentPool = class {
  stores;
  jobs = /* @__PURE__ */ new Map();
  nextJob = 0;
  requests = 0;
  batch;
  /** Messages are handled one at a time: blobs reach the packs in the order each worker sent them. */
  chain = Promise.resolve();
  failure;
  closed = false;
  /** Plain bytes chunked so far in files not yet complete, for progress. */
  partialBytes = 0;
  onBytes;
  constructor(stores, options = {}) {
    this.stores = stores;
    this.onBytes = options.onBytes ?? (() => {
    });
    const init = {
      targets: stores.map((store) => ({
        repository: store.repo.config.id,
        dataKey: store.repo.keys.data,
        idKey: store.repo.keys.id,
        gear: store.repo.gear,
        known: knownTable(store.index.ids(), store.index.size)
      })),
      creditBytes: CREDIT_BYTES
    };
    this.init = init;
    this.maxWorkers = options.workers ?? defaultWorkerCount();
  }
  init;
  maxWorkers;
  workers = [];
  startWorker() {
    const thread = new Worker(workerUrl(), { workerData: this.init });
    const worker = { thread, load: 0, unconsumed: 0 };
    thread.on("message", (message) => this.receive(worker, message));
    thread.on("error", (error) => this.fail(new Error(`a content worker failed: ${error.message}`)));
    thread.on("exit", (code) => {
      if (!this.closed) this.fail(new Error(`a content worker stopped unexpectedly (exit code ${code})`));
    });
    this.workers.push(worker);
    return worker;
  }
  /**
   * Reads a file for the given targets (indexes into the stores). Small files wait for a batch: call `flush`,
   * or `sendThrough` with the request's number, before waiting on a result.
   */
  readFile(file, targets) {
    this.requests++;
    if (this.failure) return Promise.reject(this.failure);
    const job = { absolute: file.absolute, size: file.size, targets };
    if (file.inode !== void 0) job.inode = file.inode;
    if (file.size > SMALL_FILE_BYTES) {
      return this.submit([job], file.size).then((contents) => contents[0]);
    }
    this.batch ??= { files: [], bytes: 0, first: this.requests, waiters: [] };
    const batch = this.batch;
    batch.files.push(job);
    batch.bytes += file.size;
    const result = new Promise((resolve2, reject) => batch.waiters.push({ resolve: resolve2, reject }));
    if (batch.files.length >= BATCH_FILES || batch.bytes >= BATCH_BYTES) this.flush();
    return result;
  }
  /** How many files were asked for: the number of the last `readFile` call. */
  get requested() {
    return this.requests;
  }
  /** Sends the batch being gathered if it holds request number `request` (see `requested`) or a later one. */
  sendThrough(request) {
    if (this.batch && this.batch.first <= request) this.flush();
  }
  /** Sends the files gathered so far. */
  flush() {
    const batch = this.batch;
    if (!batch) return;
    this.batch = void 0;
    this.submit(batch.files, batch.bytes).then(
      (contents) => {
        for (const [i, content] of contents.entries()) batch.waiters[i].resolve(content);
      },
      (error) => {
        for (const waiter of batch.waiters) waiter.reject(error);
      }
    );
  }
  /** A command's output, handed over piece by piece to one worker. */
  openStream(targets) {
    const worker = this.leastLoaded();
    const job = this.nextJob++;
    const done = this.track(job, worker, [{ targets, ids: this.emptyIds(targets), bytes: 0 }], 0);
    this.send(worker, { type: "stream", job, targets });
    let piece = new Uint8Array(STREAM_PIECE);
    let used = 0;
    const sendPiece = async () => {
      if (used === 0) return;
      const data = piece.subarray(0, used);
      worker.unconsumed += used;
      this.send(worker, { type: "data", job, data }, [data.buffer]);
      piece = new Uint8Array(STREAM_PIECE);
      used = 0;
      while (worker.unconsumed > STREAM_AHEAD && !this.failure) {
        await new Promise((resolve2) => worker.onRoom = resolve2);
      }
      if (this.failure) throw this.failure;
    };
    return {
      write: async (data) => {
        if (this.failure) throw this.failure;
        let at = 0;
        while (at < data.length) {
          const take = Math.min(data.length - at, STREAM_PIECE - used);
          piece.set(data.subarray(at, at + take), used);
          used += take;
          at += take;
          if (used === STREAM_PIECE) await sendPiece();
        }
      },
      end: async () => {
        await sendPiece();
        this.send(worker, { type: "end", job });
        return (await done)[0];
      }
    };
  }
  /** Stops the workers. Pending work is abandoned; call after the last result was awaited. */
  async close() {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.thread.terminate()));
    await this.chain;
  }
  emptyIds(targets) {
    const ids = this.stores.map(() => void 0);
    for (const target of targets) ids[target] = [];
    return ids;
  }
  /** The least busy worker; a new one while all are busy and there is room (a command's output needs one). */
  leastLoaded() {
    const idle = this.workers.find((worker) => worker.load === 0 && worker.unconsumed === 0);
    if (idle) return idle;
    if (this.workers.length < this.maxWorkers) return this.startWorker();
    return this.workers.reduce((best, worker) => worker.load < best.load ? worker : best);
  }
  submit(files, weight) {
    const worker = this.leastLoaded();
    const job = this.nextJob++;
    const pending = files.map((file) => ({
      targets: file.targets,
      ids: this.emptyIds(file.targets),
      bytes: 0
    }));
    const done = this.track(job, worker, pending, weight);
    this.send(worker, { type: "files", job, files });
    return done;
  }
  track(job, worker, files, weight) {
    worker.load += weight + 1;
    return new Promise((resolve2, reject) => {
      this.jobs.set(job, { worker, files, weight: weight + 1, resolve: resolve2, reject });
    });
  }
  send(worker, message, transfer = []) {
    worker.thread.postMessage(message, transfer);
  }
  receive(worker, message) {
    if (message.type === "fatal") {
      this.fail(new Error(`a content worker failed: ${message.message}`));
      return;
    }
    if (message.type === "consumed") {
      worker.unconsumed -= message.bytes;
      if (worker.unconsumed <= STREAM_AHEAD && worker.onRoom) {
        const wake = worker.onRoom;
        worker.onRoom = void 0;
        wake();
      }
      return;
    }
    this.chain = this.chain.then(async () => {
      if (this.failure) return;
      try {
        await this.handle(worker, message);
      } catch (error) {
        this.fail(error);
      }
    });
  }
  async handle(worker, message) {
    const job = this.jobs.get(message.job);
    if (!job) throw new Error(`content worker sent results for unknown job ${message.job}`);
    if (message.type === "done") {
      this.jobs.delete(message.job);
      worker.load -= job.weight;
      job.resolve(
        message.outcomes.map((outcome, i) => {
          const file = job.files[i];
          this.partialBytes -= file.bytes;
          return "error" in outcome ? outcome : { size: outcome.size, ids: file.ids };
        })
      );
      return;
    }
    let progressed = false;
    for (const entry of message.entries) {
      const file = job.files[entry.file];
      const range = entry.sealed;
      const sealed = range && message.slabs[range.slab].subarray(range.at, range.at + range.length);
      await this.stores[entry.target].addEncoded("data", entry.id, entry.rawLength, sealed);
      file.ids[entry.target].push(entry.id);
      if (entry.target === file.targets[0]) {
        file.bytes += entry.rawLength;
        this.partialBytes += entry.rawLength;
        progressed = true;
      }
    }
    for (const slab of message.slabs) release(slab);
    this.send(worker, { type: "credit", bytes: message.bytes });
    if (progressed) this.onBytes();
  }
  fail(error) {
    if (this.closed) return;
    this.failure ??= error;
    for (const worker of this.workers) {
      const wake = worker.onRoom;
      worker.onRoom = void 0;
      wake?.();
    }
    for (const [id, job] of this.jobs) {
      this.jobs.delete(id);
      job.reject(this.failure);
    }
  }
};

// src/engine/backup.ts
async function backupSystem(repositories, source, options) {
  const started = (options.now ?? (() => /* @__PURE__ */ new Date()))();
  const locks = await holdLocks(repositories, "shared", { purpose: `backup ${options.system}` });
  try {
    const input = typeof source === "function" ? source() : source;
    return await backupLocked(repositories, input, options, started);
  } finally {
    await locks.release();
  }
}
async function backupLocked(repositories, input, options, started) {
  const prepared = await Promise.all(
    repositories.map(async (repo) => {
      const index = await loadIndex(repo);
      const previous = (await listSnapshots(repo, () => {
      })).filter(
        (ref) => ref.snapshot.system === options.system
      );
      const parent = findParent(previous, input);
      const store = new BlobStore(repo, index);
      return {
        repo,
        store,
        parent,
        expected: previous.at(-1)?.snapshot.summary.bytes,
        nodes: parent ? await parentNodes(repo, store, parent.snapshot) : void 0
      };
    })
  );
  const pool = new ContentPool(
    prepared.map(({ store }) => store),
    { onBytes: () => archiver.report() }
  );
  const archiver = new Archiver(
    prepared.map(({ store, nodes }) => ({ store, parent: nodes })),
    pool,
    options.onProgress,
    prepared[0]?.expected
  );
  const time = started.toISOString();
  const mtime = (BigInt(started.getTime()) * 1000000n).toString();
  try {
    if (input.kind === "paths") {
      await archiver.addEntries(input.entries);
    } else {
      const exit = input.done.then(
        () => void 0,
        (error) => error
      );
      await archiver.addStream(input.filename, input.stdout, {
        mode: 384,
        mtime,
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0
      });
      const failure = await exit;
      if (failure) throw failure;
    }
  } catch (error) {
    await pool.close();
    await Promise.allSettled(prepared.map(({ store }) => store.close()));
    throw error;
  }
  await pool.close();
  const trees = await archiver.finish();
  await Promise.all(prepared.map(({ store }) => store.close()));
  const durationMs = Date.now() - started.getTime();
  const problems = [
    ...(input.kind === "paths" ? input.problems ?? [] : []).map(({ path, message }) => ({ path, message })),
    ...archiver.problems
  ];
  const results = [];
  for (let i = 0; i < prepared.length; i++) {
    const { repo, store, parent } = prepared[i];
    const summary = {
      files: archiver.totals.files,
      dirs: archiver.totals.dirs,
      symlinks: archiver.totals.symlinks,
      bytes: archiver.totals.bytes,
      bytesRead: archiver.totals.bytesRead,
      bytesAdded: store.stats.bytesAdded,
      bytesStored: store.stats.bytesStored,
      durationMs
    };
    const snapshot = {
      version: 1,
      system: options.system,
      policy: options.policy,
      time,
      hostname: hostname(),
      source: input.kind === "paths" ? { kind: "paths", paths: input.paths } : { kind: "command", command: input.command, filename: input.filename },
      tree: trees[i],
      ...parent ? { parent: parent.id } : {},
      summary,
      problems
    };
    const id = await writeSnapshot(repo, snapshot);
    results.push({ repository: repo.location, snapshot: id, summary, problems });
  }
  return results;
}
function findParent(previous, input) {
  if (input.kind !== "paths") return void 0;
  const same = previous.filter(
    (ref) => ref.snapshot.source.kind === "paths" && JSON.stringify(ref.snapshot.source.paths) === JSON.stringify(input.paths)
  );
  return same[same.length - 1];
}
async function parentNodes(repo, store, snapshot) {
  const nodes = /* @__PURE__ */ new Map();
  const reader = new BlobReader(repo, store.index);
  try {
    for await (const node of readListing(reader, snapshot.tree)) {
      if (node.type === "file" && node.content?.every((id) => store.index.has(id)))
        nodes.set(node.path, node);
    }
  } catch {
  }
  return nodes;
}

// src/sources/command.ts
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

// src/long-timeout.ts
var MAX_DELAY_MS = 2 ** 31 - 1;
function setLongTimeout(callback, ms) {
  let timer;
  const arm = (remaining) => {
    timer = setTimeout(
      () => remaining > MAX_DELAY_MS ? arm(remaining - MAX_DELAY_MS) : callback(),
      Math.min(remaining, MAX_DELAY_MS)
    );
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}

// src/sources/command.ts
var CommandError = class extends Error {
  reason;
  /** The command as the policy wrote it, before expansion (holds no secret values). */
  command;
  exitCode;
  signal;
  /** The last 2 KiB or so of stderr, secrets masked; '' when there was none. */
  stderrTail;
  constructor(reason, command, message, details = {}, options) {
    super(message, options);
    this.name = "CommandError";
    this.reason = reason;
    this.command = command;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderrTail = details.stderrTail ?? "";
  }
};
var STDERR_TAIL_BYTES = 2048;
var DEFAULT_KILL_GRACE_MS = 1e4;
var NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
function expandArgv(argv, env) {
  const secrets = /* @__PURE__ */ new Set();
  const fail = (reason, index, what) => {
    throw new CommandError(
      reason,
      argv,
      `command ${describe(argv)}: argument ${index} (${JSON.stringify(argv[index])}) ${what}`
    );
  };
  const expanded = argv.map(
    (arg, index) => arg.replace(
      /\$(?:\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|)/g,
      (match, braced, bare) => {
        if (match === "$$") return "$";
        const name = braced ?? bare;
        if (name === void 0) {
          return fail(
            "bad-reference",
            index,
            "has a `$` that starts no variable name: write `$$` for a literal `$`"
          );
        }
        if (!NAME.test(name)) {
          return fail(
            "bad-reference",
            index,
            `refers to ${JSON.stringify(match)}, which is not a variable name`
          );
        }
        const value = env[name];
        if (value === void 0) return fail("unset-variable", index, `uses $${name}, which is not set`);
        if (value !== "") secrets.add(value);
        return value;
      }
    )
  );
  return { argv: expanded, secrets: [...secrets].sort((a, b) => b.length - a.length) };
}
function maskSecrets(text, secrets) {
  let masked = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret !== "") masked = masked.replaceAll(secret, "***");
  }
  return masked;
}
function describe(argv) {
  return `${argv[0] ?? "(empty)"} ${JSON.stringify(argv)}`;
}
function formatTimeout(ms) {
  return ms % 1e3 === 0 ? formatDuration(ms / 1e3) : `${ms}ms`;
}
function runCommand(argv, options) {
  if (argv.length === 0 || argv[0] === "") {
    throw new CommandError("spawn", argv, `command ${describe(argv)}: the program to run is empty`);
  }
  if (options.timeoutMs !== void 0 && !(Number.isSafeInteger(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new RangeError(
      `timeoutMs must be a positive whole number of milliseconds, got ${options.timeoutMs}`
    );
  }
  const { argv: expanded, secrets } = expandArgv(argv, options.env);
  const command = [...argv];
  const failed = (reason, what, details = {}) => {
    const tail = details.stderrTail ?? "";
    const stderr2 = tail === "" ? "" : `; stderr: ${tail.replace(/\s*\r?\n\s*/g, " \u23CE ")}`;
    return new CommandError(
      reason,
      command,
      maskSecrets(`command ${describe(command)} ${what}${stderr2}`, secrets),
      details
    );
  };
  if (options.signal?.aborted) {
    const done2 = Promise.reject(failed("aborted", "was aborted before it started"));
    done2.catch(() => {
    });
    return { stdout: failedOutput(done2), done: done2, stderrTail: () => "" };
  }
  let child;
  try {
    child = spawn(expanded[0], expanded.slice(1), {
      cwd: options.cwd,
      env: options.env,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    });
  } catch (error) {
    const code = error.code ?? "invalid arguments";
    throw failed("spawn", `could not be started: ${code}`);
  }
  const stderr = new OutputTail(STDERR_TAIL_BYTES);
  child.stderr.on("data", (chunk) => stderr.add(chunk));
  child.stderr.on("error", () => {
  });
  child.stdout.on("error", () => {
  });
  child.stdout.on("readable", () => {
  });
  const stopper = new Stopper(child, options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
  let stoppedFor;
  const stop = (why) => {
    stoppedFor ??= why;
    stopper.stop();
    child.stdout?.destroy();
  };
  const timer = options.timeoutMs === void 0 ? void 0 : setLongTimeout(() => stop("timeout"), options.timeoutMs);
  const onAbort = () => stop("aborted");
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const done = new Promise((resolve2, reject) => {
    let spawnError;
    child.on("error", (error) => {
      spawnError ??= error;
      if (child.pid === void 0) settle(null, null);
    });
    child.once("close", (code, signal) => settle(code, signal));
    let settled = false;
    function settle(code, signal) {
      if (settled) return;
      settled = true;
      timer?.clear();
      options.signal?.removeEventListener("abort", onAbort);
      stopper.finished();
      const stderrTail = stderr.text(secrets);
      if (spawnError !== void 0 && child.pid === void 0) {
        reject(failed("spawn", `could not be started: ${spawnReason(spawnError, options.cwd)}`));
      } else if (stoppedFor === "timeout") {
        reject(failed("timeout", `timed out after ${formatTimeout(options.timeoutMs)}`, { stderrTail }));
      } else if (stoppedFor === "aborted") {
        reject(failed("aborted", "was aborted", { stderrTail }));
      } else if (signal !== null) {
        reject(failed("signal", `was killed by signal ${signal}`, { signal, stderrTail }));
      } else if (code !== 0) {
        reject(failed("exit", `exited with code ${code}`, { exitCode: code ?? void 0, stderrTail }));
      } else if (spawnError !== void 0) {
        reject(failed("spawn", `failed: ${spawnError.code ?? spawnError.message}`, { stderrTail }));
      } else {
        resolve2();
      }
    }
  });
  done.catch(() => {
  });
  async function* output() {
    let complete = false;
    try {
      for await (const chunk of child.stdout) yield chunk;
      complete = true;
    } catch (error) {
      if (stoppedFor === void 0) throw error;
    } finally {
      if (!complete) stop("aborted");
    }
    await done;
  }
  return { stdout: output(), done, stderrTail: () => stderr.text(secrets) };
}
function failedOutput(done) {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => done.then(() => ({ done: true, value: void 0 }))
    })
  };
}
function spawnReason(error, cwd) {
  if (error.code === "ENOENT") {
    if (!existsSync(cwd)) return `the working directory ${cwd} does not exist`;
    return "program not found (ENOENT); is it installed and on PATH?";
  }
  if (error.code === "EACCES") return "permission denied (EACCES); is the program executable?";
  return error.message;
}
var OutputTail = class {
  limit;
  chunks = [];
  length = 0;
  truncated = false;
  constructor(limit) {
    this.limit = limit;
  }
  add(chunk) {
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length > this.limit * 2) this.trim();
  }
  trim() {
    const all = Buffer.concat(this.chunks);
    if (all.length > this.limit) this.truncated = true;
    const kept = Buffer.from(all.subarray(Math.max(0, all.length - this.limit)));
    this.chunks = [kept];
    this.length = kept.length;
  }
  /**
   * The tail as text with the secrets masked, `…` first when earlier output was dropped. Where the cut
   * fell inside a secret, the rest of that secret (a suffix, which masking would not recognise) goes too,
   * and so does a character cut in the middle.
   */
  text(secrets) {
    this.trim();
    let text = (this.chunks[0] ?? Buffer.alloc(0)).toString("utf8");
    if (!this.truncated) return maskSecrets(text, secrets).trim();
    text = text.replace(/^\uFFFD+/, "");
    let cut = 0;
    for (const secret of secrets) {
      for (let length = secret.length - 1; length > cut; length--) {
        if (text.startsWith(secret.slice(-length))) {
          cut = length;
          break;
        }
      }
    }
    return `\u2026${maskSecrets(text.slice(cut), secrets).trimEnd()}`;
  }
};
var Stopper = class {
  child;
  graceMs;
  killTimer;
  done = false;
  constructor(child, graceMs) {
    this.child = child;
    this.graceMs = graceMs;
  }
  stop() {
    if (this.done || this.killTimer !== void 0) return;
    this.signal("SIGTERM");
    this.killTimer = setTimeout(() => this.signal("SIGKILL"), this.graceMs);
  }
  finished() {
    this.done = true;
    if (this.killTimer !== void 0) clearTimeout(this.killTimer);
  }
  signal(name) {
    const pid = this.child.pid;
    if (pid === void 0) return;
    try {
      process.kill(-pid, name);
    } catch {
    }
  }
};

// src/sources/paths.ts
import { isUtf8 } from "node:buffer";
import { accessSync, constants, lstatSync, readlinkSync, statSync } from "node:fs";
import { opendir, readdir, readlink, stat } from "node:fs/promises";
import { matchesGlob, resolve } from "node:path";

// src/sources/source.ts
function describeFsError(error, what) {
  const code = error?.code;
  switch (code) {
    case "EACCES":
    case "EPERM":
      return `permission denied: cannot read this ${what}`;
    case "ENOENT":
      return `${what} vanished during the backup`;
    case "ENOTDIR":
      return `${what} changed during the backup (a parent is no longer a directory)`;
    case "ELOOP":
      return "too many levels of symbolic links";
    case "EIO":
      return `input/output error reading this ${what}`;
    default:
      return `cannot read this ${what}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

// src/sources/paths.ts
var SourcePathError = class extends Error {
  /** The path as the policy wrote it. */
  path;
  constructor(path, message, options) {
    super(message, options);
    this.name = "SourcePathError";
    this.path = path;
  }
};
async function* walkPaths(root, paths, options) {
  const rootDir = resolve(root);
  const given = paths.map((path) => givenPath(rootDir, path));
  checkOverlaps(given);
  const context = new WalkContext(options);
  for (const path of given) await checkGiven(path);
  for (const node of planOrder(planTree(given))) {
    if (node.given === void 0) {
      yield await parentEntry(node);
      continue;
    }
    const start = await startGiven(node.given);
    if (start.entry !== void 0) yield start.entry;
    if (start.frame === void 0) continue;
    const stack = [start.frame];
    const branch = /* @__PURE__ */ new Set([start.frame.key]);
    let slice = performance.now();
    for (let entry = await nextEntry(stack, branch, context); entry; entry = await nextEntry(stack, branch, context)) {
      yield entry;
      if (performance.now() - slice > SLICE_MS) {
        await new Promise((resolve2) => setImmediate(resolve2));
        slice = performance.now();
      }
    }
  }
}
function givenPath(root, spec) {
  if (spec === "")
    throw new SourcePathError(spec, "a source path is empty: write a path, or `.` for the root");
  if (spec.includes("\0") || !spec.isWellFormed()) {
    throw new SourcePathError(spec, `source path ${JSON.stringify(spec)} is not a valid path`);
  }
  const isAbsolute = spec.startsWith("/");
  const segments = [];
  for (const segment of spec.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment !== "..") segments.push(segment);
    else if (segments.length > 0) segments.pop();
    else if (!isAbsolute) {
      throw new SourcePathError(
        spec,
        `source path ${JSON.stringify(spec)} is outside the repository root ${root}: relative paths must stay inside it; write the absolute path to back up something elsewhere`
      );
    }
  }
  const snapshot = segments.join("/");
  return { spec, snapshot, absolute: under(isAbsolute ? "/" : root, snapshot) };
}
function under(base, relative) {
  if (relative === "") return base;
  return base === "/" ? `/${relative}` : `${base}/${relative}`;
}
function within(outer, inner) {
  if (outer === "") return inner;
  if (inner === outer) return "";
  return inner.startsWith(`${outer}/`) ? inner.slice(outer.length + 1) : void 0;
}
function checkOverlaps(given) {
  given.forEach((a, i) => {
    for (const b of given.slice(i + 1)) {
      const [outer, inner] = a.snapshot.length <= b.snapshot.length ? [a, b] : [b, a];
      const rest = within(outer.snapshot, inner.snapshot);
      if (rest !== void 0 && under(outer.absolute, rest) !== inner.absolute) {
        throw new SourcePathError(
          inner.spec,
          `source paths ${JSON.stringify(outer.spec)} and ${JSON.stringify(inner.spec)} overlap in the snapshot (${JSON.stringify(inner.snapshot || ".")}) but name different files (${under(outer.absolute, rest)} and ${inner.absolute}): list only one of them`
        );
      }
    }
  });
}
async function checkGiven(path) {
  const stats = await statGiven(path);
  if (stats.isDirectory()) {
    try {
      await (await opendir(path.absolute)).close();
    } catch (error) {
      throw new SourcePathError(
        path.spec,
        `source path ${describeGiven(path)}: ${describeFsError(error, "directory")}`,
        { cause: error }
      );
    }
  } else if (!stats.isFile()) {
    throw new SourcePathError(
      path.spec,
      `source path ${describeGiven(path)} is ${typeName(stats)}, not a regular file or directory`
    );
  } else if (!readable(path.absolute, stats, void 0)) {
    throw new SourcePathError(
      path.spec,
      `source path ${describeGiven(path)} cannot be read: permission denied`
    );
  }
}
function describeGiven(path) {
  const spec = JSON.stringify(path.spec);
  return path.spec === path.absolute ? spec : `${spec} (${path.absolute})`;
}
async function statGiven(path) {
  try {
    return await stat(path.absolute, { bigint: true });
  } catch (error) {
    const code = error.code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      const link = await readlink(path.absolute).catch(() => void 0);
      const what = link === void 0 ? "does not exist" : `is a symbolic link to ${JSON.stringify(link)}, which does not exist`;
      throw new SourcePathError(path.spec, `source path ${describeGiven(path)} ${what}`, { cause: error });
    }
    throw new SourcePathError(
      path.spec,
      `source path ${describeGiven(path)}: ${describeFsError(error, "entry")}`,
      { cause: error }
    );
  }
}
async function listGiven(path) {
  try {
    return await list(path.absolute);
  } catch (error) {
    throw new SourcePathError(
      path.spec,
      `source path ${describeGiven(path)}: ${describeFsError(error, "directory")}`,
      { cause: error }
    );
  }
}
async function list(absolute) {
  const names = await readdir(absolute, { encoding: "buffer" });
  return names.sort(Buffer.compare);
}
function planTree(given) {
  const top = { name: Buffer.alloc(0), snapshot: "", absolute: "/", children: /* @__PURE__ */ new Map() };
  for (const path of given) {
    let node = top;
    const segments = path.snapshot === "" ? [] : path.snapshot.split("/");
    segments.forEach((segment, index) => {
      let child = node.children.get(segment);
      if (child === void 0) {
        const snapshot = segments.slice(0, index + 1).join("/");
        const absolute = path.absolute.slice(0, path.absolute.length - path.snapshot.length) + snapshot;
        child = { name: Buffer.from(segment), snapshot, absolute, children: /* @__PURE__ */ new Map() };
        node.children.set(segment, child);
      }
      node = child;
    });
    if (node.given === void 0) {
      node.given = path;
      node.absolute = path.absolute;
    }
  }
  return top;
}
function planOrder(node, into = []) {
  if (node.snapshot !== "" || node.given !== void 0) into.push(node);
  if (node.given === void 0) {
    const children = [...node.children.values()].sort((a, b) => Buffer.compare(a.name, b.name));
    for (const child of children) planOrder(child, into);
  }
  return into;
}
async function parentEntry(node) {
  const stats = await statGiven({ spec: node.absolute, snapshot: node.snapshot, absolute: node.absolute });
  if (!stats.isDirectory()) {
    throw new SourcePathError(node.absolute, `${node.absolute} is no longer a directory`);
  }
  return entryOf(node.snapshot, node.absolute, stats, "dir");
}
async function startGiven(path) {
  const stats = await statGiven(path);
  if (stats.isFile()) return { entry: entryOf(path.snapshot, path.absolute, stats, "file") };
  if (!stats.isDirectory()) await checkGiven(path);
  const names = await listGiven(path);
  const frame = {
    snapshot: path.snapshot,
    absolute: path.absolute,
    names,
    next: 0,
    key: keyOf(stats)
  };
  if (path.snapshot === "") return { frame };
  return { entry: entryOf(path.snapshot, path.absolute, stats, "dir"), frame };
}
var SLICE_MS = 10;
function childAbsolute(parent, raw) {
  return `${parent.absolute === "/" ? "" : parent.absolute}/${raw.toString("utf8")}`;
}
async function nextEntry(stack, branch, context) {
  for (; ; ) {
    const frame = stack[stack.length - 1];
    if (frame === void 0) return void 0;
    const raw = frame.names[frame.next];
    if (raw === void 0) {
      stack.pop();
      branch.delete(frame.key);
      continue;
    }
    frame.next += 1;
    const visit = await context.visit(frame, raw, branch);
    if (visit === void 0) continue;
    if (visit.frame !== void 0) {
      stack.push(visit.frame);
      branch.add(visit.frame.key);
    }
    return visit.entry;
  }
}
function requiredText(pattern) {
  if (/[\\[\]{}()!]/.test(pattern)) return [];
  if (pattern.split("/").some((segment) => segment === "." || segment === "..")) return [];
  return pattern.split(/[*?/]+/).filter((part) => part !== "");
}
var WalkContext = class {
  excludes;
  follow;
  report;
  uid = process.getuid?.();
  groups = new Set(process.getgroups?.() ?? []);
  constructor(options) {
    this.excludes = (options.exclude ?? []).map((written) => {
      if (written === "" || written === "/") {
        throw new SourcePathError(written, `exclude pattern ${JSON.stringify(written)} is empty`);
      }
      const pattern = written.startsWith("/") ? written.slice(1) : written;
      return { pattern, required: requiredText(pattern) };
    });
    this.follow = options.followSymlinks ?? false;
    this.report = options.onProblem;
  }
  excluded(path, isDirectory) {
    for (const { pattern, required } of this.excludes) {
      if (!required.every((text) => path.includes(text))) continue;
      if (matchesGlob(path, pattern) || isDirectory && matchesGlob(`${path}/`, pattern)) return true;
    }
    return false;
  }
  problem(path, absolute, message) {
    this.report({ path, absolute, message });
    return void 0;
  }
  async visit(parent, raw, branch) {
    const absolute = childAbsolute(parent, raw);
    const path = parent.snapshot === "" ? raw.toString("utf8") : `${parent.snapshot}/${raw.toString("utf8")}`;
    if (!isUtf8(raw)) {
      const bytes = raw.toString("hex").replace(/(..)(?!$)/g, "$1 ");
      return this.problem(path, absolute, `name is not valid UTF-8 (bytes ${bytes}): skipped`);
    }
    let stats;
    try {
      stats = lstatSync(absolute, { bigint: true });
    } catch (error) {
      if (this.excluded(path, true)) return void 0;
      return this.problem(path, absolute, `${describeFsError(error, "entry")}: skipped`);
    }
    if (stats.isSymbolicLink()) {
      if (this.follow) {
        const followed = this.followLink(path, absolute, branch);
        if (followed !== void 0) stats = followed;
      }
      if (stats.isSymbolicLink()) return this.visitLink(path, absolute, stats);
    }
    if (stats.isDirectory()) {
      if (this.excluded(path, true)) return void 0;
      let names;
      try {
        names = await list(absolute);
      } catch (error) {
        const code = error.code;
        if (code === "ENOENT" || code === "ENOTDIR") {
          return this.problem(path, absolute, `${describeFsError(error, "directory")}: skipped`);
        }
        this.problem(path, absolute, `${describeFsError(error, "directory")}: its contents are skipped`);
      }
      const entry = entryOf(path, absolute, stats, "dir");
      if (names === void 0) return { entry };
      return { entry, frame: { snapshot: path, absolute, names, next: 0, key: keyOf(stats) } };
    }
    if (this.excluded(path, false)) return void 0;
    if (stats.isFile()) {
      try {
        if (!readable(absolute, stats, this)) {
          return this.problem(path, absolute, "permission denied: cannot read this file: skipped");
        }
      } catch (error) {
        return this.problem(path, absolute, `${describeFsError(error, "file")}: skipped`);
      }
      return { entry: entryOf(path, absolute, stats, "file") };
    }
    return this.problem(
      path,
      absolute,
      `not a regular file, directory or symlink (${typeName(stats)}): skipped`
    );
  }
  /** What a link points to, when it is to be followed; undefined to store the link itself. */
  followLink(path, absolute, branch) {
    let target;
    try {
      target = statSync(absolute, { bigint: true });
    } catch {
      return void 0;
    }
    if (target.isDirectory() && branch.has(keyOf(target))) {
      this.problem(
        path,
        absolute,
        "symbolic link loops back to a directory above it: stored as a link, not followed"
      );
      return void 0;
    }
    return target;
  }
  visitLink(path, absolute, stats) {
    if (this.excluded(path, false)) return void 0;
    let target;
    try {
      target = readlinkSync(absolute, { encoding: "buffer" });
    } catch (error) {
      return this.problem(path, absolute, `${describeFsError(error, "entry")}: skipped`);
    }
    if (!isUtf8(target)) {
      return this.problem(path, absolute, "symbolic link target is not valid UTF-8: skipped");
    }
    return { entry: entryOf(path, absolute, stats, "symlink", target.toString("utf8")) };
  }
  /** Whether the mode bits alone show that this process may read the file (ACLs aside). */
  readableByMode(stats) {
    const mode = Number(stats.mode);
    if (mode & 4) return true;
    if (Number(stats.uid) === this.uid) return (mode & 256) !== 0;
    return (mode & 32) !== 0 && this.groups.has(Number(stats.gid));
  }
};
function readable(absolute, stats, context) {
  if (context?.readableByMode(stats)) return true;
  try {
    accessSync(absolute, constants.R_OK);
    return true;
  } catch (error) {
    const code = error.code;
    if (code === "EACCES" || code === "EPERM") return false;
    throw error;
  }
}
function keyOf(stats) {
  return `${stats.dev}:${stats.ino}`;
}
function typeName(stats) {
  if (stats.isSocket()) return "a socket";
  if (stats.isFIFO()) return "a fifo";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSymbolicLink()) return "a symbolic link";
  return "of an unknown type";
}
function entryOf(path, absolute, stats, type, target) {
  const mtimeNs = stats.mtimeNs;
  let mtimeMs = mtimeNs / 1000000n;
  if (mtimeNs < 0n && mtimeNs % 1000000n !== 0n) mtimeMs -= 1n;
  const entry = {
    path,
    type,
    mode: Number(stats.mode & 0o7777n),
    mtimeMs: Number(mtimeMs),
    mtimeNs,
    ctimeNs: stats.ctimeNs,
    size: type === "file" ? Number(stats.size) : 0,
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    dev: stats.dev,
    ino: stats.ino,
    absolute
  };
  if (target !== void 0) entry.target = target;
  return entry;
}

// src/commands/backup.ts
async function runBackup(options) {
  const planned = planSystems(options);
  const results = [];
  for (const item of planned) {
    const result = await backupOne(item, options);
    results.push(result);
    await options.onResult?.(result);
  }
  return results;
}
async function backupOne(item, options) {
  const clock = () => options.now ?? /* @__PURE__ */ new Date();
  const startedAt = clock().toISOString();
  const base = { system: item.system.name, policy: item.policy.metadata.name, file: item.file };
  const finish = (result) => ({
    ...result,
    startedAt,
    finishedAt: clock().toISOString()
  });
  const abandon = new AbortController();
  try {
    const repos = await Promise.all(
      item.repositories.map(
        async ({ data }) => openRepository(await backendFor(options.root, data), {
          root: options.root,
          system: item.system,
          env: options.env,
          create: true,
          log: options.log
        })
      )
    );
    if (options.due) {
      const notDue = await whyNotDue(item, repos[0], clock());
      if (notDue)
        return finish({ ...base, status: "not-due", message: notDue, repositories: [], problems: [] });
    }
    const walkProblems = [];
    const backups = await backupSystem(
      repos,
      () => sourceInput(item, options, walkProblems, abandon.signal),
      {
        system: item.system.name,
        policy: item.policy.metadata.name,
        onProgress: (progress) => options.onProgress?.(item.system.name, progress),
        ...options.now ? { now: () => options.now } : {}
      }
    );
    const problems = backups[0]?.problems ?? [];
    return finish({
      ...base,
      status: problems.length > 0 ? "partial" : "ok",
      repositories: backups.map((backup, i) => ({ ...backup, name: item.repositories[i].name })),
      problems
    });
  } catch (error) {
    abandon.abort();
    return finish({
      ...base,
      status: "failed",
      message: error.message,
      repositories: [],
      problems: []
    });
  }
}
function sourceInput(item, options, problems, signal) {
  const source = item.system.source;
  if (source.command) {
    const timeout = source.timeout ? parseDuration(source.timeout) : void 0;
    const running = runCommand(source.command, {
      env: commandEnvironment(options.env, item),
      cwd: options.root,
      signal,
      ...timeout !== void 0 ? { timeoutMs: timeout * 1e3 } : {}
    });
    return {
      kind: "command",
      command: source.command,
      filename: source.filename ?? `${item.system.name}.out`,
      stdout: running.stdout,
      done: running.done
    };
  }
  const paths = source.paths ?? [];
  return {
    kind: "paths",
    paths,
    problems,
    entries: archiveEntries(
      walkPaths(options.root, paths, {
        exclude: source.exclude ?? [],
        followSymlinks: source.followSymlinks ?? false,
        onProblem: (problem) => problems.push(problem)
      })
    )
  };
}
function commandEnvironment(env, item) {
  const out = { ...env };
  for (const name of [
    ...Object.values(CREDENTIAL_ENV),
    passphraseVariable(item.system),
    ...Object.values(SIGNING_ENV),
    TOKEN_ENV[0]
  ])
    delete out[name];
  return out;
}
async function* archiveEntries(entries) {
  for await (const entry of entries) yield archiveEntry(entry);
}
function archiveEntry(entry) {
  return {
    path: entry.path,
    type: entry.type,
    mode: entry.mode,
    mtime: entry.mtimeNs.toString(),
    ctime: entry.ctimeNs.toString(),
    uid: entry.uid,
    gid: entry.gid,
    size: entry.size,
    inode: `${entry.dev}:${entry.ino}`,
    ...entry.target !== void 0 ? { target: entry.target } : {},
    absolute: entry.absolute
  };
}
async function whyNotDue(item, repo, now) {
  const schedule = item.system.schedule;
  if (!schedule) return void 0;
  const parsed = parseCron(schedule);
  if (!parsed.ok) return void 0;
  const mine = (await listSnapshots(repo, () => {
  })).filter(
    (ref) => ref.snapshot.system === item.system.name
  );
  const newest = mine[mine.length - 1];
  if (!newest) return void 0;
  const fired = cronPrevious(parsed.cron, now);
  if (new Date(newest.snapshot.time) < fired) return void 0;
  return `newest snapshot ${newest.id.slice(0, 8)} (${newest.snapshot.time}) is not older than the schedule's last time (${fired.toISOString()})`;
}

// src/engine/restorer.ts
import {
  closeSync,
  constants as constants2,
  fchmodSync,
  fchownSync,
  futimesSync,
  lstatSync as lstatSync2,
  mkdirSync,
  openSync,
  rmSync,
  writeSync
} from "node:fs";
import { chmod, lchown, lutimes, mkdir, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
var WINDOW = 6;
var PARALLEL_FILES = 24;
var BATCH_BYTES2 = 16 * 1024 * 1024;
var BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;
function checkSnapshotPath(path) {
  if (!BAD_SEGMENT.test(path) && !path.includes("\0")) return void 0;
  if (path === "") return "empty path";
  if (path.startsWith("/")) return "absolute path";
  if (path.includes("\0")) return "NUL in path";
  for (const segment of path.split("/")) {
    if (segment === "" || segment === "." || segment === "..") return `"${segment}" segment`;
  }
  return void 0;
}
function normalizeInclude(include) {
  return include.replace(/^\/+/, "").replace(/\/+$/, "");
}
function selected(path, include) {
  return include === void 0 || include === "" || path === include || path.startsWith(`${include}/`);
}
async function restoreTree(reader, tree, target, options = {}) {
  const include = options.include === void 0 ? void 0 : normalizeInclude(options.include);
  const totals = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const problems = [];
  const dirs = [];
  const links = [];
  const known = /* @__PURE__ */ new Set();
  const asRoot = process.getuid?.() === 0;
  await mkdir(target, { recursive: true });
  const ensureParents = (path) => {
    const parent = path.slice(0, Math.max(0, path.lastIndexOf("/")));
    if (parent === "" || known.has(parent)) return;
    const segments = path.split("/");
    let relative = "";
    for (let i = 0; i < segments.length - 1; i++) {
      relative = relative === "" ? segments[i] : `${relative}/${segments[i]}`;
      if (known.has(relative)) continue;
      const absolute = join(target, relative);
      try {
        mkdirSync(absolute, { mode: 448 });
      } catch (error) {
        if (error.code !== "EEXIST") throw error;
        if (!lstatSync2(absolute).isDirectory()) {
          throw new RepositoryError(
            `refused: ${relative} exists in the target and is not a directory (a symlink would let the restore escape)`
          );
        }
      }
      known.add(relative);
    }
  };
  const umask = process.umask();
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  const restoreFile = async (node) => {
    const absolute = join(target, node.path);
    ensureParents(node.path);
    const flags = constants2.O_WRONLY | constants2.O_CREAT | constants2.O_NOFOLLOW;
    let existed = false;
    let fd;
    try {
      fd = openSync(absolute, flags | constants2.O_EXCL, node.mode & 511);
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      existed = true;
      fd = openSync(absolute, flags | constants2.O_TRUNC, node.mode & 511);
    }
    let written = 0;
    try {
      for await (const data of contentOf(reader, node)) {
        options.signal?.throwIfAborted();
        for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, written + at);
        written += data.length;
        release(data);
      }
      if (written !== node.size) {
        throw new RepositoryError(`listing says ${node.size} bytes, the blobs hold ${written}`);
      }
      if (asRoot && (node.uid !== uid || node.gid !== gid)) fchownSync(fd, node.uid, node.gid);
      if (existed || (node.mode & ~umask) !== node.mode || node.mode > 511) fchmodSync(fd, node.mode);
      const seconds = timeSeconds(node.mtime);
      futimesSync(fd, seconds, seconds);
    } catch (error) {
      closeSync(fd);
      rmSync(absolute, { force: true });
      throw error;
    }
    closeSync(fd);
    totals.files++;
    totals.bytes += written;
    options.onFileRestored?.(node);
  };
  const running = /* @__PURE__ */ new Set();
  const launch = async (node) => {
    const task = restoreFile(node).catch((error) => {
      problems.push({ path: node.path, message: error.message });
    });
    running.add(task);
    task.finally(() => running.delete(task));
    if (running.size >= PARALLEL_FILES) await Promise.race(running);
  };
  let batch = [];
  let batchBytes = 0;
  let fetched = [];
  const launchFetched = async (next = []) => {
    const launching = fetched;
    fetched = next;
    for (const node of launching) await launch(node);
  };
  const flushBatch = async () => {
    reader.prefetch(batch.flatMap((node) => node.content ?? []));
    const next = batch;
    batch = [];
    batchBytes = 0;
    await launchFetched(next);
  };
  const onDamage = (message) => problems.push({ path: "(listing)", message });
  for await (const node of readListing(reader, tree, onDamage)) {
    options.signal?.throwIfAborted();
    const invalid = checkSnapshotPath(node.path);
    if (invalid) {
      problems.push({ path: node.path, message: `refused: ${invalid}` });
      continue;
    }
    if (!selected(node.path, include)) continue;
    options.onProgress?.(totals, node.path);
    if (node.type === "dir") {
      try {
        ensureParents(`${node.path}/x`);
        dirs.push(node);
        totals.dirs++;
      } catch (error) {
        problems.push({ path: node.path, message: error.message });
      }
    } else if (node.type === "symlink") {
      links.push(node);
    } else if ((node.size ?? 0) >= BATCH_BYTES2) {
      await flushBatch();
      await launchFetched();
      await launch(node);
    } else {
      batch.push(node);
      batchBytes += node.size ?? 0;
      if (batchBytes >= BATCH_BYTES2 || batch.length >= 256) await flushBatch();
    }
  }
  await flushBatch();
  await launchFetched();
  await Promise.all(running);
  options.signal?.throwIfAborted();
  for (const node of links) {
    const absolute = join(target, node.path);
    try {
      ensureParents(node.path);
      await rm(absolute, { force: true });
      await symlink(node.target ?? "", absolute);
      if (asRoot) await lchown(absolute, node.uid, node.gid);
      await setTimes(absolute, node.mtime, true);
      totals.symlinks++;
    } catch (error) {
      problems.push({ path: node.path, message: error.message });
    }
  }
  for (const node of dirs.reverse()) {
    const absolute = join(target, node.path);
    try {
      if (asRoot) await lchown(absolute, node.uid, node.gid);
      await chmod(absolute, node.mode);
      await setTimes(absolute, node.mtime, false);
    } catch (error) {
      problems.push({ path: node.path, message: error.message });
    }
  }
  return { totals, problems };
}
function timeSeconds(mtimeNs) {
  if (typeof mtimeNs !== "string" || !/^-?[0-9]{1,30}$/.test(mtimeNs)) {
    throw new Error(
      `its modification time in the snapshot (${JSON.stringify(mtimeNs)}) is not a number of nanoseconds`
    );
  }
  return (Number(BigInt(mtimeNs) / 1000n) + 0.5) / 1e6;
}
async function setTimes(path, mtimeNs, link) {
  const seconds = timeSeconds(mtimeNs);
  if (link) await lutimes(path, seconds, seconds);
  else await utimes(path, seconds, seconds);
}
async function restoreToStream(reader, node, out) {
  let written = 0;
  for await (const data of contentOf(reader, node)) {
    written += data.length;
    if (!out.write(data)) await new Promise((resolve2) => out.once("drain", resolve2));
  }
  return written;
}
async function* contentOf(reader, node) {
  const ids = node.content ?? [];
  const pending = [];
  let next = 0;
  const fill = () => {
    reader.prefetch(ids.slice(next, next + WINDOW - pending.length));
    while (pending.length < WINDOW && next < ids.length) {
      const decoding = reader.read(ids[next++]);
      decoding.catch(() => {
      });
      pending.push(decoding);
    }
  };
  fill();
  while (pending.length > 0) {
    const data = await pending.shift();
    fill();
    yield data;
  }
}

export {
  setLongTimeout,
  CommandError,
  expandArgv,
  runCommand,
  OutputTail,
  runBackup,
  commandEnvironment,
  checkSnapshotPath,
  normalizeInclude,
  restoreTree,
  restoreToStream
};
