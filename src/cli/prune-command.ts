import { resolve } from 'node:path';
import { type RepositoryPruneRun, runPrune } from '../commands/prune.ts';
import type { SystemPrune } from '../prune/prune.ts';
import { cliEvidenceRun, evidenceExit } from './evidence-run.ts';
import { formatBytes } from './format.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

const OPTIONS = {
  root: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  system: { type: 'string', multiple: true },
  repository: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'repack-threshold': { type: 'string' },
  'no-evidence': { type: 'boolean' },
  'evidence-remote': { type: 'string' },
} as const;

/**
 * `restorable prune [paths...] [--system NAME]... [--repository NAME] [--dry-run] [--json]`: per repository
 * and system, the decision table (snapshot, time, keep/remove, reasons) and the totals. Exit 0 when every
 * repository was pruned (or, with --dry-run, decided), 1 when one failed, 2 on a usage error.
 */
export async function pruneCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  let repackThreshold: number | undefined;
  if (values['repack-threshold'] !== undefined) {
    const text = values['repack-threshold'];
    const percent = /^(\d{1,3})%$/.exec(text);
    repackThreshold = percent ? Number(percent[1]) / 100 : Number(text);
    if (text === '' || !Number.isFinite(repackThreshold) || repackThreshold < 0 || repackThreshold > 1) {
      throw new UsageError(`--repack-threshold must be a share from 0 to 1 or a percentage, not "${text}"`);
    }
  }
  const root = resolve(values.root ?? '.');
  const evidence = cliEvidenceRun(io, {
    root,
    config: values.config,
    enabled: !values['no-evidence'] && !values['dry-run'],
    remote: values['evidence-remote'],
  });
  const runs = await runPrune({
    root,
    paths: positionals,
    ...(values.config !== undefined ? { config: values.config } : {}),
    systems: values.system ?? [],
    ...(values.repository !== undefined ? { repository: values.repository } : {}),
    env: io.env,
    dryRun: values['dry-run'] ?? false,
    ...(repackThreshold !== undefined ? { repackThreshold } : {}),
    log: io.err,
  });
  for (const run of runs) await evidence.appendPrune(run);
  if (values.json) {
    io.out.write(
      `${JSON.stringify({ command: 'prune', dryRun: values['dry-run'] ?? false, repositories: runs, evidence: evidence.summary() }, null, 2)}\n`,
    );
  } else {
    for (const run of runs) {
      if (run.status === 'failed') io.err(`${run.name} (${run.location}): FAILED: ${run.message}`);
      else io.out.write(describeRun(run));
    }
  }
  if (runs.some((run) => run.status === 'failed')) return 1;
  return evidenceExit(evidence, io, 'the prune is done') ?? 0;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function table(system: SystemPrune): string {
  const rows = [['SNAPSHOT', 'TIME (UTC)', 'DECISION', 'REASONS']];
  for (const d of system.decisions) {
    rows.push([
      d.id.slice(0, 8),
      d.authentic ? d.time.replace('T', ' ').replace(/:\d\d\.\d+Z$/, '') : '(unknown)',
      d.decision === 'remove' && d.lockedUntil ? 'locked' : d.decision,
      d.reasons.join('; '),
    ]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => `  ${r.map((cell, c) => (c === 3 ? cell : cell.padEnd(widths[c]!))).join('  ')}\n`)
    .join('');
}

function describeRun(run: RepositoryPruneRun): string {
  const result = run.result!;
  const lines: string[] = [];
  const verb = result.dryRun ? 'would remove' : 'removed';
  for (const system of result.systems) {
    lines.push(`${system.system} → ${run.name} (${run.location})${result.dryRun ? ' [dry run]' : ''}\n`);
    lines.push(system.decisions.length === 0 ? '  no snapshots\n' : table(system));
    lines.push(
      `  kept ${system.kept}, ${verb} ${system.removed} (${plural(system.disposals, 'disposal')} past the maximum)` +
        `${system.locked > 0 ? `, ${system.locked} locked by object lock` : ''}\n`,
    );
  }
  if (!result.dryRun) {
    lines.push(
      `${run.name}: ${plural(result.packsDeleted, 'pack')} deleted, ${plural(result.packsRepacked, 'pack')} repacked into ${result.packsWritten}, ` +
        `${plural(result.indexesReplaced, 'index', 'indexes')} replaced, ` +
        `${result.temporariesRemoved > 0 ? `${plural(result.temporariesRemoved, 'abandoned temporary file')} removed, ` : ''}` +
        `${formatBytes(Math.max(0, result.bytesFreed))} freed` +
        `${result.retentionExtended > 0 ? `, retention extended on ${plural(result.retentionExtended, 'object')}` : ''}\n`,
    );
  }
  for (const locked of result.locked)
    lines.push(`${run.name}: ${locked.object}: locked until ${locked.until}\n`);
  for (const note of result.notes) lines.push(`${run.name}: ${note}\n`);
  return lines.join('');
}
