import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// src/ (under vitest) and dist/ (bundled) both sit one level below the package root.
const packageRoot = new URL('../', import.meta.url);

/** The shipped control library. */
export const BUILTIN_CONTROLS_DIR = fileURLToPath(new URL('controls/', packageRoot));

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as { version: string }
).version;
