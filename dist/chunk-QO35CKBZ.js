import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  PLAN_COMMANDS,
  isPlanCommand,
  jobMatrix,
  planJobs,
  planSummary
} from "./chunk-6VO6I26J.js";
import "./chunk-EYOE2RSA.js";
import "./chunk-HP26N7II.js";
import "./chunk-XP23BDUX.js";
import "./chunk-IXG6PZ4B.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import "./chunk-ZFX2HYFT.js";
import "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/plan-command.ts
import { resolve } from "node:path";
var OPTIONS = {
  root: { type: "string" },
  config: { type: "string" },
  json: { type: "boolean" },
  system: { type: "string", multiple: true },
  command: { type: "string" },
  due: { type: "boolean" },
  now: { type: "string" },
  "evidence-remote": { type: "string" }
};
async function planCommand(args, io) {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  const command = values.command;
  if (command !== void 0 && !isPlanCommand(command)) {
    throw new UsageError(`--command must be one of ${PLAN_COMMANDS.join(", ")}, not "${command}"`);
  }
  let now;
  if (values.now !== void 0) {
    now = new Date(values.now);
    if (!/^\d{4}-\d\d-\d\dT/.test(values.now) || Number.isNaN(now.getTime())) {
      throw new UsageError(`--now takes an ISO 8601 time such as 2025-01-31T05:00:00Z, not "${values.now}"`);
    }
  }
  const plan = await planJobs({
    root: resolve(values.root ?? "."),
    paths: positionals,
    ...values.config !== void 0 ? { config: values.config } : {},
    systems: values.system ?? [],
    ...command !== void 0 ? { commands: [command] } : {},
    due: values.due ?? false,
    ...values["evidence-remote"] !== void 0 ? { evidenceRemote: values["evidence-remote"] } : {},
    ...now !== void 0 ? { now } : {},
    env: io.env,
    log: io.err
  });
  for (const job of plan.skipped) io.err(`${job.command} ${job.system}: not planned: ${job.reason}`);
  const count = (name) => plan.include.filter((job) => job.command === name).length;
  io.err(
    `plan${plan.due ? " --due" : ""}: ${plan.include.length} job${plan.include.length === 1 ? "" : "s"} (${count("backup")} backup, ${count("drill")} drill) at ${plan.now}`
  );
  if (values.json) {
    io.out.write(`${JSON.stringify(planSummary(plan), null, 2)}
`);
  } else {
    io.out.write(`${JSON.stringify(jobMatrix(plan))}
`);
  }
  return 0;
}
export {
  planCommand
};
