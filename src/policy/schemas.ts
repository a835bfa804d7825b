import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import configSchema from '../../schemas/config.schema.json' with { type: 'json' };
import controlSchema from '../../schemas/control.schema.json' with { type: 'json' };
import evidenceSchema from '../../schemas/evidence.schema.json' with { type: 'json' };
import policySchema from '../../schemas/policy.schema.json' with { type: 'json' };
import { parseCron } from './cron.ts';
import { parseDuration } from './duration.ts';

export const SCHEMAS = {
  policy: policySchema,
  config: configSchema,
  control: controlSchema,
  evidence: evidenceSchema,
} as const;
export type SchemaName = keyof typeof SCHEMAS;

/** Options shared by the run-time validators and the test that checks the schemas themselves. */
export function createAjv(options: { validateSchema: boolean }): Ajv2020 {
  // verbose: errors carry their schema, from which messages take descriptions and allowed keys.
  const ajv = new Ajv2020({
    allErrors: true,
    verbose: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    validateSchema: options.validateSchema,
  });
  ajv.addFormat('cron', { type: 'string', validate: (text: string) => parseCron(text).ok });
  ajv.addFormat('duration', {
    type: 'string',
    validate: (text: string) => parseDuration(text) !== undefined,
  });
  return ajv;
}

let ajv: Ajv2020 | undefined;
const compiled = new Map<SchemaName, ValidateFunction>();

/**
 * The validator for one of our schemas, compiled on first use and kept for the process. The schemas are
 * our own and checked against the 2020-12 meta-schema by the tests, so compiling skips that step (it
 * halves the start-up cost of a check).
 */
export function validator(name: SchemaName): ValidateFunction {
  let validate = compiled.get(name);
  if (!validate) {
    ajv ??= createAjv({ validateSchema: false });
    validate = ajv.compile(SCHEMAS[name]);
    compiled.set(name, validate);
  }
  return validate;
}
