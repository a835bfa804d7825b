import type { Severity } from './result.ts';

/** The predicate language of control files (schemas/control.schema.json, docs/controls-language.md). */
export type Operand = number | string | boolean | { param: string } | { fact: string };

export type Predicate =
  | { all: Predicate[] }
  | { any: Predicate[] }
  | { not: Predicate }
  | { each: string; where?: Predicate; require: Predicate }
  | Comparison;

export type Operator = 'exists' | 'equals' | 'notEquals' | 'in' | 'gte' | 'gt' | 'lte' | 'lt' | 'matches';

export type Comparison = { fact: string } & Partial<Record<Operator, unknown>>;

export interface ParameterSpec {
  type: 'duration' | 'number' | 'string' | 'boolean' | 'list';
  default: string | number | boolean | unknown[];
  description: string;
}

export interface ControlData {
  apiVersion: 'restorable/v1';
  kind: 'Control';
  id: string;
  title: string;
  description: string;
  criteria: { soc2: string[]; iso27001?: string[]; nist80053?: string[] };
  severity: Severity;
  parameters?: Record<string, ParameterSpec>;
  check: {
    static?: { when?: Predicate; require: Predicate; message?: string };
    runtime?: { evidence: string; measure: string; when?: Predicate; require: Predicate; message?: string };
  };
  remediation: string;
  references?: string[];
}

/** A control as loaded, with the profile's parameter values and severity applied. */
export interface Control {
  data: ControlData;
  /** Where it was loaded from (for messages and the docs). */
  source: string;
  severity: Severity;
  /** Parameter values, durations already in seconds. */
  params: Record<string, string | number | boolean | unknown[]>;
  /** Parameter values as written (for messages), e.g. `35d`. */
  paramText: Record<string, string>;
}
