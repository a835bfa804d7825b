import * as core from '@actions/core';
import {
  appendCheckRecord,
  type EvidenceOptions,
  EvidenceRun,
  isPullRequestEvent,
} from '../commands/evidence.ts';
import type { CheckReport } from '../controls/result.ts';
import { evidenceSettings } from '../evidence/settings.ts';
import { SIGNING_ENV } from '../evidence/signing.ts';
import { evidenceStatus } from '../evidence/status.ts';
import { verifyEvidence } from '../evidence/verify.ts';
import { failOnInput, listInput } from './inputs.ts';
import { writeSummary } from './summary.ts';

/**
 * Evidence in the Action: the signing key from the `evidence-key` and `evidence-key-passphrase` inputs (or
 * the RESTORABLE_EVIDENCE_KEY* variables), masked before anything could print it and handed to the evidence
 * code in an environment object, never in argv or a file; `check` with `evidence: true`; `backup`'s records;
 * and `command: evidence-verify`.
 */

/**
 * Registers a secret with the runner's log masker: the whole value, and each line of a multi-line one (the
 * runner masks line by line, so a multi-line value alone would not hide its lines). Armor lines
 * (`-----BEGIN …`) and short lines are not secret and are left alone.
 */
export function maskSecret(value: string): void {
  core.setSecret(value);
  for (const line of value.split(/\r?\n/)) {
    const text = line.trim();
    if (text.length >= 8 && !text.startsWith('-----') && text !== value) core.setSecret(text);
  }
}

/**
 * The environment the evidence code reads the key from: the runner's, plus the key inputs. Only the evidence
 * code gets it; the backup engine and the commands it runs do not.
 */
export function evidenceEnvironment(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env = { ...base };
  const key = core.getInput('evidence-key');
  const passphrase = core.getInput('evidence-key-passphrase');
  if (key) {
    env[SIGNING_ENV.key] = key;
    delete env[SIGNING_ENV.keyFile];
  }
  if (passphrase) env[SIGNING_ENV.passphrase] = passphrase;
  for (const name of [SIGNING_ENV.key, SIGNING_ENV.passphrase]) {
    const value = env[name];
    if (value) maskSecret(value);
  }
  return env;
}

/** The `evidence` input: true, false, or undefined when left empty (each command's default). */
export function evidenceInput(): boolean | undefined {
  return core.getInput('evidence') === '' ? undefined : core.getBooleanInput('evidence');
}

function evidenceRemote(): string {
  return core.getInput('evidence-remote') || 'origin';
}

/** Evidence options that report through the Action's log: warnings and errors as annotations. */
export function evidenceOptions(
  root: string,
  config: string | undefined,
  env: NodeJS.ProcessEnv,
  enabled = true,
): EvidenceOptions {
  return {
    root,
    env,
    enabled,
    remote: evidenceRemote(),
    ...(config !== undefined ? { config } : {}),
    keyHint: 'give the `evidence-key` input, or set `evidence: false`',
    log: (line) => core.info(line),
    warn: (line) => core.warning(line),
    error: (line) => core.error(line),
  };
}

/** The evidence of a backup or prune run: on unless `evidence: false`. */
export function runEvidence(root: string, config: string | undefined): EvidenceRun {
  const enabled = evidenceInput() !== false;
  return new EvidenceRun(
    evidenceOptions(root, config, enabled ? evidenceEnvironment() : process.env, enabled),
  );
}

/** Sets `evidence-records` and adds the records to the job summary. */
export async function reportEvidence(run: EvidenceRun | undefined): Promise<void> {
  const written = run?.written ?? [];
  core.setOutput('evidence-records', JSON.stringify(written));
  if (!run || (written.length === 0 && run.error === undefined)) return;
  const rows = written.map((r) => [
    r.kind,
    r.systems.join(', '),
    `\`${r.file}\``,
    `\`${r.sha256.slice(0, 16)}\``,
  ]);
  for (const label of run.notWritten) rows.push([label, '', '**not written**', '']);
  await writeSummary('Evidence', ['kind', 'systems', 'record', 'sha256'], rows);
}

/**
 * `check` with `evidence: true`: the check's record. On a pull-request event nothing is read (the key input
 * included) and nothing is written.
 */
export async function checkEvidence(
  report: CheckReport,
  root: string,
  config: string | undefined,
): Promise<void> {
  if (evidenceInput() !== true) return;
  const env = isPullRequestEvent(process.env) ? { ...process.env } : evidenceEnvironment();
  const run = await appendCheckRecord(report, evidenceOptions(root, config, env));
  await reportEvidence(run);
  if (run?.error !== undefined) core.setFailed(`${run.error}; the check itself ran`);
}

/** `command: evidence-verify`: every record, signature and link, with a job summary and outputs. */
export async function runEvidenceVerify(root: string, config: string | undefined): Promise<void> {
  const settings = evidenceSettings(root, config);
  if (settings.fingerprint === undefined) {
    core.setFailed(
      `evidence-verify: no pinned key: set evidence.signingKey.fingerprint in ${settings.configFile ?? '.restorable/config.yaml'}`,
    );
    return;
  }
  const remote = evidenceRemote();
  const report = await verifyEvidence({
    root,
    branch: settings.branch,
    fingerprint: settings.fingerprint,
    remote,
    env: process.env,
    trackLocal: true,
  });
  core.setOutput('records', report.records.length);
  core.setOutput('ok', String(report.ok));
  core.setOutput('result', report.ok ? 'passed' : 'failed');
  core.setOutput('evidence-head', report.head?.sha256 ?? '');
  core.setOutput('summary-json', JSON.stringify({ command: 'evidence verify', ...report }));
  const shown = 50;
  for (const problem of report.problems.slice(0, shown)) core.error(`${problem.where}: ${problem.message}`);
  if (report.problems.length > shown) {
    core.error(`… and ${report.problems.length - shown} more problems (see summary-json)`);
  }
  const where = `${remote}/${report.branch}${report.tip ? ` at \`${report.tip.slice(0, 12)}\`` : ''}`;
  const count = `${report.records.length} record${report.records.length === 1 ? '' : 's'}`;
  const verdict = report.ok
    ? `**Verified**: ${count} on ${where}, every one signed by \`${report.fingerprint}\` and chained; nothing changed or removed.`
    : `**Does NOT verify**: ${count} on ${where}, ${report.problems.length} problem(s).`;
  const head = report.head
    ? `\n\nNewest record: \`${report.head.file}\`, sha256 \`${report.head.sha256}\``
    : '';
  const kinds = new Map<
    string,
    { records: number; success: number; partial: number; failure: number; newest: string }
  >();
  for (const record of report.records) {
    const row = kinds.get(record.kind) ?? { records: 0, success: 0, partial: 0, failure: 0, newest: '' };
    row.records++;
    if (record.outcome === 'success' || record.outcome === 'partial' || record.outcome === 'failure')
      row[record.outcome]++;
    if ((record.time ?? '') > row.newest) row.newest = record.time ?? '';
    kinds.set(record.kind, row);
  }
  await writeSummary(
    'Evidence verification',
    ['kind', 'records', 'success', 'partial', 'failure', 'newest'],
    [...kinds].map(([kind, r]) => [
      kind,
      `${r.records}`,
      `${r.success}`,
      `${r.partial}`,
      `${r.failure}`,
      r.newest,
    ]),
    `${verdict}${head}`,
  );
  if (report.problems.length > 0) {
    await writeSummary(
      'Evidence problems',
      ['where', 'problem'],
      report.problems.slice(0, 200).map((p) => [p.where, p.message]),
    );
  }
  if (!report.ok)
    core.setFailed(`evidence-verify: ${report.problems.length} problem(s): the evidence does NOT verify`);
}

/**
 * `command: status`: the run-time controls against the newest evidence, as a job summary, annotations and
 * outputs; the step fails when one is violated (or has no evidence), so a scheduled run alerts the team.
 */
export async function runStatus(root: string, config: string | undefined): Promise<void> {
  const failOn = failOnInput();
  const report = await evidenceStatus({
    root,
    paths: listInput('policies'),
    env: process.env,
    remote: evidenceRemote(),
    ...(config !== undefined ? { config } : {}),
    ...(failOn !== undefined ? { failOn } : {}),
  });
  core.setOutput('summary-json', JSON.stringify({ command: 'status', ...report }));
  core.setOutput('passed', report.counts.pass);
  core.setOutput('failed', report.counts.fail + report.counts.noEvidence);
  core.setOutput('result', report.failed ? 'failed' : 'passed');
  for (const problem of report.problems) core.error(problem);
  for (const r of report.results) {
    if (r.status === 'fail' || r.status === 'no-evidence') {
      core.error(`${r.system}: ${r.control} ${r.title}: ${r.message}`, { file: r.file, title: r.control });
    }
  }
  await writeSummary(
    'Run-time controls',
    ['system', 'control', 'status', 'measured', 'limit', 'message'],
    report.results.map((r) => [r.system, r.control, r.status, r.value ?? '', r.limit ?? '', r.message]),
  );
  if (report.notice) core.warning(report.notice);
  if (report.failed) {
    core.setFailed(
      `status: ${report.counts.fail} run-time control(s) violated, ${report.counts.noEvidence} without evidence`,
    );
  }
}
