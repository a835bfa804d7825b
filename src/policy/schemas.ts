import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import configSchema from '../../schemas/config.schema.json' with { type: 'json' };
import controlSchema from '../../schemas/control.schema.json' with { type: 'json' };
import policySchema from '../../schemas/policy.schema.json' with { type: 'json' };
import { parseCron } from './cron.ts';
import { parseDuration } from './duration.ts';

export interface Validators {
  policy: ValidateFunction;
  config: ValidateFunction;
  control: ValidateFunction;
}

let compiled: Validators | undefined;

/** The three schemas, compiled once per process. */
export function validators(): Validators {
  if (!compiled) {
    // verbose: errors carry their schema, from which messages take descriptions and allowed keys.
    const ajv = new Ajv2020({
      allErrors: true,
      verbose: true,
      strict: true,
      strictRequired: false,
      allowUnionTypes: true,
    });
    ajv.addFormat('cron', { type: 'string', validate: (text: string) => parseCron(text).ok });
    ajv.addFormat('duration', {
      type: 'string',
      validate: (text: string) => parseDuration(text) !== undefined,
    });
    compiled = {
      policy: ajv.compile(policySchema),
      config: ajv.compile(configSchema),
      control: ajv.compile(controlSchema),
    };
  }
  return compiled;
}
