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

const WORDS: Record<Operator, string> = {
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
    return failure(scope, fact, show(actual, type), `${WORDS[op]} a value that is not set`, 'not set');
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
    `${WORDS[op]} ${limit}`,
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

/** Every fact name a predicate mentions, with the list it is evaluated inside (for validating control files). */
export function factsOf(predicate: Predicate, list?: string): { fact: string; list?: string }[] {
  if ('all' in predicate) return predicate.all.flatMap((p) => factsOf(p, list));
  if ('any' in predicate) return predicate.any.flatMap((p) => factsOf(p, list));
  if ('not' in predicate) return factsOf(predicate.not, list);
  if ('each' in predicate) {
    return [
      { fact: predicate.each, list },
      ...(predicate.where ? factsOf(predicate.where, predicate.each) : []),
      ...factsOf(predicate.require, predicate.each),
    ];
  }
  const out: { fact: string; list?: string }[] = [{ fact: predicate.fact, list }];
  for (const op of OPERATORS) {
    const operand = predicate[op];
    if (typeof operand === 'object' && operand !== null && 'fact' in operand) {
      out.push({ fact: String((operand as { fact: string }).fact), list });
    }
  }
  return out;
}

/** Parameter names a predicate mentions. */
export function paramsOf(predicate: Predicate): string[] {
  if ('all' in predicate) return predicate.all.flatMap(paramsOf);
  if ('any' in predicate) return predicate.any.flatMap(paramsOf);
  if ('not' in predicate) return paramsOf(predicate.not);
  if ('each' in predicate)
    return [...(predicate.where ? paramsOf(predicate.where) : []), ...paramsOf(predicate.require)];
  return OPERATORS.flatMap((op) => {
    const operand = predicate[op];
    return typeof operand === 'object' && operand !== null && 'param' in operand
      ? [String((operand as { param: string }).param)]
      : [];
  });
}

/** Regular expressions a predicate uses, so a broken one is reported when the control loads. */
export function patternsOf(predicate: Predicate): string[] {
  if ('all' in predicate) return predicate.all.flatMap(patternsOf);
  if ('any' in predicate) return predicate.any.flatMap(patternsOf);
  if ('not' in predicate) return patternsOf(predicate.not);
  if ('each' in predicate)
    return [...(predicate.where ? patternsOf(predicate.where) : []), ...patternsOf(predicate.require)];
  return typeof predicate.matches === 'string' ? [predicate.matches] : [];
}
