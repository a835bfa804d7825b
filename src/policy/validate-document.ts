import type { ValidateFunction } from 'ajv';
import { describeSchemaErrors } from './schema-errors.ts';
import type { YamlDocument, YamlProblem } from './yaml-file.ts';

/** Validates one YAML document against a compiled schema; every violation located in the source. */
export function validateDocument(
  doc: YamlDocument,
  validate: ValidateFunction,
  prefix: string,
): YamlProblem[] {
  if (validate(doc.value)) return [];
  return describeSchemaErrors(validate.errors ?? [], prefix).map((v) => ({
    ruleId: v.ruleId,
    message: v.message,
    remediation: v.remediation,
    location: doc.locate(v.path, { key: v.atKey }),
  }));
}
