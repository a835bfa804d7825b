import type { LoadedPolicy } from '../policy/load-policies.ts';
import type { Control } from './control.ts';
import { type FactProbe, type FactScope, factValue, systemFacts } from './facts.ts';
import { evaluate, type PredicateFailure, showFact } from './predicate.ts';
import type { Finding } from './result.ts';

/** Evaluates every static control on every system of a policy: one finding per control × system. */
export function evaluatePolicy(
  policy: LoadedPolicy,
  controls: readonly Control[],
  probe: FactProbe,
): Finding[] {
  const findings: Finding[] = [];
  policy.data.systems.forEach((system, index) => {
    const scope = systemFacts(policy.data, index, probe);
    const systemLocation = policy.document.locate(scope.self);
    for (const control of controls) {
      const check = control.data.check.static;
      if (!check) continue;
      const base = {
        kind: 'control' as const,
        ruleId: control.data.id,
        title: control.data.title,
        severity: control.severity,
        policy: policy.data.metadata.name,
        system: system.name,
      };
      if (check.when && !evaluate(check.when, scope, control).ok) {
        findings.push({
          ...base,
          status: 'not-applicable',
          location: systemLocation,
          message: 'does not apply to this system',
        });
        continue;
      }
      const outcome = evaluate(check.require, scope, control);
      if (outcome.ok) {
        findings.push({
          ...base,
          status: 'pass',
          location: systemLocation,
          message: 'holds',
        });
        continue;
      }
      findings.push({
        ...base,
        status: 'fail',
        location: policy.document.locate(outcome.failure.path),
        message: fill(check.message, outcome.failure, scope, control) ?? outcome.failure.text,
        remediation: fill(control.data.remediation, outcome.failure, scope, control),
      });
    }
  });
  return findings;
}

function fill(
  template: string | undefined,
  failure: PredicateFailure,
  scope: FactScope,
  control: Control,
): string | undefined {
  if (template === undefined) return undefined;
  return template.replace(
    /\{(actual|expected|limit|param\.[A-Za-z0-9]+|fact:[A-Za-z0-9.]+)\}/g,
    (_, name: string) => {
      if (name === 'actual') return failure.actual;
      if (name === 'expected') return failure.expected;
      if (name === 'limit') return failure.limit;
      if (name.startsWith('param.')) return control.paramText[name.slice(6)] ?? `{${name}}`;
      return showFact(name.slice(5), factValue(scope, name.slice(5)));
    },
  );
}
