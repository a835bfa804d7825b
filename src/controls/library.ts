import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDuration } from '../policy/duration.ts';
import { outsideProblem, outsideRoot } from '../policy/inside.ts';
import { validator } from '../policy/schemas.ts';
import { fileStart } from '../policy/source.ts';
import { validateDocument } from '../policy/validate-document.ts';
import { parseYamlFile, type YamlDocument, type YamlProblem } from '../policy/yaml-file.ts';
import type { ControlData } from './control.ts';
import { REPOSITORY_FACTS, RUNTIME_FACTS, SYSTEM_FACTS } from './facts.ts';
import { factsOf, paramsOf, patternsOf } from './predicate.ts';

export interface LoadedControl {
  data: ControlData;
  source: string;
  document: YamlDocument;
}

export interface ControlLibrary {
  controls: LoadedControl[];
  problems: YamlProblem[];
}

const LIST_FACTS: Record<string, Set<string>> = {
  repositories: new Set(REPOSITORY_FACTS.map((f) => f.name)),
};
const SYSTEM_FACT_NAMES = new Set(SYSTEM_FACTS.map((f) => f.name));
/** Facts a run-time check may use besides the system's own. */
const RUNTIME_FACT_NAMES = new Set(RUNTIME_FACTS.map((f) => f.name));

/**
 * Reads every `*.yml`/`*.yaml` control in the given directories (not recursive), in name order.
 * `display` is how the directory is named in messages. Shipped controls are checked against the control
 * schema by the tests, not at every run; an organisation's controls are checked when they load.
 */
export function loadControls(
  /** `root`: files (links included) must lie inside it; the shipped library has none. */
  directories: { path: string; display: string; shipped?: boolean; root?: string }[],
): ControlLibrary {
  const controls: LoadedControl[] = [];
  const problems: YamlProblem[] = [];
  const seen = new Map<string, string>();
  for (const directory of directories) {
    let names: string[];
    try {
      names = readdirSync(directory.path)
        .filter((n) => /\.ya?ml$/.test(n))
        .sort();
    } catch (error) {
      problems.push({
        ruleId: 'control/directory',
        message: `cannot read the control directory: ${(error as Error).message}`,
        remediation: 'Create the directory or remove it from `controls.paths` in .restorable/config.yaml.',
        location: fileStart(directory.display),
      });
      continue;
    }
    for (const name of names) {
      const display = `${directory.display}/${name}`;
      if (directory.root !== undefined && outsideRoot(directory.root, join(directory.path, name))) {
        problems.push(outsideProblem(display, 'control'));
        continue;
      }
      const file = parseYamlFile(display, readFileSync(join(directory.path, name)));
      problems.push(...file.problems);
      for (const document of file.documents) {
        const schemaProblems = directory.shipped
          ? []
          : validateDocument(document, validator('control'), 'control/schema');
        if (schemaProblems.length) {
          problems.push(...schemaProblems);
          continue;
        }
        const data = document.value as ControlData;
        const semantic = checkControl(data, document);
        if (semantic.length) {
          problems.push(...semantic);
          continue;
        }
        const previous = seen.get(data.id);
        if (previous) {
          problems.push({
            ruleId: 'control/duplicate-id',
            message: `control id ${data.id} is already defined in ${previous}`,
            remediation: 'Give your own controls ids with a prefix of your own (e.g. `ACME-`).',
            location: document.locate(['id']),
          });
          continue;
        }
        seen.set(data.id, display);
        controls.push({ data, source: display, document });
      }
    }
  }
  return { controls, problems };
}

/** What the schema cannot say: facts and parameters that exist, regular expressions that compile. */
function checkControl(data: ControlData, document: YamlDocument): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const kind = data.check.static ? 'static' : 'runtime';
  const check = data.check.static ?? data.check.runtime!;
  const predicates = [check.require, ...(check.when ? [check.when] : [])];
  const problem = (ruleId: string, message: string, remediation: string, path: (string | number)[]) =>
    problems.push({ ruleId, message, remediation, location: document.locate(path) });

  for (const { fact, list } of predicates.flatMap((p) => factsOf(p))) {
    const known = list
      ? (LIST_FACTS[list]?.has(fact) ?? false) || SYSTEM_FACT_NAMES.has(fact)
      : SYSTEM_FACT_NAMES.has(fact) || (kind === 'runtime' && RUNTIME_FACT_NAMES.has(fact));
    if (!known) {
      problem(
        'control/unknown-fact',
        `${data.id}: unknown fact \`${fact}\`${list ? ` inside \`each: ${list}\`` : ''}`,
        'Use a fact listed in docs/controls-language.md.',
        ['check', kind],
      );
    }
  }
  for (const param of predicates.flatMap(paramsOf)) {
    if (!data.parameters?.[param]) {
      problem(
        'control/unknown-parameter',
        `${data.id}: parameter \`${param}\` is used but not declared`,
        'Declare it under `parameters:` with a type, default and description.',
        ['check', kind],
      );
    }
  }
  for (const pattern of predicates.flatMap(patternsOf)) {
    try {
      new RegExp(pattern, 'u');
    } catch (error) {
      problem(
        'control/bad-pattern',
        `${data.id}: ${(error as Error).message}`,
        'Fix the regular expression.',
        ['check', kind],
      );
    }
  }
  for (const [name, spec] of Object.entries(data.parameters ?? {})) {
    const problemText = parameterProblem(spec.type, spec.default);
    if (problemText) {
      problem(
        'control/parameter-default',
        `${data.id}: default of \`${name}\` ${problemText}`,
        'Fix the default.',
        ['parameters', name, 'default'],
      );
    }
  }
  return problems;
}

/** Why a value does not fit a parameter type, or undefined when it does. */
export function parameterProblem(type: string, value: unknown): string | undefined {
  switch (type) {
    case 'duration':
      return typeof value === 'string' && parseDuration(value) !== undefined
        ? undefined
        : `must be a duration such as \`35d\`, found ${JSON.stringify(value)}`;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `must be a number, found ${JSON.stringify(value)}`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `must be true or false, found ${JSON.stringify(value)}`;
    case 'list':
      return Array.isArray(value) ? undefined : `must be a list, found ${JSON.stringify(value)}`;
    default:
      return typeof value === 'string' ? undefined : `must be a string, found ${JSON.stringify(value)}`;
  }
}
