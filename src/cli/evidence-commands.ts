import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type EvidenceSettings, evidenceSettings } from '../evidence/settings.ts';
import { verifyEvidence } from '../evidence/verify.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

/** `restorable evidence <subcommand>`. */
export async function evidenceCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify') throw new UsageError(`unknown evidence command "${sub ?? ''}" (known: verify)`);
  return verifyCommand(rest, io);
}

async function verifyCommand(args: string[], io: Io): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      root: { type: 'string' },
      config: { type: 'string' },
      branch: { type: 'string' },
      remote: { type: 'string' },
      fingerprint: { type: 'string' },
      key: { type: 'string' },
      'known-tip': { type: 'string' },
      json: { type: 'boolean' },
    },
    { positionals: false },
  );
  const root = resolve((values.root as string | undefined) ?? '.');
  // The profile is read only when it is needed: an auditor who names the key and branch needs none.
  const named =
    values.fingerprint !== undefined && values.branch !== undefined && values.config === undefined;
  const settings: EvidenceSettings = named
    ? { branch: values.branch as string }
    : evidenceSettings(root, values.config as string | undefined);
  const fingerprint = (values.fingerprint as string | undefined) ?? settings.fingerprint;
  if (fingerprint === undefined) {
    throw new UsageError(
      `no pinned key: set evidence.signingKey.fingerprint in ${settings.configFile ?? '.restorable/config.yaml'} or pass --fingerprint`,
    );
  }
  const keyFile = values.key as string | undefined;
  let publicKey: string | undefined;
  if (keyFile !== undefined) {
    try {
      publicKey = await readFile(resolve(keyFile), 'utf8');
    } catch (error) {
      throw new UsageError(
        `--key ${keyFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
  }
  const report = await verifyEvidence({
    root,
    branch: (values.branch as string | undefined) ?? settings.branch,
    fingerprint,
    env: io.env,
    trackLocal: true,
    ...(values.remote !== undefined ? { remote: values.remote as string } : {}),
    ...(publicKey !== undefined ? { publicKey } : {}),
    ...(values['known-tip'] !== undefined ? { knownTip: values['known-tip'] as string } : {}),
  });
  if (values.json) {
    io.out.write(`${JSON.stringify({ command: 'evidence verify', ...report }, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  for (const problem of report.problems) io.out.write(`${problem.where}: ${problem.message}\n`);
  const at = report.tip ? `${report.revision} at ${report.tip.slice(0, 12)}` : report.revision;
  const count = `${report.records.length} record${report.records.length === 1 ? '' : 's'}`;
  if (report.ok) {
    const head = report.head ? `; head ${report.head.file}, sha256 ${report.head.sha256}` : '';
    const known = report.knownTip ? `; contains the known tip ${report.knownTip.slice(0, 12)}` : '';
    io.out.write(
      `${at}: ${count}, every one signed by ${report.fingerprint} and chained, nothing changed or removed${known}${head}\n`,
    );
    return 0;
  }
  const n = report.problems.length;
  io.out.write(`${at}: ${count}, ${n} problem${n === 1 ? '' : 's'}: the evidence does NOT verify\n`);
  return 1;
}
