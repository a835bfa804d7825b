import { createRequire as __restorableCreateRequire } from 'node:module';
const require = __restorableCreateRequire(import.meta.url);

// src/cli/io.ts
import { parseArgs } from "node:util";
var UsageError = class extends Error {
};
function parseCommandArgs(args, options, { positionals = true } = {}) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new UsageError(error.message);
  }
}

export {
  UsageError,
  parseCommandArgs
};
