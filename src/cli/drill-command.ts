import { resolve } from 'node:path';
import { type DrillRun, runDrill } from '../commands/drill.ts';
import { formatDuration } from '../policy/duration.ts';
import { cliEvidenceRun, evidenceExit } from './evidence-run.ts';
import { formatBytes, formatSeconds, ProgressPrinter, progressInterval } from './format.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

const OPTIONS = {
  root: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  system: { type: 'string', multiple: true },
  due: { type: 'boolean' },
  seed: { type: 'string' },
  scratch: { type: 'string' },
  'keep-scratch': { type: 'boolean' },
  'no-evidence': { type: 'boolean' },
  'evidence-remote': { type: 'string' },
} as const;

/**
 * `restorable drill [paths...] [--system NAME]... [--due] [--seed HEX] [--scratch DIR] [--keep-scratch]`:
 * each drill's snapshot, restore, read-back, verify steps and times against the RTO. Exit 0 when every drill
 * passed (or was not due), 1 when one failed, 2 on a usage error, 4 when the drills passed but their
 * evidence was not written.
 */
export async function drillCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, OPTIONS);
  if (values.seed !== undefined && !/^[0-9a-f]{16}$/.test(values.seed)) {
    throw new UsageError(`--seed takes the 16 hex digits a drill recorded, not "${values.seed}"`);
  }
  const root = resolve(values.root ?? '.');
  const evidence = cliEvidenceRun(io, {
    root,
    config: values.config,
    enabled: !values['no-evidence'],
    remote: values['evidence-remote'],
  });
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const results = await runDrill({
    root,
    paths: positionals,
    ...(values.config !== undefined ? { config: values.config } : {}),
    systems: values.system ?? [],
    due: values.due ?? false,
    ...(values['evidence-remote'] !== undefined ? { evidenceRemote: values['evidence-remote'] } : {}),
    ...(values.seed !== undefined ? { seed: values.seed } : {}),
    ...(values.scratch !== undefined ? { scratch: values.scratch } : {}),
    keepScratch: values['keep-scratch'] ?? false,
    env: io.env,
    log: io.err,
    onProgress: (system, totals, expected) =>
      progress.update(`drill ${system}: restore`, totals.files, totals.bytes, expected),
    onResult: (result) => evidence.appendDrill(result),
  });
  if (values.json) {
    io.out.write(
      `${JSON.stringify({ command: 'drill', systems: results, evidence: evidence.summary() }, null, 2)}\n`,
    );
  } else {
    for (const result of results) io.out.write(describeDrill(result));
  }
  if (results.some((r) => r.status === 'failed')) return 1;
  return evidenceExit(evidence, io, 'the drills passed') ?? 0;
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

export function describeDrill(result: DrillRun): string {
  if (result.status === 'not-due') return `${result.system}: not due: ${result.message}\n`;
  const lines: string[] = [];
  const m = result.measurements;
  const head = result.snapshot
    ? `snapshot ${result.snapshot.id.slice(0, 8)} of ${result.snapshot.time} from ${result.repository}`
    : `no snapshot${result.repository ? ` from ${result.repository}` : ''}`;
  const how = result.selection
    ? result.selection.algorithm === 'latest'
      ? 'the latest'
      : `random within ${formatDuration(result.selection.windowSeconds ?? 0)}: 1 of ${result.selection.candidates}, seed ${result.selection.seed}`
    : undefined;
  lines.push(`${result.system}: ${head}${how ? ` (${how})` : ''}`);
  if (m.restoreMs !== undefined) {
    lines.push(
      `  restore     ${plural(m.files ?? 0, 'file')}, ${formatBytes(m.bytes ?? 0)} in ${formatSeconds(m.restoreMs)}`,
    );
  }
  for (const problem of result.restoreProblems) lines.push(`    ${problem.path}: ${problem.message}`);
  if (m.integrityMs !== undefined) {
    lines.push(
      `  read back   ${m.verified ? 'complete: every file, size, mode and chunk as recorded' : 'DIFFERS from the snapshot'} (${formatSeconds(m.integrityMs)})`,
    );
  }
  for (const problem of result.integrityProblems) lines.push(`    ${problem.path}: ${problem.message}`);
  for (const step of result.steps) {
    const time = step.durationMs === undefined ? '' : ` (${formatSeconds(step.durationMs)})`;
    lines.push(`  ${step.status.padEnd(10)}  ${step.name}${time}${step.message ? `: ${step.message}` : ''}`);
    if (step.status === 'failed' && step.output) {
      for (const line of step.output.split('\n').slice(-10)) lines.push(`    | ${line}`);
    }
  }
  if (m.restoreDurationMs !== undefined) {
    lines.push(
      `  RTO         ${formatSeconds(m.restoreDurationMs)}${m.rtoSeconds !== undefined ? ` of ${formatDuration(m.rtoSeconds)}` : ' (no RTO declared)'}`,
    );
  }
  if (m.snapshotAgeSeconds !== undefined) {
    lines.push(
      `  age         ${formatDuration(Math.max(1, m.snapshotAgeSeconds))}${m.rpoSeconds !== undefined ? ` (RPO ${formatDuration(m.rpoSeconds)})` : ''}`,
    );
  }
  lines.push(result.status === 'passed' ? `  PASSED\n` : `  FAILED: ${result.failures.join('; ')}\n`);
  return lines.join('\n');
}
