import { resolve } from 'node:path';
import { isFailOn, SEVERITIES } from '../controls/result.ts';
import { evidenceStatus, renderStatus } from '../evidence/status.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

export { UsageError };

const OPTIONS = {
  root: { type: 'string' },
  config: { type: 'string' },
  branch: { type: 'string' },
  remote: { type: 'string' },
  local: { type: 'boolean' },
  'fail-on': { type: 'string' },
  'allow-missing': { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/**
 * `restorable status [paths...]`: the run-time controls, evaluated against the newest evidence of every
 * system. Exit 0 when all hold; 1 when one is violated (or has no evidence, unless --allow-missing) at or
 * above --fail-on, or a file has a problem; 2 on a usage error.
 */
export async function statusCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.remote !== undefined && values.local)
    throw new UsageError('--remote and --local exclude each other');
  const failOn = values['fail-on'];
  if (failOn !== undefined && !isFailOn(failOn)) {
    throw new UsageError(`--fail-on must be one of ${[...SEVERITIES, 'never'].join(', ')}, not "${failOn}"`);
  }
  const report = await evidenceStatus({
    root: resolve(values.root ?? '.'),
    paths: positionals,
    env: io.env,
    allowMissing: values['allow-missing'] ?? false,
    ...(values.config !== undefined ? { config: values.config } : {}),
    ...(values.branch !== undefined ? { branch: values.branch } : {}),
    ...(values.local ? { remote: null } : values.remote !== undefined ? { remote: values.remote } : {}),
    ...(failOn !== undefined ? { failOn } : {}),
  });
  io.out.write(
    values.json ? `${JSON.stringify({ command: 'status', ...report }, null, 2)}\n` : renderStatus(report),
  );
  return report.failed ? 1 : 0;
}
