import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
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

  it('every shipped control is valid against control.schema.json (run-time loading trusts them)', () => {
    const dir = fileURLToPath(new URL('../controls/', import.meta.url));
    const validate = createAjv({ validateSchema: true }).compile(SCHEMAS.control);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const file of files) {
      const control = load(readFileSync(join(dir, file), 'utf8'));
      expect(validate(control), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('the duration pattern editors see accepts exactly what the parser accepts', () => {
    expect(SCHEMAS.policy.$defs.duration.pattern).toBe(DURATION_PATTERN);
  });
});
