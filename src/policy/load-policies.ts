import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { outsideProblem, outsideRoot } from './inside.ts';
import type { PolicyData } from './model.ts';
import { closest } from './schema-errors.ts';
import { validator } from './schemas.ts';
import { fileStart } from './source.ts';
import { validateDocument } from './validate-document.ts';
import { parseYamlFile, type YamlDocument, type YamlProblem } from './yaml-file.ts';

export interface LoadedPolicy {
  file: string;
  document: YamlDocument;
  data: PolicyData;
}

/**
 * Parses, validates and cross-checks every policy document in the files (paths relative to root), handing
 * each schema-valid policy to `visit` as soon as it is read (`valid` is false when its names do not refer
 * to each other correctly). Policies are not kept: a large check then holds one file's syntax tree at a
 * time. Names that repeat across files are the caller's to find (see commands/check.ts). Returns the
 * problems.
 */
export function loadPolicies(
  root: string,
  files: readonly string[],
  visit: (policy: LoadedPolicy, valid: boolean) => void,
): YamlProblem[] {
  const problems: YamlProblem[] = [];
  for (const file of files) {
    let bytes: Buffer;
    if (outsideRoot(root, join(root, file))) {
      problems.push(outsideProblem(file, 'policy'));
      continue;
    }
    try {
      bytes = readFileSync(join(root, file));
    } catch (error) {
      problems.push({
        ruleId: 'policy/unreadable',
        message: `cannot read ${file}: ${(error as Error).message}`,
        remediation: 'Check the file exists and is readable.',
        location: fileStart(file),
      });
      continue;
    }
    const parsed = parseYamlFile(file, bytes);
    problems.push(...parsed.problems);
    if (parsed.documents.length === 0 && parsed.problems.length === 0) {
      problems.push({
        ruleId: 'policy/empty',
        message: `${file} holds no policy`,
        remediation: 'Write a policy in it (`apiVersion: restorable/v1`, `kind: BackupPolicy`) or delete it.',
        location: fileStart(file),
      });
    }
    for (const document of parsed.documents) {
      const schemaProblems = validateDocument(document, validator('policy'), 'policy/schema');
      if (schemaProblems.length) {
        problems.push(...schemaProblems);
        continue;
      }
      const data = document.value as PolicyData;
      const referenceProblems = crossCheck(data, document);
      problems.push(...referenceProblems);
      visit({ file, document, data }, referenceProblems.length === 0);
    }
  }
  return problems;
}

/** What a drill's verify commands may name; the drill fills them in. */
/** What a drill's verify commands may name in braces (src/drill/steps.ts fills them). */
export const VERIFY_PLACEHOLDERS: readonly string[] = [
  'restore.path',
  'restore.file',
  'snapshot.id',
  'snapshot.time',
  'system.name',
  'repository.name',
  'drill.id',
];

/** What the schema cannot express: names that refer to each other, fields that fit the source kind. */
function crossCheck(policy: PolicyData, document: YamlDocument): YamlProblem[] {
  const problems: YamlProblem[] = [];
  const defined = Object.keys(policy.repositories ?? {});
  const systemNames = new Map<string, number>();
  policy.systems.forEach((system, s) => {
    const first = systemNames.get(system.name);
    if (first !== undefined) {
      problems.push({
        ruleId: 'policy/duplicate-system',
        message: `system \`${system.name}\` is defined twice in this policy (also at systems[${first}])`,
        remediation: 'Give each system a unique name.',
        location: document.locate(['systems', s, 'name']),
      });
    } else {
      systemNames.set(system.name, s);
    }
    system.repositories.forEach((name, r) => {
      if (!defined.includes(name)) {
        const guess = closest(name, defined);
        problems.push({
          ruleId: 'policy/unknown-repository',
          message: `system \`${system.name}\` uses repository \`${name}\`, which this policy does not define`,
          remediation: guess
            ? `Did you mean \`${guess}\`?`
            : defined.length
              ? `Use one of: ${defined.join(', ')}, or define \`${name}\` under \`repositories:\`.`
              : `Define \`${name}\` under \`repositories:\` (an s3 bucket or a local directory).`,
          location: document.locate(['systems', s, 'repositories', r]),
        });
      }
    });
    const source = system.source;
    const misplaced = source.command
      ? (['exclude', 'followSymlinks'] as const).filter((k) => source[k] !== undefined)
      : (['timeout', 'filename'] as const).filter((k) => source[k] !== undefined);
    for (const key of misplaced) {
      problems.push({
        ruleId: 'policy/source-field',
        message: `\`${key}\` applies to ${source.command ? 'a `paths`' : 'a `command`'} source; the source of \`${system.name}\` is ${source.command ? 'a command' : 'paths'}`,
        remediation: source.command
          ? 'Remove it: a command source backs up what the command writes to standard output.'
          : 'Remove it: `timeout` and `filename` are for command sources.',
        location: document.locate(['systems', s, 'source', key], { key: true }),
      });
    }
    system.drill?.verify?.forEach((step, v) => {
      step.command.forEach((arg, a) => {
        // Only what looks like a placeholder (`{word.word}`): braces of SQL, JSON or shell text are left alone.
        for (const match of arg.matchAll(/\{([a-z]+\.[a-z]+)\}/g)) {
          if (match[1] === 'restore.file' && !source.command) {
            problems.push({
              ruleId: 'policy/placeholder',
              message: `\`{restore.file}\` names the one file of a command source's snapshot, and \`${system.name}\` backs up paths`,
              remediation:
                'Name the restored files under `{restore.path}`, e.g. `{restore.path}/etc/app.conf`.',
              location: document.locate(['systems', s, 'drill', 'verify', v, 'command', a]),
            });
            continue;
          }
          if (VERIFY_PLACEHOLDERS.includes(match[1]!)) continue;
          problems.push({
            ruleId: 'policy/placeholder',
            message: `unknown placeholder \`{${match[1]}}\` in a verify command of \`${system.name}\``,
            remediation: `Use one of ${VERIFY_PLACEHOLDERS.map((p) => `\`{${p}}\``).join(', ')}.`,
            location: document.locate(['systems', s, 'drill', 'verify', v, 'command', a]),
          });
        }
      });
    });
    const drill = system.drill;
    if (drill?.repository && !system.repositories.includes(drill.repository)) {
      problems.push({
        ruleId: 'policy/unknown-repository',
        message: `the drill of \`${system.name}\` restores from \`${drill.repository}\`, which is not one of the system's repositories`,
        remediation: `Use one of: ${system.repositories.filter((r) => defined.includes(r)).join(', ') || '(none defined)'}.`,
        location: document.locate(['systems', s, 'drill', 'repository']),
      });
    }
    if (drill?.select?.algorithm === 'random-within' && drill.select.window === undefined) {
      problems.push({
        ruleId: 'policy/drill-window',
        message: `the drill of \`${system.name}\` selects \`random-within\` but sets no \`window\``,
        remediation: 'Add `window:` (e.g. `30d`), or use `algorithm: latest`.',
        location: document.locate(['systems', s, 'drill', 'select']),
      });
    }
  });
  return problems;
}
