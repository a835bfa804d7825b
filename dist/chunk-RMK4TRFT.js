import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  evidenceStatus,
  renderStatus
} from "./chunk-IXG6PZ4B.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import {
  SEVERITIES,
  isFailOn
} from "./chunk-64LPOJGB.js";
import "./chunk-Q4V2YTJC.js";
import "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/status-command.ts
import { resolve } from "node:path";
var OPTIONS = {
  root: { type: "string" },
  config: { type: "string" },
  branch: { type: "string" },
  remote: { type: "string" },
  local: { type: "boolean" },
  "fail-on": { type: "string" },
  "allow-missing": { type: "boolean" },
  json: { type: "boolean" }
};
async function statusCommand(args, io) {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.remote !== void 0 && values.local)
    throw new UsageError("--remote and --local exclude each other");
  const failOn = values["fail-on"];
  if (failOn !== void 0 && !isFailOn(failOn)) {
    throw new UsageError(`--fail-on must be one of ${[...SEVERITIES, "never"].join(", ")}, not "${failOn}"`);
  }
  const report = await evidenceStatus({
    root: resolve(values.root ?? "."),
    paths: positionals,
    env: io.env,
    allowMissing: values["allow-missing"] ?? false,
    ...values.config !== void 0 ? { config: values.config } : {},
    ...values.branch !== void 0 ? { branch: values.branch } : {},
    ...values.local ? { remote: null } : values.remote !== void 0 ? { remote: values.remote } : {},
    ...failOn !== void 0 ? { failOn } : {}
  });
  io.out.write(
    values.json ? `${JSON.stringify({ command: "status", ...report }, null, 2)}
` : renderStatus(report)
  );
  return report.failed ? 1 : 0;
}
export {
  UsageError,
  statusCommand
};
