import type { LoadedConfig } from '../policy/config.ts';
import { formatDuration, parseDuration } from '../policy/duration.ts';
import type { YamlProblem } from '../policy/yaml-file.ts';
import type { Control } from './control.ts';
import { type LoadedControl, parameterProblem } from './library.ts';

/**
 * Applies the organisation's profile to the library: which controls apply, their parameter values and
 * severities. A profile that names a control or parameter that does not exist is a problem, since a typo
 * there would silently weaken a check.
 */
export function applyProfile(
  library: LoadedControl[],
  config: LoadedConfig,
): { controls: Control[]; problems: YamlProblem[] } {
  const profile = config.data.controls ?? {};
  const problems: YamlProblem[] = [];
  const locate = (path: (string | number)[], key = false) =>
    config.document?.locate(path, { key }) ?? {
      file: config.file ?? '.restorable/config.yaml',
      line: 1,
      column: 1,
      endLine: 1,
      endColumn: 1,
    };
  const byId = new Map(library.map((c) => [c.data.id, c]));

  for (const section of ['parameters', 'severity'] as const) {
    for (const id of Object.keys(profile[section] ?? {})) {
      if (!byId.has(id)) {
        problems.push({
          ruleId: 'config/unknown-control',
          message: `controls.${section} names ${id}, which is not a known control`,
          remediation: `Use one of: ${[...byId.keys()].join(', ')}.`,
          location: locate(['controls', section, id], true),
        });
      }
    }
  }
  for (const section of ['include', 'exclude'] as const) {
    (profile[section] ?? []).forEach((pattern, index) => {
      if (!library.some((c) => matchesPattern(pattern, c.data.id))) {
        problems.push({
          ruleId: 'config/unknown-control',
          message: `controls.${section} pattern ${pattern} matches no control`,
          remediation: 'Check the control id (docs/controls.md lists them all).',
          location: locate(['controls', section, index]),
        });
      }
    });
  }

  const controls: Control[] = [];
  for (const loaded of library) {
    const { data } = loaded;
    const included = profile.include ? profile.include.some((p) => matchesPattern(p, data.id)) : true;
    const excluded = (profile.exclude ?? []).some((p) => matchesPattern(p, data.id));
    if (!included || excluded) continue;
    const overrides = profile.parameters?.[data.id] ?? {};
    const params: Control['params'] = {};
    const paramText: Control['paramText'] = {};
    for (const name of Object.keys(overrides)) {
      if (!data.parameters?.[name]) {
        problems.push({
          ruleId: 'config/unknown-parameter',
          message: `${data.id} has no parameter \`${name}\``,
          remediation: `Parameters of ${data.id}: ${Object.keys(data.parameters ?? {}).join(', ') || 'none'}.`,
          location: locate(['controls', 'parameters', data.id, name], true),
        });
      }
    }
    for (const [name, spec] of Object.entries(data.parameters ?? {})) {
      let value = spec.default;
      if (name in overrides) {
        const problem = parameterProblem(spec.type, overrides[name]);
        if (problem) {
          problems.push({
            ruleId: 'config/parameter-type',
            message: `${data.id} parameter \`${name}\` ${problem}`,
            remediation: spec.description,
            location: locate(['controls', 'parameters', data.id, name]),
          });
        } else {
          value = overrides[name] as typeof value;
        }
      }
      params[name] = spec.type === 'duration' ? parseDuration(String(value))! : value;
      // Durations read the same in messages and remediations: 365d and 1y are both shown as 1y.
      paramText[name] = Array.isArray(value)
        ? value.join(', ')
        : spec.type === 'duration'
          ? formatDuration(params[name] as number)
          : String(value);
    }
    controls.push({
      data,
      source: loaded.source,
      severity: profile.severity?.[data.id] ?? data.severity,
      params,
      paramText,
    });
  }
  return { controls, problems };
}

/** Control id patterns: `*` matches any run of characters. */
export function matchesPattern(pattern: string, id: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`).test(id);
}
