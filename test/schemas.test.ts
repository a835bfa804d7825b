import { describe, expect, it } from 'vitest';
import { DURATION_PATTERN } from '../src/policy/duration.ts';
import { createAjv, SCHEMAS } from '../src/policy/schemas.ts';

describe('the JSON Schemas', () => {
  for (const [name, schema] of Object.entries(SCHEMAS)) {
    it(`${name}.schema.json is valid JSON Schema 2020-12 and compiles in strict mode`, () => {
      const ajv = createAjv({ validateSchema: true });
      expect(ajv.validateSchema(schema), JSON.stringify(ajv.errors)).toBe(true);
      expect(() => ajv.compile(schema)).not.toThrow();
    });
  }

  it('the duration pattern editors see accepts exactly what the parser accepts', () => {
    expect(SCHEMAS.policy.$defs.duration.pattern).toBe(DURATION_PATTERN);
  });
});
