import { relative, resolve } from 'node:path';
import * as core from '@actions/core';
import { ENGINE_COMMANDS, isEngineCommand, runEngineCommand } from './action/engine.ts';
import { checkEvidence, runEvidenceVerify, runStatus } from './action/evidence.ts';
import { failOnInput, listInput } from './action/inputs.ts';
import { runPlanAction } from './action/plan.ts';
import { commentOnPullRequest, compareWithBase, failScopeInput } from './action/pull-request.ts';
import { runCheck } from './commands/check.ts';
import { annotationOverflow, selectAnnotations } from './report/annotations.ts';
import { changesHeadline } from './report/changes-render.ts';
import { rebaseReport } from './report/rebase.ts';
import { renderSummary } from './report/summary.ts';
import { writeReports } from './report/write.ts';

/** The Action: inputs → command → GitHub output (annotations, job summary, outputs). */
export async function run(): Promise<void> {
  const command = core.getInput('command') || 'check';
  const workspace = resolve(process.env.GITHUB_WORKSPACE ?? '.');
  const root = resolve(workspace, core.getInput('working-directory') || '.');
  if (isEngineCommand(command)) {
    try {
      await runEngineCommand(command, root);
    } catch (error) {
      core.setFailed(`${command}: ${(error as Error).message}`);
    }
    return;
  }
  const config = core.getInput('config') || undefined;
  if (command === 'evidence-verify' || command === 'status' || command === 'plan') {
    try {
      if (command === 'status') await runStatus(root, config);
      else if (command === 'plan') await runPlanAction(root, config);
      else await runEvidenceVerify(root, config);
    } catch (error) {
      core.setFailed(`${command}: ${(error as Error).message}`);
    }
    return;
  }
  if (command !== 'check') {
    core.setFailed(
      `input "command": unknown command "${command}"; this version supports: check, ${ENGINE_COMMANDS.join(', ')}, plan, evidence-verify, status`,
    );
    return;
  }
  let failOn: ReturnType<typeof failOnInput>;
  let scope: ReturnType<typeof failScopeInput>;
  try {
    failOn = failOnInput();
    scope = failScopeInput();
  } catch (error) {
    core.setFailed((error as Error).message);
    return;
  }
  const options = { root, paths: listInput('policies'), config, failOn };
  const checked = runCheck(options);
  // Annotations, code scanning and the summary name files from the repository root.
  const report = rebaseReport(await compareWithBase(options, checked, scope), relative(workspace, root));

  for (const annotation of selectAnnotations(report)) {
    const emit =
      annotation.level === 'error' ? core.error : annotation.level === 'warning' ? core.warning : core.notice;
    emit(annotation.message, {
      title: annotation.title,
      file: annotation.file,
      startLine: annotation.startLine,
      endLine: annotation.endLine,
      startColumn: annotation.startColumn,
      endColumn: annotation.endColumn,
    });
  }
  const hidden = annotationOverflow(report);
  if (hidden > 0)
    core.info(`${hidden} more failing finding(s) are listed in the job summary and the reports.`);

  const written = writeReports(report, root, {
    sarif: core.getInput('sarif-file') || undefined,
    junit: core.getInput('junit-file') || undefined,
    json: core.getInput('json-file') || undefined,
  });
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(renderSummary(report), true).write();

  const { counts } = report;
  core.setOutput('result', report.failed ? 'failed' : 'passed');
  core.setOutput('new-failures', report.changes ? report.changes.newFailures.length : '');
  core.setOutput('fixed', report.changes ? report.changes.fixed.length : '');
  core.setOutput('passed', counts.passed);
  core.setOutput('failed', counts.failed);
  core.setOutput('problems', counts.problems);
  core.setOutput('not-applicable', counts.notApplicable);
  core.setOutput('systems', counts.systems);
  core.setOutput('controls', counts.controls);
  core.setOutput('sarif-file', written.sarif ?? '');
  core.setOutput('junit-file', written.junit ?? '');
  core.setOutput('json-file', written.json ?? '');
  core.info(
    `checked ${counts.systems} system(s) in ${counts.policies} polic${counts.policies === 1 ? 'y' : 'ies'} against ${counts.controls} controls: ${counts.passed} passed, ${counts.failed} failed, ${counts.problems} problem(s)`,
  );
  if (report.changes) core.info(`against the base commit: ${changesHeadline(report.changes)}`);
  await commentOnPullRequest(report);
  if (report.failed) {
    const what =
      report.failScope === 'new' && report.changes
        ? `${report.changes.newFailures.length} new failing finding(s) or problem(s)`
        : `${counts.failed + counts.problems} finding(s)`;
    core.setFailed(`${what} at or above fail-on "${report.failOn}"; see the annotations and the job summary`);
  }
  // Only with `evidence: true`, and never on a pull request: check needs no secret otherwise.
  try {
    await checkEvidence(checked, root, config);
  } catch (error) {
    core.setFailed(`evidence: ${(error as Error).message}`);
  }
}
