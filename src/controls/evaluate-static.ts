import type { LoadedPolicy } from '../policy/load-policies.ts';
import type { Control } from './control.ts';
import { type FactProbe, systemFacts } from './facts.ts';
import { evaluate, fillTemplate } from './predicate.ts';
import type { Finding } from './result.ts';

export const PASS_MESSAGE = 'holds';
export const NOT_APPLICABLE_MESSAGE = 'does not apply to this system';

/** Evaluates every static control on every system of a policy: one finding per control × system. */
export function evaluatePolicy(
  policy: LoadedPolicy,
  controls: readonly Control[],
  probe: FactProbe,
): Finding[] {
  const findings: Finding[] = [];
  const policyName = policy.data.metadata.name;
  policy.data.systems.forEach((system, index) => {
    const scope = systemFacts(policy.data, index, probe);
    const systemLocation = policy.document.locate(scope.self);
    // One object shape for every finding, written out rather than spread: a large check makes hundreds
    // of thousands of them.
    const finding = (
      control: Control,
      status: Finding['status'],
      location: Finding['location'],
      message: string,
      remediation?: string,
    ): Finding => ({
      kind: 'control',
      ruleId: control.data.id,
      title: control.data.title,
      severity: control.severity,
      status,
      policy: policyName,
      system: system.name,
      location,
      message,
      remediation,
    });
    for (const control of controls) {
      const check = control.data.check.static;
      if (!check) continue;
      if (check.when && !evaluate(check.when, scope, control).ok) {
        findings.push(finding(control, 'not-applicable', systemLocation, NOT_APPLICABLE_MESSAGE));
        continue;
      }
      const outcome = evaluate(check.require, scope, control);
      if (outcome.ok) {
        findings.push(finding(control, 'pass', systemLocation, PASS_MESSAGE));
        continue;
      }
      findings.push(
        finding(
          control,
          'fail',
          policy.document.locate(outcome.failure.path),
          fillTemplate(check.message, outcome.failure, scope, control) ?? outcome.failure.text,
          fillTemplate(control.data.remediation, outcome.failure, scope, control),
        ),
      );
    }
  });
  return findings;
}
