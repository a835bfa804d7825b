import * as core from '@actions/core';
import { jobMatrix, planJobs, planSummary } from '../commands/plan-due.ts';
import { listInput } from './inputs.ts';
import { writeSummary } from './summary.ts';

/**
 * `command: plan` in the Action: the jobs to run as matrices for the jobs that follow
 * (examples/workflows/scale-out.yml). Outputs `matrix` and `count` (every job), and `backup-matrix`,
 * `backup-count`, `drill-matrix`, `drill-count` (one command each: a job's `if` cannot read its own matrix, so
 * each matrix job takes its own matrix and skips itself when its count is 0; GitHub fails a matrix job whose
 * `include` is empty). Reads no repository and needs no secret.
 */
export async function runPlanAction(root: string, config: string | undefined): Promise<void> {
  const remote = core.getInput('evidence-remote');
  const plan = await planJobs({
    root,
    paths: listInput('policies'),
    ...(config !== undefined ? { config } : {}),
    systems: listInput('systems'),
    due: core.getInput('due') !== '' && core.getBooleanInput('due'),
    ...(remote !== '' ? { evidenceRemote: remote } : {}),
    env: process.env,
    log: (line) => core.info(line),
  });
  core.setOutput('matrix', JSON.stringify(jobMatrix(plan)));
  core.setOutput('count', plan.include.length);
  for (const command of ['backup', 'drill'] as const) {
    const matrix = jobMatrix(plan, command);
    core.setOutput(`${command}-matrix`, JSON.stringify(matrix));
    core.setOutput(`${command}-count`, matrix.include.length);
  }
  core.setOutput('summary-json', JSON.stringify(planSummary(plan)));
  core.setOutput('result', 'passed');
  for (const job of plan.include) core.info(`${job.command} ${job.system}: planned: ${job.reason}`);
  for (const job of plan.skipped) core.info(`${job.command} ${job.system}: not planned: ${job.reason}`);
  await writeSummary(
    'Plan',
    ['command', 'system', 'repository', 'policy', 'why'],
    plan.include.map((job) => [job.command, job.system, job.repositories.join(', '), job.policy, job.reason]),
    `${plan.include.length} job(s) planned${plan.due ? ' (due)' : ''} at ${plan.now}${plan.unknown !== undefined ? `; everything is due: ${plan.unknown}` : ''}.`,
  );
  if (plan.skipped.length > 0) {
    await writeSummary(
      'Not planned',
      ['command', 'system', 'policy', 'why'],
      plan.skipped.map((job) => [job.command, job.system, job.policy, job.reason]),
    );
  }
}
