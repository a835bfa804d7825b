import type { ErrorObject } from 'ajv';
import { validator } from '../policy/schemas.ts';

/** Problems of `value` against schemas/evidence.schema.json, one phrase each (`/measurements/bytes must be >= 0`). */
export function recordSchemaProblems(value: unknown): string[] {
  const validate = validator('evidence');
  if (validate(value)) return [];
  return (validate.errors ?? []).map(describe);
}

function describe(error: ErrorObject): string {
  const at = error.instancePath === '' ? 'the record' : error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${at} has a key the schema does not allow: "${String(params.additionalProperty)}"`;
    case 'required':
      return `${at} lacks "${String(params.missingProperty)}"`;
    case 'enum':
      return `${at} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'const':
      return `${at} must be ${JSON.stringify(params.allowedValue)}`;
    default:
      return `${at} ${error.message ?? 'is not valid'}`;
  }
}
