import { formatDuration, parseDuration } from '../policy/duration.ts';
import type { SourcePath } from '../policy/source.ts';
import type { Comparison, Control, Operand, Operator, Predicate } from './control.ts';
import {
  type FactScope,
  type FactType,
  type FactValue,
  factPath,
  factValue,
  REPOSITORY_FACTS,
  RUNTIME_FACTS,
  SYSTEM_FACTS,
} from './facts.ts';

/** Why a predicate did not hold: the first comparison that failed, and where. */
export interface PredicateFailure {
  fact: string;
  path: SourcePath;
  actual: string;
  /** The requirement with its operator: `at least 35d`. */
  expected: string;
  /** The requirement's value alone: `35d`. */
  limit: string;
  /** Plain sentence, used when the control has no message of its own. */
  text: string;
}

export type Outcome = { ok: true } | { ok: false; failure: PredicateFailure };

const FACT_TYPES = new Map<string, FactType>(
  [...SYSTEM_FACTS, ...REPOSITORY_FACTS, ...RUNTIME_FACTS].map((f) => [f.name, f.type] as const),
);

const OPERATORS: readonly Operator[] = [
  'exists',
  'equals',
  'notEquals',
  'in',
  'gte',
  'gt',
  'lte',
  'lt',
  'matches',
];

/** How each comparison reads in messages (`at most 24h`). */
export const OPERATOR_WORDS: Record<Operator, string> = {
  exists: 'set',
  equals: 'equal to',
  notEquals: 'other than',
  in: 'one of',
  gte: 'at least',
  gt: 'more than',
  lte: 'at most',
  lt: 'less than',
  matches: 'matching',
};

const SUCCESS: Outcome = { ok: true };

export function evaluate(predicate: Predicate, scope: FactScope, control: Control): Outcome {
  if ('all' in predicate) {
    for (const p of predicate.all) {
      const outcome = evaluate(p, scope, control);
      if (!outcome.ok) return outcome;
    }
    return SUCCESS;
  }
  if ('any' in predicate) {
    let first: Outcome | undefined;
    for (const p of predicate.any) {
      const outcome = evaluate(p, scope, control);
      if (outcome.ok) return outcome;
      first ??= outcome;
    }
    return first!;
  }
  if ('not' in predicate) {
    const inner = evaluate(predicate.not, scope, control);
    if (!inner.ok) return SUCCESS;
    return failure(scope, firstFact(predicate.not), 'it holds', 'it must not', 'it must not');
  }
  if ('each' in predicate) {
    for (const element of scope.lists[predicate.each] ?? []) {
      if (predicate.where && !evaluate(predicate.where, element, control).ok) continue;
      const outcome = evaluate(predicate.require, element, control);
      if (!outcome.ok) return outcome;
    }
    return SUCCESS;
  }
  return compare(predicate, scope, control);
}

/** The operator of each comparison, found once per predicate object. */
const operatorOf = new WeakMap<Comparison, Operator>();

function compare(comparison: Comparison, scope: FactScope, control: Control): Outcome {
  let op = operatorOf.get(comparison);
  if (op === undefined) {
    op = OPERATORS.find((o) => o in comparison)!;
    operatorOf.set(comparison, op);
  }
  const fact = comparison.fact;
  const actual = factValue(scope, fact);
  const type = FACT_TYPES.get(fact) ?? 'string';
  const target = comparison[op];

  if (op === 'exists') {
    if ((actual !== undefined) === target) return SUCCESS;
    const wanted = target ? 'set' : 'not set';
    return failure(scope, fact, show(actual, type), wanted, wanted);
  }
  const expected = op === 'matches' ? target : resolve(target as Operand, scope, control, type);
  if (actual !== undefined && expected !== undefined && holds(op, actual, expected)) return SUCCESS;

  // Only a failure needs the words.
  if (expected === undefined) {
    return failure(
      scope,
      fact,
      show(actual, type),
      `${OPERATOR_WORDS[op]} a value that is not set`,
      'not set',
    );
  }
  const limit =
    op === 'in'
      ? (Array.isArray(expected) ? expected : []).map((v) => show(v, type)).join(', ')
      : op === 'matches'
        ? String(target)
        : show(expected, type);
  return failure(
    scope,
    fact,
    actual === undefined ? 'not set' : show(actual, type),
    `${OPERATOR_WORDS[op]} ${limit}`,
    limit,
  );
}

function holds(op: Operator, actual: FactValue, expected: unknown): boolean {
  switch (op) {
    case 'equals':
      return actual === expected;
    case 'notEquals':
      return actual !== expected;
    case 'in':
      return Array.isArray(expected) && expected.includes(actual);
    case 'matches':
      return regex(String(expected)).test(String(actual));
    default: {
      const a = Number(actual);
      const b = Number(expected);
      return op === 'gte' ? a >= b : op === 'gt' ? a > b : op === 'lte' ? a <= b : a < b;
    }
  }
}

function resolve(operand: Operand | unknown[], scope: FactScope, control: Control, type: FactType): unknown {
  if (Array.isArray(operand)) return operand;
  if (typeof operand === 'object' && operand !== null) {
    if ('param' in operand) return control.params[operand.param];
    return factValue(scope, operand.fact);
  }
  if (type === 'duration' && typeof operand === 'string') return parseDuration(operand);
  return operand;
}

function failure(scope: FactScope, fact: string, actual: string, expected: string, limit: string): Outcome {
  const path = factPath(scope, fact);
  return {
    ok: false,
    failure: {
      fact,
      path,
      actual,
      expected,
      limit,
      text: `\`${fact}\` is ${actual}; it must be ${expected}`,
    },
  };
}

function firstFact(predicate: Predicate): string {
  if ('all' in predicate) return firstFact(predicate.all[0]!);
  if ('any' in predicate) return firstFact(predicate.any[0]!);
  if ('not' in predicate) return firstFact(predicate.not);
  if ('each' in predicate) return predicate.each;
  return predicate.fact;
}

const regexes = new Map<string, RegExp>();
function regex(source: string): RegExp {
  let compiled = regexes.get(source);
  if (!compiled) {
    compiled = new RegExp(source, 'u');
    regexes.set(source, compiled);
  }
  return compiled;
}

/** A fact's value for `{fact:NAME}` in messages: durations as `35d`, anything else as it is. */
export function showFact(name: string, value: unknown): string {
  if (value === undefined) return 'not set';
  return FACT_TYPES.get(name) === 'duration' && typeof value === 'number'
    ? formatDuration(value)
    : String(value);
}

function show(value: unknown, type: FactType): string {
  if (value === undefined) return 'not set';
  if (type === 'duration' && typeof value === 'number') return formatDuration(value);
  if (typeof value === 'string') return `\`${value}\``;
  return String(value);
}

/**
 * Visits every comparison of a predicate, with the list fact it is evaluated inside (for `each`), and
 * every list an `each` walks.
 */
function walkPredicate(
  predicate: Predicate,
  visit: { comparison(c: Comparison, list?: string): void; each?(name: string, list?: string): void },
  list?: string,
): void {
  if ('all' in predicate) for (const p of predicate.all) walkPredicate(p, visit, list);
  else if ('any' in predicate) for (const p of predicate.any) walkPredicate(p, visit, list);
  else if ('not' in predicate) walkPredicate(predicate.not, visit, list);
  else if ('each' in predicate) {
    visit.each?.(predicate.each, list);
    if (predicate.where) walkPredicate(predicate.where, visit, predicate.each);
    walkPredicate(predicate.require, visit, predicate.each);
  } else visit.comparison(predicate, list);
}

/** An operand of the form `{ key: NAME }` (a fact or a parameter), or undefined. */
function namedOperand(operand: unknown, key: 'fact' | 'param'): string | undefined {
  return typeof operand === 'object' && operand !== null && key in operand
    ? String((operand as Record<string, unknown>)[key])
    : undefined;
}

/** Every fact name a predicate mentions, with the list it is evaluated inside (for validating control files). */
export function factsOf(predicate: Predicate): { fact: string; list?: string }[] {
  const out: { fact: string; list?: string }[] = [];
  walkPredicate(predicate, {
    each: (name, list) => out.push({ fact: name, list }),
    comparison(c, list) {
      out.push({ fact: c.fact, list });
      for (const op of OPERATORS) {
        const fact = namedOperand(c[op], 'fact');
        if (fact !== undefined) out.push({ fact, list });
      }
    },
  });
  return out;
}

/** Parameter names a predicate mentions. */
export function paramsOf(predicate: Predicate): string[] {
  const out: string[] = [];
  walkPredicate(predicate, {
    comparison(c) {
      for (const op of OPERATORS) {
        const param = namedOperand(c[op], 'param');
        if (param !== undefined) out.push(param);
      }
    },
  });
  return out;
}

/** Regular expressions a predicate uses, so a broken one is reported when the control loads. */
export function patternsOf(predicate: Predicate): string[] {
  const out: string[] = [];
  walkPredicate(predicate, {
    comparison(c) {
      if (typeof c.matches === 'string') out.push(c.matches);
    },
  });
  return out;
}

/**
 * A control's message or remediation with its placeholders filled in: `{actual}`, `{expected}`, `{limit}`
 * from the failure (kept as written when there is none), `{param.X}` and `{fact:X}` from the control and
 * the system.
 */
export function fillTemplate(
  template: string | undefined,
  failure: PredicateFailure | undefined,
  scope: FactScope,
  control: Control,
): string | undefined {
  if (template === undefined) return undefined;
  return template.replace(
    /\{(actual|expected|limit|param\.[A-Za-z0-9]+|fact:[A-Za-z0-9.]+)\}/g,
    (whole, name: string) => {
      if (name === 'actual') return failure?.actual ?? whole;
      if (name === 'expected') return failure?.expected ?? whole;
      if (name === 'limit') return failure?.limit ?? whole;
      if (name.startsWith('param.')) return control.paramText[name.slice(6)] ?? whole;
      return showFact(name.slice(5), factValue(scope, name.slice(5)));
    },
  );
}
