import { resolve } from 'node:path';
import type { ParseArgsOptionsConfig } from 'node:util';
import { runBackup, type SystemBackup } from '../commands/backup.ts';
import { runKeyAdd, runKeyList, runKeyRemove } from '../commands/key.ts';
import { runRestore } from '../commands/restore.ts';
import { runSnapshots } from '../commands/snapshots.ts';
import { parseSubset, runVerify, unindexedNote } from '../commands/verify.ts';
import { cliEvidenceRun, evidenceExit } from './evidence-run.ts';
import { formatBytes, formatSeconds, ProgressPrinter, progressInterval } from './format.ts';
import { type Io, parseCommandArgs, UsageError } from './io.ts';

export { type Io, UsageError };

const common = {
  root: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

function parse(args: string[], options: ParseArgsOptionsConfig): { values: Values; positionals: string[] } {
  return parseCommandArgs(args, { ...common, ...options });
}

/** The options every engine command shares: where, which policies, which systems and repository. */
function access(values: Values, positionals: string[], io: Io) {
  const system = values.system;
  return {
    root: resolve((values.root as string | undefined) ?? '.'),
    paths: positionals,
    config: values.config as string | undefined,
    env: io.env,
    systems: Array.isArray(system) ? (system as string[]) : typeof system === 'string' ? [system] : [],
    repository: values.repository as string | undefined,
  };
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function json(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

export async function backupCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    system: { type: 'string', multiple: true },
    due: { type: 'boolean' },
    'no-evidence': { type: 'boolean' },
    'evidence-remote': { type: 'string' },
  });
  const root = resolve((values.root as string | undefined) ?? '.');
  const config = values.config as string | undefined;
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const evidence = cliEvidenceRun(io, {
    root,
    config,
    enabled: !values['no-evidence'],
    remote: values['evidence-remote'] as string | undefined,
  });
  const results = await runBackup({
    root,
    paths: positionals,
    config,
    systems: (values.system as string[] | undefined) ?? [],
    due: (values.due as boolean | undefined) ?? false,
    env: io.env,
    log: io.err,
    onProgress: (system, p) => progress.update(`backup ${system}`, p.files, p.bytes, p.expected),
    onResult: (result) => evidence.appendBackup(result),
  });
  if (values.json) json(io, { command: 'backup', systems: results, evidence: evidence.summary() });
  else {
    // A failure is an error message: stderr, like every other command's; the rest is the run's report.
    for (const result of results) {
      if (result.status === 'failed') io.err(`${result.system}: FAILED: ${result.message}`);
      else io.out.write(describeBackup(result));
    }
  }
  if (results.some((r) => r.status === 'failed')) return 1;
  const incomplete = evidenceExit(evidence, io, 'the backups are done and their snapshots are safe');
  if (incomplete !== undefined) return incomplete;
  return results.some((r) => r.status === 'partial') ? 3 : 0;
}

function describeBackup(result: SystemBackup): string {
  if (result.status === 'not-due') return `${result.system}: not due: ${result.message}\n`;
  const lines = result.repositories.map(
    ({ name, repository, snapshot, summary: s }) =>
      `${result.system} → ${name} (${repository}): snapshot ${snapshot.slice(0, 8)}, ${count(s.files, 'file')}, ${formatBytes(s.bytes)}; read ${formatBytes(s.bytesRead)}, added ${formatBytes(s.bytesAdded)}, stored ${formatBytes(s.bytesStored)} in ${formatSeconds(s.durationMs)}\n`,
  );
  for (const problem of result.problems)
    lines.push(`${result.system}: not backed up: ${problem.path}: ${problem.message}\n`);
  return lines.join('');
}

export async function snapshotsCommand(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {
    system: { type: 'string', multiple: true },
    repository: { type: 'string' },
  });
  const { rows, problems } = await runSnapshots(access(values, positionals, io));
  for (const problem of problems) io.err(problem.startsWith('repository ') ? problem : `damaged: ${problem}`);
  if (values.json) {
    json(io, { command: 'snapshots', snapshots: rows, problems });
  } else {
    const table = [['ID', 'TIME', 'SYSTEM', 'REPOSITORY', 'HOST', 'FILES', 'SIZE', 'PROBLEMS']];
    for (const row of rows) {
      table.push([
        row.id.slice(0, 8),
        row.time.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
        row.system,
        row.repository,
        row.hostname,
        String(row.summary.files),
        formatBytes(row.summary.bytes),
        String(row.problems),
      ]);
    }
    const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
    for (const row of table)
      io.out.write(
        `${row
          .map((cell, c) => cell.padEnd(widths[c]!))
          .join('  ')
          .trimEnd()}\n`,
      );
    io.out.write(`${rows.length} snapshot${rows.length === 1 ? '' : 's'}\n`);
  }
  return problems.length > 0 ? 1 : 0;
}

export async function restoreCommand(args: string[], io: Io, stdout: NodeJS.WritableStream): Promise<number> {
  const { values, positionals } = parse(args, {
    system: { type: 'string' },
    repository: { type: 'string' },
    snapshot: { type: 'string', default: 'latest' },
    target: { type: 'string' },
    path: { type: 'string' },
    stdout: { type: 'boolean' },
  });
  const system = values.system as string | undefined;
  if (!system) throw new UsageError('restore needs --system <name>');
  const toStdout = (values.stdout as boolean | undefined) ?? false;
  const target = values.target as string | undefined;
  if (toStdout === (target !== undefined))
    throw new UsageError('restore needs exactly one of --target <dir> and --stdout');
  if (toStdout && values.json)
    throw new UsageError('--json and --stdout both write to standard output; choose one');
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const result = await runRestore({
    root: resolve((values.root as string | undefined) ?? '.'),
    paths: positionals,
    config: values.config as string | undefined,
    env: io.env,
    system,
    repository: values.repository as string | undefined,
    snapshot: values.snapshot as string,
    target: toStdout
      ? { stream: stdout as unknown as import('node:stream').Writable }
      : { dir: resolve(target!) },
    ...(values.path !== undefined ? { include: values.path as string } : {}),
    onProgress: (totals, current, expected) =>
      progress.update(`restore ${current}`, totals.files, totals.bytes, expected),
  });
  for (const warning of result.warnings) io.err(`warning: ${warning}`);
  for (const problem of result.problems) io.err(`not restored: ${problem.path}: ${problem.message}`);
  if (values.json) json(io, { command: 'restore', ...result });
  else if (!toStdout) {
    const t = result.totals;
    io.out.write(
      `restored snapshot ${result.snapshot.slice(0, 8)} of ${result.system} from ${result.repository} into ${target}: ${count(t.files, 'file')}, ${count(t.dirs, 'directory', 'directories')}, ${count(t.symlinks, 'symlink')}, ${formatBytes(t.bytes)} in ${formatSeconds(result.durationMs)}${result.problems.length ? `; ${result.problems.length} not restored` : ''}\n`,
    );
  } else io.err(`wrote ${formatBytes(result.totals.bytes)} from snapshot ${result.snapshot.slice(0, 8)}`);
  return result.problems.length > 0 ? 1 : 0;
}

export async function repoCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify') throw new UsageError(`unknown repo command "${sub ?? ''}" (known: verify)`);
  const { values, positionals } = parse(rest, {
    system: { type: 'string', multiple: true },
    repository: { type: 'string' },
    'read-data': { type: 'boolean' },
    'read-data-subset': { type: 'string' },
  });
  let readData = values['read-data'] ? 1 : 0;
  if (values['read-data-subset'] !== undefined) {
    const subset = parseSubset(values['read-data-subset'] as string);
    if (subset === undefined) throw new UsageError('--read-data-subset takes a fraction: 10%, 0.1 or 1/10');
    readData = subset;
  }
  const progress = new ProgressPrinter(io.err, progressInterval(io.env));
  const results = await runVerify({
    ...access(values, positionals, io),
    readData,
    onProgress: (name, done, total) => progress.count(`verify ${name}`, done, total, 'packs'),
  });
  if (values.json) json(io, { command: 'repo verify', repositories: results });
  else {
    for (const r of results) {
      io.out.write(
        `${r.repository} (${r.location}): ${r.snapshots} snapshots, ${r.packs} packs, ${r.blobs} blobs; read ${r.packsRead} packs (${formatBytes(r.bytesRead)}): ${r.findings.length === 0 ? 'no errors' : `${r.findings.length} error${r.findings.length === 1 ? '' : 's'}`}\n`,
      );
      if (r.unindexedPacks > 0) io.out.write(`  note: ${unindexedNote(r)}\n`);
      for (const f of r.findings) {
        io.out.write(`  ${f.object}: ${f.message}\n`);
        for (const affected of f.affected.slice(0, 50)) io.out.write(`    affects ${affected}\n`);
        if (f.affected.length > 50) io.out.write(`    … and ${f.affected.length - 50} more\n`);
      }
    }
  }
  return results.some((r) => r.findings.length > 0) ? 1 : 0;
}

export async function keyCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    system: { type: 'string' },
    repository: { type: 'string' },
    recipient: { type: 'string', multiple: true },
    'passphrase-env': { type: 'string' },
  });
  const system = values.system as string | undefined;
  if (!system) throw new UsageError(`key ${sub ?? ''} needs --system <name>`);
  const base = {
    root: resolve((values.root as string | undefined) ?? '.'),
    config: values.config as string | undefined,
    env: io.env,
    system,
    repository: values.repository as string | undefined,
  };
  if (sub === 'list') {
    const { location, wrappers } = await runKeyList({ ...base, paths: positionals });
    if (values.json) json(io, { command: 'key list', location, wrappers });
    else {
      for (const w of wrappers) {
        const who = w.recipients.map((r) => r.path ?? r.userIds?.[0] ?? r.keyId);
        if (w.passphrase) who.push('passphrase');
        io.out.write(`${w.id.slice(0, 16)}  ${w.problem ? `DAMAGED: ${w.problem}` : who.join(', ')}\n`);
      }
    }
    return wrappers.some((w) => w.problem) ? 1 : 0;
  }
  if (sub === 'add') {
    const result = await runKeyAdd({
      ...base,
      paths: positionals,
      recipients: (values.recipient as string[] | undefined) ?? [],
      ...(values['passphrase-env'] !== undefined
        ? { passphraseEnv: values['passphrase-env'] as string }
        : {}),
    });
    if (values.json) json(io, { command: 'key add', ...result });
    else io.out.write(`added key wrapper ${result.id.slice(0, 16)} to ${result.location}\n`);
    return 0;
  }
  if (sub === 'remove') {
    const [id, ...paths] = positionals;
    if (!id) throw new UsageError('key remove needs the wrapper id (see `restorable key list`)');
    const result = await runKeyRemove({ ...base, paths, id });
    if (values.json) json(io, { command: 'key remove', ...result });
    else io.out.write(`removed key wrapper ${result.id.slice(0, 16)} from ${result.location}\n`);
    return 0;
  }
  throw new UsageError(`unknown key command "${sub ?? ''}" (known: list, add, remove)`);
}
