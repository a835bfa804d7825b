import * as core from '@actions/core';
import { formatBytes, formatSeconds } from '../cli/format.ts';
import { runBackup } from '../commands/backup.ts';
import { runDrill } from '../commands/drill.ts';
import { runPrune } from '../commands/prune.ts';
import { runRestore } from '../commands/restore.ts';
import { runSnapshots } from '../commands/snapshots.ts';
import { parseSubset, runVerify, unindexedNote } from '../commands/verify.ts';
import { CREDENTIAL_ENV } from '../engine/keyring.ts';
import { formatDuration } from '../policy/duration.ts';
import { reportEvidence, runEvidence } from './evidence.ts';
import { listInput } from './inputs.ts';
import { writeSummary } from './summary.ts';

export const ENGINE_COMMANDS = ['backup', 'drill', 'snapshots', 'restore', 'verify', 'prune'] as const;
export type EngineCommand = (typeof ENGINE_COMMANDS)[number];

export function isEngineCommand(command: string): command is EngineCommand {
  return (ENGINE_COMMANDS as readonly string[]).includes(command);
}

/**
 * The environment the engine reads secrets from: the runner's, plus the `passphrase` input. Every secret is
 * masked before anything could print it. The runner hands every input to the Action as INPUT_<NAME>
 * (`passphrase`, `evidence-key`, `github-token` …): they are left out, or the policy's commands would see them.
 */
function secretEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('INPUT_')));
  const passphrase = core.getInput('passphrase');
  if (passphrase) env[CREDENTIAL_ENV.passphrase] = passphrase;
  for (const name of Object.values(CREDENTIAL_ENV)) {
    const value = env[name];
    if (value && name !== CREDENTIAL_ENV.secretKeyFile && name !== CREDENTIAL_ENV.repositoryKeyFile) {
      core.setSecret(value);
    }
  }
  return env;
}

/** backup, snapshots, restore and verify in the Action: the CLI's engine, with outputs and a job summary. */
export async function runEngineCommand(command: EngineCommand, root: string): Promise<void> {
  const common = {
    root,
    paths: listInput('policies'),
    config: core.getInput('config') || undefined,
    env: secretEnvironment(),
  };
  const systems = listInput('systems');
  if (command === 'backup') {
    // The signing key goes to the evidence code only, never to the engine or the commands it runs.
    const evidence = runEvidence(root, common.config);
    const results = await runBackup({
      ...common,
      systems,
      due: core.getInput('due') !== '' && core.getBooleanInput('due'),
      log: (line) => core.info(line),
      onResult: (result) => evidence.appendBackup(result),
    });
    const snapshots = results.flatMap((r) =>
      r.repositories.map((repo) => ({
        system: r.system,
        repository: repo.name,
        snapshot: repo.snapshot,
        ...repo.summary,
      })),
    );
    const total = (key: 'bytesRead' | 'bytesAdded' | 'bytesStored' | 'files') =>
      results.reduce((sum, r) => sum + (r.repositories[0]?.summary[key] ?? 0), 0);
    core.setOutput(
      'summary-json',
      JSON.stringify({ command, systems: results, evidence: evidence.summary() }),
    );
    core.setOutput('snapshots', JSON.stringify(snapshots));
    core.setOutput('snapshot-id', snapshots[0]?.snapshot ?? '');
    core.setOutput('files', total('files'));
    core.setOutput('bytes-read', total('bytesRead'));
    core.setOutput('bytes-added', total('bytesAdded'));
    core.setOutput('bytes-stored', total('bytesStored'));
    const rows = results.map((r) => {
      const s = r.repositories[0]?.summary;
      return [
        r.system,
        r.status,
        r.repositories.map((repo) => `${repo.name}: \`${repo.snapshot.slice(0, 8)}\``).join('<br>'),
        s ? `${s.files}` : '',
        s ? formatBytes(s.bytes) : '',
        s ? formatBytes(s.bytesStored) : '',
        s ? formatSeconds(s.durationMs) : '',
        r.message ?? r.problems.map((p) => `${p.path}: ${p.message}`).join('<br>'),
      ];
    });
    await writeSummary(
      'Backup',
      ['system', 'status', 'snapshots', 'files', 'size', 'stored', 'time', 'notes'],
      rows,
    );
    for (const r of results) {
      if (r.status === 'failed')
        core.error(`${r.system}: ${r.message}`, { file: r.file, title: 'backup failed' });
      for (const p of r.problems) core.warning(`${r.system}: not backed up: ${p.path}: ${p.message}`);
    }
    await reportEvidence(evidence);
    core.setOutput('result', results.some((r) => r.status === 'failed') ? 'failed' : 'passed');
    const failed = results.filter((r) => r.status === 'failed').map((r) => r.system);
    if (failed.length > 0) core.setFailed(`backup failed for ${failed.join(', ')}`);
    else if (evidence.error !== undefined)
      core.setFailed(evidence.incomplete('the backups are done and their snapshots are safe'));
    else if (results.some((r) => r.status === 'partial'))
      core.setFailed('backup left unreadable files out; see the warnings');
    return;
  }
  if (command === 'drill') {
    await runDrillCommand(common, systems, root);
    return;
  }
  if (command === 'snapshots') {
    const { rows, problems } = await runSnapshots({ ...common, systems });
    core.setOutput('summary-json', JSON.stringify({ command, snapshots: rows, problems }));
    core.setOutput(
      'snapshots',
      JSON.stringify(rows.map(({ id, system, repository, time }) => ({ id, system, repository, time }))),
    );
    await writeSummary(
      'Snapshots',
      ['id', 'time', 'system', 'repository', 'files', 'size'],
      rows.map((r) => [
        `\`${r.id.slice(0, 8)}\``,
        r.time,
        r.system,
        r.repository,
        `${r.summary.files}`,
        formatBytes(r.summary.bytes),
      ]),
    );
    for (const problem of problems) core.error(problem);
    core.setOutput('result', problems.length ? 'failed' : 'passed');
    if (problems.length) core.setFailed(`${problems.length} snapshot(s) cannot be read`);
    return;
  }
  if (command === 'restore') {
    const system = systems[0];
    const target = core.getInput('target');
    if (!system || systems.length > 1 || !target) {
      core.setFailed('command "restore" needs one system in the `systems` input and a `target` directory');
      return;
    }
    const path = core.getInput('path');
    const result = await runRestore({
      ...common,
      system,
      snapshot: core.getInput('snapshot') || 'latest',
      target: { dir: target },
      ...(path ? { include: path } : {}),
    });
    core.setOutput('summary-json', JSON.stringify({ command, ...result }));
    core.setOutput('snapshot-id', result.snapshot);
    core.setOutput('files', result.totals.files);
    core.setOutput('duration-ms', result.durationMs);
    for (const warning of result.warnings) core.warning(warning);
    for (const p of result.problems) core.error(`not restored: ${p.path}: ${p.message}`);
    core.setOutput('result', result.problems.length ? 'failed' : 'passed');
    if (result.problems.length) core.setFailed(`${result.problems.length} path(s) not restored`);
    return;
  }
  if (command === 'prune') {
    const dryRun = core.getInput('dry-run') !== '' && core.getBooleanInput('dry-run');
    const evidence = dryRun ? undefined : runEvidence(root, common.config);
    const runs = await runPrune({ ...common, systems, dryRun, log: (line) => core.info(line) });
    for (const run of runs) await evidence?.appendPrune(run);
    const systemsPruned = runs.flatMap((run) =>
      (run.result?.systems ?? []).map((s) => ({ repository: run.name, ...s })),
    );
    const count = (key: 'kept' | 'removed' | 'disposals' | 'locked') =>
      systemsPruned.reduce((sum, s) => sum + s[key], 0);
    core.setOutput(
      'summary-json',
      JSON.stringify({ command, dryRun, repositories: runs, evidence: evidence?.summary() }),
    );
    core.setOutput('snapshots-kept', count('kept'));
    core.setOutput('snapshots-removed', count('removed'));
    core.setOutput('disposals', count('disposals'));
    core.setOutput(
      'bytes-freed',
      runs.reduce((sum, run) => sum + Math.max(0, run.result?.bytesFreed ?? 0), 0),
    );
    await writeSummary(
      dryRun ? 'Prune (dry run)' : 'Prune',
      ['system', 'repository', 'kept', dryRun ? 'would remove' : 'removed', 'disposals', 'locked'],
      systemsPruned.map((s) => [
        s.system,
        s.repository,
        `${s.kept}`,
        `${s.removed}`,
        `${s.disposals}`,
        `${s.locked}`,
      ]),
    );
    for (const run of runs) {
      if (run.status === 'failed') core.error(`${run.name} (${run.location}): ${run.message}`);
      for (const locked of run.result?.locked ?? [])
        core.notice(`${run.name}: ${locked.object}: locked until ${locked.until}`);
    }
    await reportEvidence(evidence);
    const failed = runs.filter((run) => run.status === 'failed').map((run) => run.name);
    core.setOutput('result', failed.length ? 'failed' : 'passed');
    if (failed.length) core.setFailed(`prune failed for ${failed.join(', ')}`);
    else if (evidence?.error !== undefined) core.setFailed(evidence.incomplete('the prune is done'));
    return;
  }
  const readDataInput = core.getInput('read-data') || 'none';
  const readData = readDataInput === 'none' ? 0 : readDataInput === 'all' ? 1 : parseSubset(readDataInput);
  if (readData === undefined) {
    core.setFailed(`input "read-data": none, all, or a fraction such as 10%, not "${readDataInput}"`);
    return;
  }
  const results = await runVerify({ ...common, systems, readData });
  core.setOutput('summary-json', JSON.stringify({ command, repositories: results }));
  const findings = results.flatMap((r) => r.findings.map((f) => ({ ...f, repository: r.repository })));
  for (const r of results) if (r.unindexedPacks > 0) core.notice(`${r.repository}: ${unindexedNote(r)}`);
  for (const f of findings) {
    core.error(
      `${f.repository}: ${f.object}: ${f.message}${f.affected.length ? ` (affects ${f.affected.slice(0, 10).join(', ')})` : ''}`,
    );
  }
  await writeSummary(
    'Repository verification',
    ['repository', 'snapshots', 'packs', 'packs read', 'errors'],
    results.map((r) => [
      r.repository,
      `${r.snapshots}`,
      `${r.packs}`,
      `${r.packsRead}`,
      `${r.findings.length}`,
    ]),
  );
  core.setOutput('result', findings.length ? 'failed' : 'passed');
  if (findings.length) core.setFailed(`${findings.length} error(s) in the repositories`);
}

/** `command: drill`: the CLI's drills, with a job summary table, annotations and outputs. */
async function runDrillCommand(
  common: { root: string; paths: string[]; config: string | undefined; env: NodeJS.ProcessEnv },
  systems: string[],
  root: string,
): Promise<void> {
  const evidence = runEvidence(root, common.config);
  const seed = core.getInput('seed');
  const results = await runDrill({
    ...common,
    systems,
    due: core.getInput('due') !== '' && core.getBooleanInput('due'),
    ...(seed !== '' ? { seed } : {}),
    log: (line) => core.info(line),
    onResult: (result) => evidence.appendDrill(result),
  });
  const ran = results.filter((r) => r.status !== 'not-due');
  core.setOutput(
    'summary-json',
    JSON.stringify({ command: 'drill', systems: results, evidence: evidence.summary() }),
  );
  core.setOutput(
    'drills',
    JSON.stringify(
      ran.map((r) => ({
        system: r.system,
        status: r.status,
        snapshot: r.snapshot?.id ?? null,
        repository: r.repository ?? null,
        restoreDurationMs: r.measurements.restoreDurationMs ?? null,
        rtoSeconds: r.measurements.rtoSeconds ?? null,
        verified: r.measurements.verified,
      })),
    ),
  );
  const first = ran[0];
  core.setOutput('snapshot-id', first?.snapshot?.id ?? '');
  core.setOutput('duration-ms', first?.measurements.restoreDurationMs ?? '');
  core.setOutput(
    'files',
    ran.reduce((sum, r) => sum + (r.measurements.files ?? 0), 0),
  );
  await writeSummary(
    'Restore drills',
    ['system', 'result', 'snapshot', 'restored', 'read back', 'verify steps', 'restore time / RTO', 'notes'],
    results.map((r) => {
      if (r.status === 'not-due') return [r.system, 'not due', '', '', '', '', '', r.message];
      const m = r.measurements;
      const passedSteps = r.steps.filter((step) => step.status === 'passed').length;
      return [
        r.system,
        r.status === 'passed' ? '✅ passed' : '❌ failed',
        r.snapshot ? `${r.repository}: \`${r.snapshot.id.slice(0, 8)}\`` : '',
        m.restoreMs !== undefined
          ? `${m.files ?? 0} file${m.files === 1 ? '' : 's'}, ${formatBytes(m.bytes ?? 0)}`
          : '',
        m.integrityMs !== undefined ? (m.verified ? 'complete' : 'differs') : '',
        r.steps.length > 0 ? `${passedSteps} of ${r.steps.length} passed` : '',
        m.restoreDurationMs !== undefined
          ? `${formatSeconds(m.restoreDurationMs)}${m.rtoSeconds !== undefined ? ` / ${formatDuration(m.rtoSeconds)}` : ''}`
          : '',
        r.failures.join('<br>'),
      ];
    }),
  );
  for (const r of ran) {
    if (r.status === 'failed') {
      core.error(`${r.system}: ${r.failures.join('; ')}`, { file: r.file, title: 'drill failed' });
    }
  }
  await reportEvidence(evidence);
  const failed = ran.filter((r) => r.status === 'failed').map((r) => r.system);
  core.setOutput('result', failed.length ? 'failed' : 'passed');
  if (failed.length) core.setFailed(`drill failed for ${failed.join(', ')}`);
  else if (evidence.error !== undefined) core.setFailed(evidence.incomplete('the drills passed'));
}
