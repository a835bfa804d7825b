import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { GIT_ENV } from './git.ts';
import { type CliRun, runScript } from './restorable-cli.ts';
import { REPO_ROOT } from './run-node.ts';

/**
 * Runs dist/index.js as the GitHub runner does: every input of action.yml as INPUT_<NAME> (its default unless
 * given, `${{ github.token }}` replaced by the job's token), the event payload in a file named by
 * GITHUB_EVENT_PATH, fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and the GITHUB_* variables a job has.
 * Asynchronous, so servers in the test process (S3, the GitHub API) keep answering.
 */

export const ACTION = join(REPO_ROOT, 'dist/index.js');

const ACTION_INPUTS = (
  parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
  }
).inputs;

export interface ActionEvent {
  name: string;
  payload: Record<string, unknown>;
}

export interface ActionRunOptions {
  workspace: string;
  inputs: Record<string, string>;
  event: ActionEvent;
  /** The job's token (`github.token`); the API's URL. */
  token?: string;
  apiUrl?: string;
  repository?: string;
  env?: Record<string, string>;
}

export interface AnnotationLine {
  level: string;
  props: Record<string, string>;
  message: string;
}

export interface ActionRun extends CliRun {
  outputs: Record<string, string>;
  summary: string;
  annotations: AnnotationLine[];
}

export async function runAction(options: ActionRunOptions): Promise<ActionRun> {
  const temp = mkdtempSync(join(tmpdir(), 'restorable-runner-'));
  try {
    const eventPath = join(temp, 'event.json');
    const output = join(temp, 'output');
    const summary = join(temp, 'summary.md');
    writeFileSync(eventPath, JSON.stringify(options.event.payload));
    writeFileSync(output, '');
    writeFileSync(summary, '');
    const token = options.token ?? 'ghs_jobtoken0000000000000000000000000000';
    const env: Record<string, string> = {
      ...GIT_ENV,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_WORKSPACE: options.workspace,
      GITHUB_EVENT_NAME: options.event.name,
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_REPOSITORY: options.repository ?? 'acme/payments',
      GITHUB_RUN_ID: '4242',
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_API_URL: options.apiUrl ?? 'http://127.0.0.1:9/unreachable',
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
      RUNNER_TEMP: temp,
      ...options.env,
    };
    for (const [name, input] of Object.entries(ACTION_INPUTS)) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: action.yml's expression, as the runner expands it
      const value = options.inputs[name] ?? (input.default ?? '').replace('${{ github.token }}', token);
      env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] = value;
    }
    for (const name of Object.keys(options.inputs)) {
      if (!(name in ACTION_INPUTS)) throw new Error(`action.yml declares no input "${name}"`);
    }
    const run = await runScript(ACTION, [], { cwd: options.workspace, env, timeoutMs: 180_000 });
    return {
      ...run,
      outputs: parseOutputs(readFileSync(output, 'utf8')),
      summary: readFileSync(summary, 'utf8'),
      annotations: parseAnnotations(run.stdout),
    };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** GITHUB_OUTPUT's `name<<delimiter` blocks. */
export function parseOutputs(text: string): Record<string, string> {
  const outputs: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<]+)<<(.+)$/.exec(lines[i]!);
    if (!match) continue;
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== match[2]; i++) value.push(lines[i]!);
    outputs[match[1]!] = value.join('\n');
  }
  return outputs;
}

/** The workflow commands (`::error file=…,line=…::message`) the Action printed. */
export function parseAnnotations(stdout: string): AnnotationLine[] {
  const out: AnnotationLine[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^::(error|warning|notice)( [^:]*)?::(.*)$/.exec(line);
    if (!match) continue;
    const props: Record<string, string> = {};
    for (const pair of (match[2] ?? '').trim().split(',').filter(Boolean)) {
      const at = pair.indexOf('=');
      props[pair.slice(0, at)] = decodeURIComponent(pair.slice(at + 1).replace(/%2C/g, ','));
    }
    out.push({ level: match[1]!, props, message: match[3]! });
  }
  return out;
}
