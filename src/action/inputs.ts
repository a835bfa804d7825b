import * as core from '@actions/core';
import { isFailOn, type Severity } from '../controls/result.ts';

/** A multi-line input of names or paths: one per line or separated by spaces. */
export function listInput(name: string): string[] {
  return core
    .getMultilineInput(name)
    .flatMap((line) => line.split(/\s+/))
    .filter(Boolean);
}

/** The `fail-on` input: undefined when empty; an error naming the allowed values when it is none of them. */
export function failOnInput(): Severity | 'never' | undefined {
  const failOn = core.getInput('fail-on') || undefined;
  if (failOn !== undefined && !isFailOn(failOn)) {
    throw new Error(`input "fail-on": must be critical, high, medium, low or never, not "${failOn}"`);
  }
  return failOn;
}
