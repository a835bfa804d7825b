import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  BlobIndex,
  BlobReader,
  LockedError,
  PackWriter,
  RepositoryError,
  backendFor,
  decodeIndex,
  encodeIndex,
  holdLocks,
  openRepository,
  packName,
  planSystems,
  readListing,
  readSnapshot,
  repositoryLocation
} from "./chunk-XP23BDUX.js";
import {
  NotFoundError
} from "./chunk-ZFX2HYFT.js";
import {
  formatDuration,
  parseDuration
} from "./chunk-TKDTUBCU.js";

// src/prune/buckets.ts
var PERIODS = ["hourly", "daily", "weekly", "monthly", "yearly"];
function pad(value, width) {
  const text = String(Math.abs(value)).padStart(width, "0");
  return value < 0 ? `-${text}` : text;
}
function isLeap(year) {
  return year % 4 === 0 && year % 100 !== 0 || year % 400 === 0;
}
var DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
function ordinal(year, month, day) {
  return DAYS_BEFORE_MONTH[month - 1] + day + (month > 2 && isLeap(year) ? 1 : 0);
}
function weekdayOfJanuaryFirst(year) {
  const y = year - 1;
  const days = y * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400);
  return (days % 7 + 7) % 7 + 1;
}
function isoWeeksInYear(year) {
  const first = weekdayOfJanuaryFirst(year);
  return first === 4 || first === 3 && isLeap(year) ? 53 : 52;
}
function isoWeek(fields) {
  const week = Math.floor((ordinal(fields.year, fields.month, fields.day) - fields.weekday + 10) / 7);
  if (week < 1) return { year: fields.year - 1, week: isoWeeksInYear(fields.year - 1) };
  if (week > isoWeeksInYear(fields.year)) return { year: fields.year + 1, week: 1 };
  return { year: fields.year, week };
}
function periodLabel(fields, period) {
  const date = `${pad(fields.year, 4)}-${pad(fields.month, 2)}-${pad(fields.day, 2)}`;
  switch (period) {
    case "hourly":
      return `${date} ${pad(fields.hour, 2)}:00`;
    case "daily":
      return date;
    case "weekly": {
      const { year, week } = isoWeek(fields);
      return `${pad(year, 4)}-W${pad(week, 2)}`;
    }
    case "monthly":
      return `${pad(fields.year, 4)}-${pad(fields.month, 2)}`;
    case "yearly":
      return pad(fields.year, 4);
  }
}

// src/prune/timezone.ts
var TimeZoneError = class extends Error {
  name = "TimeZoneError";
};
var formatters = /* @__PURE__ */ new Map();
function offsetFormatter(zone) {
  let formatter = formatters.get(zone);
  if (formatter === void 0) {
    try {
      formatter = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    } catch {
      throw new TimeZoneError(
        `unknown time zone "${zone}": write an IANA name such as Europe/Berlin or America/New_York, or leave timezone out for UTC`
      );
    }
    if (formatters.size < 100) formatters.set(zone, formatter);
  }
  return formatter;
}
function assertTimeZone(zone) {
  offsetFormatter(zone);
}
var OFFSET = /^GMT(?:([+\-\u2212])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?)?$/;
function zoneOffsetMs(ms, zone) {
  const part = offsetFormatter(zone).formatToParts(ms).find((p) => p.type === "timeZoneName");
  const match = part === void 0 ? null : OFFSET.exec(part.value);
  if (match === null) {
    throw new TimeZoneError(`cannot read the UTC offset of ${zone} at ${new Date(ms).toISOString()}`);
  }
  if (match[1] === void 0) return 0;
  const seconds = Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0);
  return (match[1] === "+" ? 1 : -1) * seconds * 1e3;
}
function localFields(ms, zone) {
  const shifted = new Date(zone === void 0 || zone === "UTC" ? ms : ms + zoneOffsetMs(ms, zone));
  return {
    year: shifted.getUTCFullYear(),
    month: shifted.getUTCMonth() + 1,
    day: shifted.getUTCDate(),
    hour: shifted.getUTCHours(),
    weekday: (shifted.getUTCDay() + 6) % 7 + 1
  };
}

// src/prune/select.ts
var RetentionError = class extends Error {
  name = "RetentionError";
};
var REASON_NOT_AUTHENTIC = "not authenticated: left for repo verify";
var REASON_NOT_SELECTED = "not selected by any keep rule";
var REASON_NO_KEEP_RULES = "no keep rules: everything is kept";
var COUNT_RULES = ["last", ...PERIODS];
var RETENTION_KEYS = /* @__PURE__ */ new Set(["keep", "minimum", "maximum", "timezone"]);
var KEEP_KEYS = /* @__PURE__ */ new Set([...COUNT_RULES, "within"]);
function duration(text, where) {
  const seconds = typeof text === "string" ? parseDuration(text) : void 0;
  if (seconds === void 0) {
    throw new RetentionError(`${where} is ${JSON.stringify(text)}: write a duration such as 35d, 12h or 7y`);
  }
  return seconds;
}
function parseRetention(policy) {
  const rules = { keep: {} };
  if (policy === void 0) return rules;
  for (const key of Object.keys(policy)) {
    if (!RETENTION_KEYS.has(key)) throw new RetentionError(`retention.${key} is not a retention setting`);
  }
  for (const [key, value] of Object.entries(policy.keep ?? {})) {
    if (!KEEP_KEYS.has(key)) {
      throw new RetentionError(
        `retention.keep.${key} is not a keep rule (expected ${[...KEEP_KEYS].join(", ")})`
      );
    }
    if (value === void 0) continue;
    if (key === "within") {
      rules.keep.within = duration(value, "retention.keep.within");
    } else if (typeof value === "number" && Number.isSafeInteger(value) && value >= 1) {
      rules.keep[key] = value;
    } else {
      throw new RetentionError(
        `retention.keep.${key} is ${JSON.stringify(value)}: write a whole number from 1`
      );
    }
  }
  if (policy.minimum !== void 0) rules.minimum = duration(policy.minimum, "retention.minimum");
  if (policy.maximum !== void 0) rules.maximum = duration(policy.maximum, "retention.maximum");
  if (rules.minimum !== void 0 && rules.maximum !== void 0 && rules.minimum > rules.maximum) {
    throw new RetentionError(
      `retention.minimum (${formatDuration(rules.minimum)}) is longer than retention.maximum (${formatDuration(rules.maximum)}): no snapshot can be both kept that long and disposed of that early; make the maximum at least the minimum (control RB-RET-003)`
    );
  }
  if (policy.timezone !== void 0) {
    if (typeof policy.timezone !== "string") throw new RetentionError("retention.timezone must be text");
    try {
      assertTimeZone(policy.timezone);
    } catch (error) {
      throw new RetentionError(`retention.timezone: ${error.message}`);
    }
    rules.timezone = policy.timezone;
  }
  return rules;
}
function hasKeepRules(rules) {
  return Object.values(rules.keep).some((value) => value !== void 0);
}
function describeMatch(match, rules) {
  if (match.rule === "last") return `last ${match.rank}/${rules.keep.last}`;
  if (match.rule === "within") return `within ${formatDuration(rules.keep.within ?? 0)}`;
  return `${match.rule} ${match.period}`;
}
var ZONED_TIME = /^\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
var LATEST_DATE_MS = 864e13;
function instant(snapshot) {
  const { time } = snapshot;
  let ms = Number.NaN;
  if (time instanceof Date) ms = time.getTime();
  else if (typeof time === "string" && ZONED_TIME.test(time)) ms = Date.parse(time);
  if (!Number.isFinite(ms) || Math.abs(ms) > LATEST_DATE_MS - 864e5) {
    throw new RetentionError(
      `snapshot ${snapshot.id} has time ${JSON.stringify(time)}: expected a Date or ISO 8601 text with Z or an offset`
    );
  }
  return ms;
}
function newestFirst(a, b) {
  return b.ms - a.ms || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
function selectSnapshots(snapshots, policy, now) {
  const rules = parseRetention(policy);
  const nowMs = now instanceof Date ? now.getTime() : Number.NaN;
  if (!Number.isFinite(nowMs)) throw new RetentionError("selection needs a valid date for now");
  const ids = /* @__PURE__ */ new Set();
  const items = snapshots.map((snapshot) => {
    if (typeof snapshot.id !== "string" || snapshot.id === "") {
      throw new RetentionError(`a snapshot has no id (${JSON.stringify(snapshot.id)})`);
    }
    if (ids.has(snapshot.id)) throw new RetentionError(`snapshot ${snapshot.id} is listed twice`);
    ids.add(snapshot.id);
    return { id: snapshot.id, ms: instant(snapshot), authentic: snapshot.authentic === true };
  });
  items.sort(newestFirst);
  const authentic = items.filter((item) => item.authentic);
  const matches = /* @__PURE__ */ new Map();
  const match = (item, keep2) => {
    const list = matches.get(item.id);
    if (list === void 0) matches.set(item.id, [keep2]);
    else list.push(keep2);
  };
  const { keep } = rules;
  if (keep.last !== void 0) {
    authentic.slice(0, keep.last).forEach((item, index) => {
      match(item, { rule: "last", rank: index + 1 });
    });
  }
  for (const period of PERIODS) {
    const count = keep[period];
    if (count === void 0) continue;
    const seen = /* @__PURE__ */ new Set();
    for (const item of authentic) {
      item.fields ??= localFields(item.ms, rules.timezone);
      const label = periodLabel(item.fields, period);
      if (seen.has(label)) continue;
      seen.add(label);
      if (seen.size > count) break;
      match(item, { rule: period, period: label, rank: seen.size });
    }
  }
  if (keep.within !== void 0 && authentic.length > 0) {
    const reference = Math.min(nowMs, authentic[0].ms);
    for (const item of authentic) {
      if (reference - item.ms >= keep.within * 1e3) break;
      match(item, { rule: "within" });
    }
  }
  const keepRules = hasKeepRules(rules);
  const minimumMs = rules.minimum === void 0 ? void 0 : rules.minimum * 1e3;
  const maximumMs = rules.maximum === void 0 ? void 0 : rules.maximum * 1e3;
  return items.map((item) => {
    const time = new Date(item.ms).toISOString();
    if (!item.authentic) {
      return {
        id: item.id,
        time,
        decision: "keep",
        reasons: [REASON_NOT_AUTHENTIC],
        keptBy: [],
        protected: false,
        disposal: false,
        authentic: false
      };
    }
    const age = nowMs - item.ms;
    const keptBy = matches.get(item.id) ?? [];
    const described = keptBy.map((m) => describeMatch(m, rules));
    const isProtected = minimumMs !== void 0 && age < minimumMs;
    const disposal = maximumMs !== void 0 && age > maximumMs;
    const decision = (d, reasons) => ({
      id: item.id,
      time,
      decision: d,
      reasons,
      keptBy,
      protected: isProtected,
      disposal,
      authentic: true
    });
    if (disposal) {
      return decision("remove", [
        `past maximum ${formatDuration(rules.maximum)} (disposal)`,
        ...described.map((text) => `overrides ${text}`)
      ]);
    }
    const protection = isProtected ? [`minimum age ${formatDuration(rules.minimum)} (protected)`] : [];
    if (!keepRules) return decision("keep", [REASON_NO_KEEP_RULES, ...protection]);
    if (described.length > 0 || isProtected) return decision("keep", [...described, ...protection]);
    return decision("remove", [REASON_NOT_SELECTED]);
  });
}

// src/prune/prune.ts
var DEFAULT_REPACK_THRESHOLD = 0.3;
var DEFAULT_LOCK_WAIT_MS = 10 * 60 * 1e3;
var DEFAULT_LOCK_POLL_MS = 5e3;
var ABANDONED_AFTER_MS = 60 * 60 * 1e3;
var PARALLEL = 8;
async function pruneRepository(repo, targets, options = {}) {
  const clock = options.now ?? (() => /* @__PURE__ */ new Date());
  for (const target of targets) selectSnapshots([], target.retention, clock());
  if (options.dryRun) return pruneLocked(repo, targets, options, clock);
  const lock = await waitForLock(repo, options, clock);
  try {
    return await pruneLocked(repo, targets, options, clock);
  } finally {
    await lock.release();
  }
}
async function waitForLock(repo, options, clock) {
  const deadline = Date.now() + (options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
  let told = false;
  for (; ; ) {
    try {
      return await holdLocks([repo], "exclusive", {
        purpose: "prune",
        now: clock,
        onProblem: (message) => options.log?.(message)
      });
    } catch (error) {
      if (!(error instanceof LockedError) || Date.now() >= deadline) throw error;
      if (!told) options.log?.(`${error.message} Waiting.`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, options.lockPollMs ?? DEFAULT_LOCK_POLL_MS));
    }
  }
}
async function mapLimit(items, work) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}
async function readSnapshots(repo) {
  const objects = await repo.backend.list("snapshots/");
  const refs = [];
  const unreadable = [];
  await mapLimit(objects, async (object) => {
    const id = object.name.slice("snapshots/".length);
    try {
      refs.push({ id, snapshot: await readSnapshot(repo, id) });
    } catch (error) {
      if (error instanceof NotFoundError) return;
      if (error instanceof RepositoryError || error instanceof SyntaxError) {
        unreadable.push({ id, message: error.message });
        return;
      }
      throw error;
    }
  });
  return { refs, unreadable, sizes: new Map(objects.map((o) => [o.name, o.size])) };
}
async function lockedUntil(repo, name, now) {
  const until = await repo.backend.retainedUntil?.(name);
  return until && until.getTime() > now.getTime() ? until : void 0;
}
async function pruneLocked(repo, targets, options, clock) {
  const now = clock();
  const dryRun = options.dryRun ?? false;
  const result = {
    repository: repo.location,
    dryRun,
    systems: [],
    packsDeleted: 0,
    packsRepacked: 0,
    packsWritten: 0,
    indexesReplaced: 0,
    temporariesRemoved: 0,
    bytesFreed: 0,
    retentionExtended: 0,
    locked: [],
    notes: []
  };
  const { refs, unreadable, sizes } = await readSnapshots(repo);
  const byId = new Map(refs.map((ref) => [ref.id, ref]));
  const removedIds = /* @__PURE__ */ new Set();
  for (const target of targets) {
    const mine = refs.filter((ref) => ref.snapshot.system === target.system);
    const candidates = [
      ...mine.map((ref) => ({ id: ref.id, time: ref.snapshot.time, authentic: true })),
      // Unreadable snapshots may be this system's: they are shown, kept, and counted by no rule.
      ...unreadable.map(({ id }) => ({ id, time: /* @__PURE__ */ new Date(0), authentic: false }))
    ];
    const decisions = selectSnapshots(candidates, target.retention, now);
    const system = {
      system: target.system,
      kept: 0,
      removed: 0,
      disposals: 0,
      locked: 0,
      decisions: []
    };
    const rows = await mapLimit(decisions, async (decision) => {
      const row = { ...decision, system: target.system, removed: false };
      if (decision.decision !== "remove" || !byId.has(decision.id)) return row;
      const name = `snapshots/${decision.id}`;
      const until = await lockedUntil(repo, name, now);
      if (until) {
        row.lockedUntil = until.toISOString();
        row.reasons = [...row.reasons, `locked until ${row.lockedUntil}`];
        result.locked.push({ object: name, until: row.lockedUntil });
        return row;
      }
      if (!dryRun) {
        await repo.backend.remove(name);
        row.removed = true;
        removedIds.add(decision.id);
        result.bytesFreed += sizes.get(name) ?? 0;
      }
      return row;
    });
    for (const row of rows) {
      if (row.decision === "remove" && !row.lockedUntil) {
        system.removed++;
        if (row.disposal) system.disposals++;
      } else {
        system.kept++;
        if (row.lockedUntil) system.locked++;
      }
    }
    system.decisions = rows;
    result.systems.push(system);
  }
  if (dryRun) return result;
  const remaining = refs.filter((ref) => !removedIds.has(ref.id));
  await collectGarbage(repo, remaining, options, now, result);
  return result;
}
async function collectGarbage(repo, remaining, options, now, result) {
  const threshold = options.repackThreshold ?? DEFAULT_REPACK_THRESHOLD;
  const indexObjects = await repo.backend.list("index/");
  const indexes = await mapLimit(indexObjects, async (object) => {
    const id = object.name.slice("index/".length);
    let packs2;
    try {
      packs2 = decodeIndex(await repo.readSealed("index", "index", id), `${repo.location}: ${object.name}`);
    } catch (error) {
      throw new RepositoryError(
        `${repo.location}: ${object.name} cannot be read (${error.message}); prune removed the snapshots it was asked to, but removes no data while an index is unreadable, since the packs it lists would look unused. Run \`restorable repo verify\`.`,
        { cause: error }
      );
    }
    return { name: object.name, size: object.size, packs: packs2 };
  });
  const stored = new Map((await repo.backend.list("data/")).map((info) => [info.name, info.size]));
  const packs = /* @__PURE__ */ new Map();
  const index = new BlobIndex();
  for (const { packs: listed } of indexes) {
    for (const contents of listed) {
      index.addPack(contents);
      let pack = packs.get(contents.pack);
      if (!pack) {
        pack = {
          id: contents.pack,
          blobs: /* @__PURE__ */ new Map(),
          size: stored.get(packName(contents.pack)),
          total: 0,
          used: [],
          usedBytes: 0,
          pinned: false
        };
        packs.set(contents.pack, pack);
      }
      for (const blob of contents.blobs) {
        if (!pack.blobs.has(blob.id)) {
          pack.blobs.set(blob.id, blob);
          pack.total += blob.length;
        }
      }
    }
  }
  const used = /* @__PURE__ */ new Set();
  const reader = new BlobReader(repo, index);
  for (const { id, snapshot } of remaining) {
    for (const blob of snapshot.tree) used.add(blob);
    try {
      for await (const node of readListing(reader, snapshot.tree)) {
        for (const blob of node.content ?? []) used.add(blob);
      }
    } catch (error) {
      throw new RepositoryError(
        `${repo.location}: the listing of snapshot ${id.slice(0, 8)} cannot be read (${error.message}); prune removed the snapshots it was asked to, but removes no data while it cannot tell what is used. Run \`restorable repo verify\`.`,
        { cause: error }
      );
    }
  }
  const share = /* @__PURE__ */ new Map();
  for (const pack of packs.values()) {
    let bytes = 0;
    for (const blob of pack.blobs.values()) if (used.has(blob.id)) bytes += blob.length;
    share.set(pack.id, pack.total === 0 ? 0 : bytes / pack.total);
  }
  const ranked = [...packs.values()].sort(
    (a, b) => Number(b.size !== void 0) - Number(a.size !== void 0) || share.get(b.id) - share.get(a.id) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
  const homed = /* @__PURE__ */ new Set();
  for (const pack of ranked) {
    for (const blob of pack.blobs.values()) {
      if (used.has(blob.id) && !homed.has(blob.id)) {
        homed.add(blob.id);
        pack.used.push(blob);
        pack.usedBytes += blob.length;
      }
    }
  }
  const toDelete = [];
  const toRepack = [];
  for (const pack of packs.values()) {
    if (pack.size === void 0) continue;
    if (pack.used.length === 0) toDelete.push(pack);
    else if ((pack.total - pack.usedBytes) / pack.total > threshold) toRepack.push(pack);
  }
  const unindexed = [...stored.keys()].filter((name) => !packs.has(name.slice(name.lastIndexOf("/") + 1)));
  const missingUnused = [...packs.values()].filter((p) => p.size === void 0 && p.used.length === 0);
  const rewrite = toDelete.length > 0 || toRepack.length > 0 || missingUnused.length > 0 || indexes.length > 1;
  const keptIndexes = /* @__PURE__ */ new Set();
  if (rewrite) {
    await mapLimit(indexes, async ({ name, packs: listed }) => {
      const until2 = await lockedUntil(repo, name, now);
      if (!until2) return;
      keptIndexes.add(name);
      result.locked.push({ object: name, until: until2.toISOString() });
      for (const contents of listed) {
        const pack = packs.get(contents.pack);
        if (pack) pack.pinned = true;
      }
    });
  }
  const lockCheck = async (list) => (await mapLimit(list, async (pack) => {
    if (pack.pinned) {
      result.notes.push(
        `${packName(pack.id)} is named by an index that object lock keeps: left as it is`
      );
      return void 0;
    }
    const until2 = await lockedUntil(repo, packName(pack.id), now);
    if (until2) {
      result.locked.push({ object: packName(pack.id), until: until2.toISOString() });
      return void 0;
    }
    return pack;
  })).filter((pack) => pack !== void 0);
  const deleting = await lockCheck(toDelete);
  const repacking = await lockCheck(toRepack);
  const unindexedFree = (await mapLimit(unindexed, async (name) => {
    const until2 = await lockedUntil(repo, name, now);
    if (!until2) return name;
    result.locked.push({ object: name, until: until2.toISOString() });
    return void 0;
  })).filter((name) => name !== void 0);
  const written = [];
  let bytesWritten = 0;
  const writer = new PackWriter(repo, (contents, size) => {
    written.push(contents);
    bytesWritten += size;
  });
  const repacked = [];
  for (const pack of repacking) {
    const name = packName(pack.id);
    const data = await repo.backend.read(name);
    const blobs = [...pack.used].sort((a, b) => a.offset - b.offset);
    const copies = [];
    try {
      for (const blob of blobs) {
        const sealed = data.subarray(blob.offset, blob.offset + blob.length);
        await reader.decode(blob.id, { ...blob, pack: pack.id }, name, sealed);
        copies.push({ blob, sealed });
      }
    } catch (error) {
      result.notes.push(`${name} was not repacked: ${error.message}`);
      continue;
    }
    for (const { blob, sealed } of copies) await writer.add(blob.type, blob.id, sealed, blob.rawLength);
    repacked.push(pack);
  }
  await writer.close();
  result.packsWritten = written.length;
  const obsolete = new Set([...deleting, ...repacked].map((pack) => pack.id));
  const changed = obsolete.size > 0 || missingUnused.length > 0 || indexes.length > 1;
  if (changed) {
    const listing = [];
    for (const pack of packs.values()) {
      if (obsolete.has(pack.id)) continue;
      if (pack.size === void 0 && pack.used.length === 0) continue;
      listing.push({ pack: pack.id, blobs: [...pack.blobs.values()].sort((a, b) => a.offset - b.offset) });
    }
    listing.push(...written);
    const newIndex = `index/${await repo.writeSealed("index", "index", encodeIndex(listing))}`;
    const old = indexes.filter(({ name }) => name !== newIndex && !keptIndexes.has(name));
    await mapLimit(old, async ({ name, size }) => {
      await repo.backend.remove(name);
      result.bytesFreed += size;
    });
    result.indexesReplaced = old.length;
  }
  const removals = [...[...obsolete].map((id) => packName(id)), ...unindexedFree];
  await mapLimit(removals, async (name) => {
    await repo.backend.remove(name);
    result.bytesFreed += stored.get(name) ?? 0;
  });
  result.packsDeleted = deleting.length + unindexedFree.length;
  result.packsRepacked = repacked.length;
  result.bytesFreed -= bytesWritten;
  const backend = repo.backend;
  if (backend.abandoned && backend.removeAbandoned) {
    const leftovers = await backend.abandoned(new Date(now.getTime() - ABANDONED_AFTER_MS));
    await mapLimit(leftovers, async ({ name, size }) => {
      await backend.removeAbandoned(name);
      result.bytesFreed += size;
    });
    result.temporariesRemoved = leftovers.length;
  }
  const until = repo.backend.lockUntil?.(now);
  if (until && repo.backend.retain) {
    const needed = [
      "config",
      ...(await repo.backend.list("keys/")).map((info) => info.name),
      ...remaining.map((ref) => `snapshots/${ref.id}`),
      ...[...packs.values()].filter((pack) => pack.size !== void 0 && pack.used.length > 0 && !obsolete.has(pack.id)).map((pack) => packName(pack.id)),
      ...indexes.filter(({ name }) => keptIndexes.has(name) || !changed).map(({ name }) => name)
    ];
    await mapLimit(needed, async (name) => {
      await repo.backend.retain(name, until);
      result.retentionExtended++;
    });
  }
}

// src/commands/prune.ts
async function runPrune(options) {
  const planned = planSystems(options);
  for (const item of planned) {
    try {
      parseRetention(item.system.retention);
    } catch (error) {
      throw new Error(`${item.file}: system "${item.system.name}": ${error.message}`);
    }
  }
  const groups = /* @__PURE__ */ new Map();
  for (const item of planned) {
    for (const ref of item.repositories) {
      if (options.repository !== void 0 && ref.name !== options.repository) continue;
      const key = repositoryLocation(options.root, ref.data);
      const group = groups.get(key);
      if (group) group.items.push(item);
      else groups.set(key, { name: ref.name, first: item, data: ref.data, items: [item] });
    }
  }
  if (groups.size === 0) {
    throw new Error(
      options.repository === void 0 ? "no system to prune" : `no planned system uses a repository named "${options.repository}"`
    );
  }
  const runs = [];
  for (const [location, { name, first, data, items }] of groups) {
    const systems = items.map((item) => item.system.name);
    const policies = items.map((item) => ({
      system: item.system.name,
      policy: item.policy.metadata.name,
      file: item.file
    }));
    const startedAt = (/* @__PURE__ */ new Date()).toISOString();
    const done = (run) => runs.push({
      name,
      location,
      systems,
      policies,
      startedAt,
      finishedAt: (/* @__PURE__ */ new Date()).toISOString(),
      ...run
    });
    try {
      const repo = await openRepository(await backendFor(options.root, data), {
        root: options.root,
        system: first.system,
        env: options.env,
        create: false
      });
      const pruneOptions = {
        dryRun: options.dryRun ?? false,
        log: options.log,
        ...options.repackThreshold !== void 0 ? { repackThreshold: options.repackThreshold } : {},
        ...options.now ? { now: () => options.now } : {},
        ...options.lockWaitMs !== void 0 ? { lockWaitMs: options.lockWaitMs } : {},
        ...options.lockPollMs !== void 0 ? { lockPollMs: options.lockPollMs } : {}
      };
      const result = await pruneRepository(
        repo,
        items.map((item) => ({ system: item.system.name, retention: item.system.retention })),
        pruneOptions
      );
      done({ status: "ok", result });
    } catch (error) {
      done({ status: "failed", message: error.message });
    }
  }
  return runs;
}

export {
  runPrune
};
