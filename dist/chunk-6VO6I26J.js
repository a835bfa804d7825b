import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  lastDrillTimes,
  readDueEvidence,
  whyNotDue
} from "./chunk-EYOE2RSA.js";
import {
  planSystems
} from "./chunk-XP23BDUX.js";
import {
  cronPrevious,
  parseCron
} from "./chunk-TKDTUBCU.js";

// src/commands/plan-due.ts
var PLAN_COMMANDS = ["backup", "drill"];
function isPlanCommand(value) {
  return PLAN_COMMANDS.includes(value);
}
function planSummary(plan) {
  return {
    command: "plan",
    due: plan.due,
    now: plan.now,
    count: plan.include.length,
    include: plan.include,
    skipped: plan.skipped,
    ...plan.unknown !== void 0 ? { unknown: plan.unknown } : {}
  };
}
function jobMatrix(plan, command) {
  return { include: command ? plan.include.filter((job) => job.command === command) : plan.include };
}
async function planJobs(options) {
  const planned = planSystems(options);
  const commands = new Set(options.commands?.length ? options.commands : PLAN_COMMANDS);
  const now = options.now ?? /* @__PURE__ */ new Date();
  const due = options.due ?? false;
  let state;
  let unknown;
  if (due) {
    const read = await readDueEvidence(options);
    state = read.state;
    unknown = read.unknown;
    if (unknown !== void 0) options.log(`plan --due: ${unknown}: everything is due`);
    else if (state === void 0)
      options.log(`plan --due: ${read.notice ?? "no evidence on record yet"}: everything is due`);
  }
  const lastDrills = lastDrillTimes(state);
  const include = [];
  const skipped = [];
  const base = (item) => ({
    system: item.system.name,
    policy: item.policy.metadata.name,
    file: item.file
  });
  const job = (item, repository, repositories) => ({
    system: item.system.name,
    repository,
    repositories,
    policy: item.policy.metadata.name,
    file: item.file
  });
  const blanket = !due ? { due: true, reason: "planned without --due" } : unknown !== void 0 ? { due: true, reason: "the last runs are unknown (no evidence branch to read)" } : void 0;
  if (commands.has("backup")) {
    for (const item of planned) {
      const { due: isDue, reason } = blanket ?? backupVerdict(item, state, now);
      if (!isDue) {
        skipped.push({ command: "backup", ...base(item), reason });
        continue;
      }
      const repositories = item.repositories.map((r) => r.name);
      include.push({ command: "backup", ...job(item, repositories[0], repositories), reason });
    }
  }
  if (commands.has("drill")) {
    for (const item of planned) {
      const drill = item.system.drill;
      if (drill === void 0) {
        skipped.push({ command: "drill", ...base(item), reason: "declares no drill" });
        continue;
      }
      const { due: isDue, reason } = blanket ?? drillVerdict(item, lastDrills, now);
      if (!isDue) {
        skipped.push({ command: "drill", ...base(item), reason });
        continue;
      }
      const repository = drill.repository ?? item.repositories[0].name;
      include.push({ command: "drill", ...job(item, repository, [repository]), reason });
    }
  }
  return {
    include,
    skipped,
    due,
    now: now.toISOString(),
    ...unknown !== void 0 ? { unknown } : {}
  };
}
function backupVerdict(item, state, now) {
  const schedule = item.system.schedule;
  if (!schedule) return { due: true, reason: "no schedule: due on every run (as `backup --due`)" };
  const parsed = parseCron(schedule);
  if (!parsed.ok) return { due: true, reason: `the schedule cannot be read (${parsed.error})` };
  const success = state?.systems[item.system.name]?.backup?.lastSuccess;
  const time = success?.snapshotTime ?? success?.time;
  if (time === void 0) return { due: true, reason: "no successful backup on record" };
  const fired = cronPrevious(parsed.cron, now);
  if (Date.parse(time) < fired.getTime()) {
    return {
      due: true,
      reason: `the schedule fired at ${fired.toISOString()}, after the newest snapshot (${time})`
    };
  }
  return {
    due: false,
    reason: `newest snapshot (${time}) is not older than the schedule's last time (${fired.toISOString()})`
  };
}
function drillVerdict(item, last, now) {
  const notDue = whyNotDue(item, last, now);
  if (notDue !== void 0) return { due: false, reason: notDue };
  const schedule = item.system.drill?.schedule;
  if (!schedule)
    return { due: true, reason: "the drill has no schedule: due on every run (as `drill --due`)" };
  const parsed = parseCron(schedule);
  if (!parsed.ok) return { due: true, reason: `the drill schedule cannot be read (${parsed.error})` };
  const time = last.times.get(item.system.name);
  if (time === void 0) return { due: true, reason: "no drill on record" };
  return {
    due: true,
    reason: `the drill schedule fired at ${cronPrevious(parsed.cron, now).toISOString()}, after the last drill (${time})`
  };
}

export {
  PLAN_COMMANDS,
  isPlanCommand,
  planSummary,
  jobMatrix,
  planJobs
};
