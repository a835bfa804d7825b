import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Severity } from '../controls/result.ts';
import { outsideProblem, outsideRoot } from './inside.ts';
import { validator } from './schemas.ts';
import { fileStart } from './source.ts';
import { validateDocument } from './validate-document.ts';
import { parseYamlFile, type YamlDocument, type YamlProblem } from './yaml-file.ts';

export const DEFAULT_CONFIG_PATH = '.restorable/config.yaml';
export const DEFAULT_POLICY_GLOBS = ['.restorable/**/*.yml', '.restorable/**/*.yaml'];
export const DEFAULT_CONTROLS_PATH = '.restorable/controls';
export const DEFAULT_EVIDENCE_BRANCH = 'restorable-evidence';

export interface ConfigData {
  apiVersion: 'restorable/v1';
  kind: 'Config';
  policies?: string[];
  controls?: {
    paths?: string[];
    include?: string[];
    exclude?: string[];
    parameters?: Record<string, Record<string, unknown>>;
    severity?: Record<string, Severity>;
  };
  evidence?: { branch?: string; signingKey?: { fingerprint: string } };
  failOn?: Severity | 'never';
}

export interface LoadedConfig {
  data: ConfigData;
  /** Relative path of the file read, when there was one. */
  file?: string;
  document?: YamlDocument;
  problems: YamlProblem[];
}

const EMPTY: ConfigData = { apiVersion: 'restorable/v1', kind: 'Config' };

/**
 * Reads the profile. A missing default file means the defaults; a missing file that was asked for by name
 * is a problem.
 */
export function loadConfig(root: string, path?: string): LoadedConfig {
  const relative = path ?? DEFAULT_CONFIG_PATH;
  const absolute = join(root, relative);
  if (!existsSync(absolute)) {
    if (path === undefined) return { data: EMPTY, problems: [] };
    return {
      data: EMPTY,
      problems: [
        {
          ruleId: 'config/missing',
          message: `configuration file ${relative} does not exist`,
          remediation: 'Check the path given to --config (or the `config` input).',
          location: fileStart(relative),
        },
      ],
    };
  }
  if (outsideRoot(root, absolute)) return { data: EMPTY, problems: [outsideProblem(relative, 'profile')] };
  const parsed = parseYamlFile(relative, readFileSync(absolute));
  const problems = [...parsed.problems];
  const document = parsed.documents[0];
  if (parsed.documents.length > 1) {
    problems.push({
      ruleId: 'config/several-documents',
      message: `${relative} holds ${parsed.documents.length} documents; it must hold one`,
      remediation: 'Merge them into one document.',
      location: parsed.documents[1]!.locate([]),
    });
  }
  if (!document) return { data: EMPTY, file: relative, problems };
  const schemaProblems = validateDocument(document, validator('config'), 'config/schema');
  if (schemaProblems.length)
    return { data: EMPTY, file: relative, document, problems: [...problems, ...schemaProblems] };
  return { data: document.value as ConfigData, file: relative, document, problems };
}
