import type { ErrorObject } from 'ajv';
import { parseCron } from './cron.ts';
import type { SourcePath } from './source.ts';

/** One schema violation, ready to be located in the YAML source. */
export interface SchemaViolation {
  ruleId: string;
  path: SourcePath;
  /** Locate the mapping key rather than its value (unknown or misnamed keys). */
  atKey: boolean;
  message: string;
  remediation: string;
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, unknown>;
  oneOf?: { required?: string[] }[];
  enum?: unknown[];
  const?: unknown;
  examples?: unknown[];
}

/**
 * Turns ajv's errors into one violation per problem, worded for the person editing the YAML:
 * what is wrong, and what to write instead.
 */
export function describeSchemaErrors(errors: readonly ErrorObject[], prefix: string): SchemaViolation[] {
  const oneOfPaths = errors.filter((e) => e.keyword === 'oneOf').map((e) => e.schemaPath);
  // Errors from inside a failed oneOf's branches only restate the oneOf; keep the oneOf itself.
  // A value that fails its format usually fails the matching pattern too; one message is enough.
  const formatPaths = new Set(errors.filter((e) => e.keyword === 'format').map((e) => e.instancePath));
  const kept = errors.filter(
    (e) =>
      (e.keyword === 'oneOf' || !oneOfPaths.some((p) => e.schemaPath.startsWith(`${p}/`))) &&
      !(e.keyword === 'pattern' && formatPaths.has(e.instancePath)),
  );
  const seen = new Set<string>();
  const out: SchemaViolation[] = [];
  for (const error of kept) {
    const violation = describe(error, prefix);
    const key = `${violation.ruleId}|${violation.path.join('/')}|${violation.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(violation);
  }
  return out;
}

function describe(error: ErrorObject, prefix: string): SchemaViolation {
  const path = pointerToPath(error.instancePath);
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  const hint = parent.description ?? '';
  const ruleId = `${prefix}/${error.keyword}`;
  const where = path.length ? `\`${displayPath(path)}\`` : 'the document';
  const params = error.params as Record<string, unknown>;
  const result = (message: string, remediation: string, p = path, atKey = false): SchemaViolation => ({
    ruleId,
    path: p,
    atKey,
    message,
    remediation,
  });

  switch (error.keyword) {
    case 'required': {
      const name = String(params.missingProperty);
      const propertySchema = parent.properties?.[name] as SchemaNode | undefined;
      return result(
        `${where} is missing \`${name}\``,
        `Add \`${name}:\`${propertySchema?.description ? ` — ${propertySchema.description}` : ''}`,
      );
    }
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const guess = closest(name, allowed);
      return result(
        `unknown key \`${name}\` in ${where}`,
        guess
          ? `Did you mean \`${guess}\`? Allowed keys: ${allowed.join(', ')}.`
          : allowed.length
            ? `Remove it. Allowed keys: ${allowed.join(', ')}.`
            : 'Remove it.',
        [...path, name],
        true,
      );
    }
    case 'propertyNames':
      return result(
        `key \`${String(params.propertyName)}\` in ${where} is not a valid name`,
        'Use lower-case letters, digits and hyphens (e.g. `payments-db`).',
        [...path, String(params.propertyName)],
        true,
      );
    case 'type':
      return result(
        `${where} must be ${article(String(params.type))}, found ${kindOf(error.data)}`,
        hint || `Write ${article(String(params.type))}.`,
      );
    case 'enum':
      return result(
        `${where} is ${show(error.data)}; it must be one of ${(params.allowedValues as unknown[]).map(show).join(', ')}`,
        hint || 'Use one of the listed values.',
      );
    case 'const':
      return result(
        `${where} is ${show(error.data)}; it must be ${show(params.allowedValue)}`,
        `Write ${show(params.allowedValue)}.`,
      );
    case 'format': {
      if (params.format === 'cron') {
        const parsed = parseCron(String(error.data));
        const reason = parsed.ok ? 'not a valid cron expression' : parsed.error;
        return result(`${where}: invalid cron expression ${show(error.data)}: ${reason}`, hint);
      }
      return result(`${where}: ${show(error.data)} is not a valid ${String(params.format)}`, hint);
    }
    case 'pattern':
      return result(
        `${where}: ${show(error.data)} is not in the expected form`,
        hint || `Match the pattern ${String(params.pattern)}.`,
      );
    case 'oneOf': {
      const branches = parent.oneOf ?? [];
      const names = branches.flatMap((b) => b.required ?? []);
      if (names.length === branches.length && names.length > 0) {
        const present = names.filter((n) => isObject(error.data) && n in error.data);
        const list = names.map((n) => `\`${n}\``).join(' or ');
        return result(
          present.length > 1
            ? `${where} sets ${present.map((n) => `\`${n}\``).join(' and ')}; only one is allowed`
            : `${where} must set ${list}`,
          hint || `Set exactly one of ${list}.`,
        );
      }
      return result(`${where} is not in any of the accepted forms`, hint);
    }
    case 'minProperties':
    case 'maxProperties': {
      const limit = Number(params.limit);
      const count = isObject(error.data) ? Object.keys(error.data).length : 0;
      return result(
        `${where} has ${count} key${count === 1 ? '' : 's'}; ${error.keyword === 'minProperties' ? 'at least' : 'at most'} ${limit} allowed`,
        hint,
      );
    }
    case 'minItems':
    case 'maxItems':
    case 'minLength':
    case 'maxLength':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return result(`${where} ${error.message ?? 'is out of range'}`, hint);
    case 'uniqueItems':
      return result(
        `${where} lists the same item twice (items ${String(params.j)} and ${String(params.i)})`,
        'Remove the duplicate.',
        [...path, Number(params.i)],
      );
    default:
      return result(`${where} ${error.message ?? 'is invalid'}`, hint);
  }
}

/** `systems[0].retention.minimum`, as a person would write it. */
export function displayPath(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^(0|[1-9]\d*)$/.test(part) ? Number(part) : part));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${article(typeof value)} (${show(value)})`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'a whole number',
    number: 'a number',
    boolean: 'true or false',
    null: 'null',
  };
  return type
    .split(',')
    .map((t) => names[t] ?? t)
    .join(' or ');
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The allowed name nearest to a misspelt one, when it is near enough to be a likely typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
