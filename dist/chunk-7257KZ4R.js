import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);
import {
  verifyEvidence
} from "./chunk-YSFVGIWT.js";
import {
  UsageError,
  parseCommandArgs
} from "./chunk-DRGBZ7GX.js";
import {
  evidenceSettings
} from "./chunk-2X7ZTPOP.js";
import "./chunk-FR2T7L4U.js";
import "./chunk-TKDTUBCU.js";
import "./chunk-UDREE6HQ.js";

// src/cli/evidence-commands.ts
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
async function evidenceCommand(args, io) {
  const [sub, ...rest] = args;
  if (sub !== "verify") throw new UsageError(`unknown evidence command "${sub ?? ""}" (known: verify)`);
  return verifyCommand(rest, io);
}
async function verifyCommand(args, io) {
  const { values } = parseCommandArgs(
    args,
    {
      root: { type: "string" },
      config: { type: "string" },
      branch: { type: "string" },
      remote: { type: "string" },
      fingerprint: { type: "string" },
      key: { type: "string" },
      "known-tip": { type: "string" },
      json: { type: "boolean" }
    },
    { positionals: false }
  );
  const root = resolve(values.root ?? ".");
  const named = values.fingerprint !== void 0 && values.branch !== void 0 && values.config === void 0;
  const settings = named ? { branch: values.branch } : evidenceSettings(root, values.config);
  const fingerprint = values.fingerprint ?? settings.fingerprint;
  if (fingerprint === void 0) {
    throw new UsageError(
      `no pinned key: set evidence.signingKey.fingerprint in ${settings.configFile ?? ".restorable/config.yaml"} or pass --fingerprint`
    );
  }
  const keyFile = values.key;
  let publicKey;
  if (keyFile !== void 0) {
    try {
      publicKey = await readFile(resolve(keyFile), "utf8");
    } catch (error) {
      throw new UsageError(
        `--key ${keyFile} cannot be read (${error.code ?? error})`
      );
    }
  }
  const report = await verifyEvidence({
    root,
    branch: values.branch ?? settings.branch,
    fingerprint,
    env: io.env,
    trackLocal: true,
    ...values.remote !== void 0 ? { remote: values.remote } : {},
    ...publicKey !== void 0 ? { publicKey } : {},
    ...values["known-tip"] !== void 0 ? { knownTip: values["known-tip"] } : {}
  });
  if (values.json) {
    io.out.write(`${JSON.stringify({ command: "evidence verify", ...report }, null, 2)}
`);
    return report.ok ? 0 : 1;
  }
  for (const problem of report.problems) io.out.write(`${problem.where}: ${problem.message}
`);
  const at = report.tip ? `${report.revision} at ${report.tip.slice(0, 12)}` : report.revision;
  const count = `${report.records.length} record${report.records.length === 1 ? "" : "s"}`;
  if (report.ok) {
    const head = report.head ? `; head ${report.head.file}, sha256 ${report.head.sha256}` : "";
    const known = report.knownTip ? `; contains the known tip ${report.knownTip.slice(0, 12)}` : "";
    io.out.write(
      `${at}: ${count}, every one signed by ${report.fingerprint} and chained, nothing changed or removed${known}${head}
`
    );
    return 0;
  }
  const n = report.problems.length;
  io.out.write(`${at}: ${count}, ${n} problem${n === 1 ? "" : "s"}: the evidence does NOT verify
`);
  return 1;
}
export {
  evidenceCommand
};
