import { closeSync, existsSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { BUILTIN_CONTROLS_DIR, VERSION } from '../assets.ts';
import type { Control } from '../controls/control.ts';
import { evaluatePolicy } from '../controls/evaluate-static.ts';
import type { FactProbe } from '../controls/facts.ts';
import { loadControls } from '../controls/library.ts';
import { applyProfile } from '../controls/profile.ts';
import {
  type CheckCounts,
  type CheckReport,
  type ControlSummary,
  type Finding,
  SEVERITIES,
  type Severity,
  type SystemRef,
} from '../controls/result.ts';
import { DEFAULT_CONTROLS_PATH, loadConfig } from '../policy/config.ts';
import { discoverPolicyFiles } from '../policy/discover.ts';
import { outsideRoot } from '../policy/inside.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import { fileStart, type SourceRange } from '../policy/source.ts';
import type { YamlProblem } from '../policy/yaml-file.ts';

export interface CheckOptions {
  /** Repository root: policies, config and runbooks are found relative to it. */
  root: string;
  /** Policy files, directories or globs; empty for the configured ones. */
  paths: readonly string[];
  /** Config file relative to root; undefined for `.restorable/config.yaml` if present. */
  config?: string;
  /** Overrides the config's failOn. */
  failOn?: Severity | 'never';
}

/** What every check needs before it reads a policy: the profile, its controls and the files to read. */
export interface CheckSetup {
  config: ReturnType<typeof loadConfig>;
  library: ReturnType<typeof loadControls>;
  profile: ReturnType<typeof applyProfile>;
  discovered: ReturnType<typeof discoverPolicyFiles>;
}

/** One schema-valid policy as evaluated: its systems and findings (none when its references are broken). */
export interface PolicyResult {
  file: string;
  name: string;
  nameLocation: SourceRange;
  evaluated: boolean;
  systems: string[];
  findings: Finding[];
}

/** What reading a list of files gives, before names are compared across files. */
export interface EvaluatedFiles {
  policies: PolicyResult[];
  problems: YamlProblem[];
}

/**
 * `restorable check`: reads files only. It runs nothing from a policy, reads no secret and writes nothing;
 * the caller decides where reports go.
 */
export function runCheck(options: CheckOptions, profile?: LoadedProfile): CheckReport {
  const started = performance.now();
  const setup = setUpCheck(options, profile);
  const evaluated = evaluateFiles(options.root, setup.discovered.files, setup.profile.controls);
  return finishCheck(options, setup, [evaluated], started);
}

/**
 * Loads the profile (unless the caller already holds it for the same root and config, as a long series of
 * checks may) and finds the files.
 */
export function setUpCheck(options: CheckOptions, loaded?: LoadedProfile): CheckSetup {
  const { config, library, profile } = loaded ?? loadProfile(options.root, options.config);
  const discovered = discoverPolicyFiles(options.root, options.paths, config.data.policies);
  return { config, library, profile, discovered };
}

export type LoadedProfile = Omit<CheckSetup, 'discovered'>;

/** The profile and the controls it selects: the shipped library plus the organisation's own. */
export function loadProfile(root: string, configPath: string | undefined): LoadedProfile {
  const config = loadConfig(root, configPath);
  const controlDirs: Parameters<typeof loadControls>[0] = [
    { path: BUILTIN_CONTROLS_DIR, display: 'controls', shipped: true },
  ];
  const ownDirs =
    config.data.controls?.paths ??
    (existsSync(join(root, DEFAULT_CONTROLS_PATH)) ? [DEFAULT_CONTROLS_PATH] : []);
  const outside: string[] = [];
  for (const dir of ownDirs) {
    const path = join(root, dir);
    if (outsideRoot(root, path)) outside.push(dir);
    else controlDirs.push({ path, display: dir, root });
  }
  const library = loadControls(controlDirs);
  // A pull request can change the profile: its control directories must not reach the runner's other files.
  for (const dir of outside) {
    library.problems.push({
      ruleId: 'control/directory',
      message: `the control directory ${dir} is outside the repository; controls are read from inside it only`,
      remediation:
        'Keep your own controls in the repository (e.g. `.restorable/controls`) and name the directory relative to its root.',
      location: fileStart(dir),
    });
  }
  const profile = applyProfile(library.controls, config);
  return { config, library, profile };
}

/** Reads and evaluates the files, in order. Each policy's syntax tree is dropped once it is evaluated. */
export function evaluateFiles(
  root: string,
  files: readonly string[],
  controls: readonly Control[],
): EvaluatedFiles {
  const probe = repositoryProbe(root);
  const policies: PolicyResult[] = [];
  const problems = loadPolicies(root, files, (policy, valid) => {
    policies.push({
      file: policy.file,
      name: policy.data.metadata.name,
      nameLocation: policy.document.locate(['metadata', 'name']),
      evaluated: valid,
      systems: valid ? policy.data.systems.map((s) => s.name) : [],
      findings: valid ? evaluatePolicy(policy, controls, probe) : [],
    });
  });
  return { policies, problems };
}

/**
 * Joins the parts (in file order), finds policy names used twice, and writes the report. The first policy
 * with a name keeps it; a later one is a problem and is not evaluated.
 */
export function finishCheck(
  options: CheckOptions,
  setup: CheckSetup,
  parts: readonly EvaluatedFiles[],
  started: number,
): CheckReport {
  const { config, library, profile, discovered } = setup;
  const findings: Finding[] = [];
  const systems: SystemRef[] = [];
  const loadProblems: YamlProblem[] = [];
  const names = new Map<string, string>();
  let policyCount = 0;
  for (const part of parts) {
    loadProblems.push(...part.problems);
    for (const policy of part.policies) {
      const previous = names.get(policy.name);
      if (previous) {
        loadProblems.push({
          ruleId: 'policy/duplicate-name',
          message: `policy name \`${policy.name}\` is already used in ${previous}`,
          remediation: 'Give every policy a unique `metadata.name`: evidence and reports are keyed by it.',
          location: policy.nameLocation,
        });
        continue;
      }
      names.set(policy.name, `${policy.file}:${policy.nameLocation.line}`);
      if (!policy.evaluated) continue;
      policyCount++;
      for (const system of policy.systems) systems.push({ policy: policy.name, system, file: policy.file });
      for (const finding of policy.findings) findings.push(finding);
    }
  }
  // Problems in file order, then by position, whichever way the files were read.
  const order = new Map(discovered.files.map((file, index) => [file, index]));
  loadProblems.sort(
    (a, b) =>
      (order.get(a.location.file) ?? 0) - (order.get(b.location.file) ?? 0) ||
      a.location.line - b.location.line ||
      a.location.column - b.location.column,
  );
  const problems = [
    ...config.problems,
    ...library.problems,
    ...profile.problems,
    ...discovered.problems,
    ...loadProblems,
  ].map(problemFinding);
  if (discovered.files.length === 0 && discovered.problems.length === 0) {
    problems.push(
      problemFinding({
        ruleId: 'policy/none-found',
        message: `no policy files found (${options.paths.length ? options.paths.join(', ') : (config.data.policies ?? ['.restorable/**/*.{yml,yaml}']).join(', ')})`,
        remediation: 'Add a policy under .restorable/ or give the paths to check.',
        location: fileStart('.'),
      }),
    );
  }
  findings.push(...problems);

  const failOn = options.failOn ?? config.data.failOn ?? 'low';
  const controls: ControlSummary[] = profile.controls.map((c) => ({
    id: c.data.id,
    title: c.data.title,
    description: c.data.description,
    severity: c.severity,
    evaluation: c.data.check.static ? 'static' : 'runtime',
    criteria: {
      soc2: c.data.criteria.soc2,
      iso27001: c.data.criteria.iso27001 ?? [],
      nist80053: c.data.criteria.nist80053 ?? [],
    },
    remediation: c.data.remediation.replace(
      /\{param\.([A-Za-z0-9]+)\}/g,
      (m, n: string) => c.paramText[n] ?? m,
    ),
    source: c.source,
  }));
  const counts = countFindings(
    findings,
    discovered.files.length,
    policyCount,
    systems.length,
    controls.length,
  );
  return {
    tool: { name: 'restorable', version: VERSION },
    startedAt: new Date(Date.now() - (performance.now() - started)).toISOString(),
    durationMs: Math.round(performance.now() - started),
    files: discovered.files,
    systems,
    controls,
    findings,
    counts,
    failOn,
    failed: findings.some((f) => f.status === 'fail' && fails(f.severity, failOn)),
  };
}

/** A failing finding fails the run when its severity is at or above the threshold. */
export function fails(severity: Severity, failOn: Severity | 'never'): boolean {
  if (failOn === 'never') return false;
  return SEVERITIES.indexOf(severity) <= SEVERITIES.indexOf(failOn);
}

function problemFinding(problem: YamlProblem): Finding {
  return {
    kind: 'problem',
    ruleId: problem.ruleId,
    title: problem.ruleId,
    // A file that cannot be read cannot be checked: that is as bad as the worst failing control.
    severity: 'critical',
    status: 'fail',
    location: problem.location,
    message: problem.message,
    remediation: problem.remediation,
  };
}

function countFindings(
  findings: readonly Finding[],
  files: number,
  policies: number,
  systems: number,
  controls: number,
): CheckCounts {
  const bySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  const counts: CheckCounts = {
    files,
    policies,
    systems,
    controls,
    passed: 0,
    failed: 0,
    notApplicable: 0,
    problems: 0,
    bySeverity,
  };
  for (const f of findings) {
    if (f.kind === 'problem') counts.problems++;
    else if (f.status === 'pass') counts.passed++;
    else if (f.status === 'not-applicable') counts.notApplicable++;
    else {
      counts.failed++;
      bySeverity[f.severity]++;
    }
  }
  return counts;
}

/**
 * Answers questions about files named by policies (does a runbook exist, what does a key file start
 * with) without ever looking outside the repository, symlinks included.
 */
export function repositoryProbe(root: string): FactProbe {
  const realRoot = realpathSync(root);
  const known = new Map<string, string | undefined>();
  /** The real path of a regular file inside the repository, or undefined. */
  const inside = (path: string): string | undefined => {
    if (known.has(path)) return known.get(path);
    let real: string | undefined;
    try {
      const absolute = join(root, path);
      if (statSync(absolute).isFile()) {
        const candidate = realpathSync(absolute);
        const rel = relative(realRoot, candidate);
        if (!rel.startsWith('..') && !isAbsolute(rel)) real = candidate;
      }
    } catch {
      real = undefined;
    }
    known.set(path, real);
    return real;
  };
  const heads = new Map<string, Uint8Array | undefined>();
  return {
    fileExists: (path) => inside(path) !== undefined,
    readHead(path, bytes) {
      const key = `${bytes}:${path}`;
      if (heads.has(key)) return heads.get(key);
      const real = inside(path);
      let head: Uint8Array | undefined;
      if (real !== undefined) {
        const fd = openSync(real, 'r');
        try {
          const buffer = Buffer.alloc(bytes);
          head = buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
        } finally {
          closeSync(fd);
        }
      }
      heads.set(key, head);
      return head;
    },
  };
}
