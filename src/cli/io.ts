import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

/** What a command handler writes to, and the environment it reads secrets from. */
export interface Io {
  out: NodeJS.WritableStream;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A usage mistake: exit status 2 with the message and a pointer to --help. Shared by every handler. */
export class UsageError extends Error {}

/** parseArgs, strict, with positionals unless told otherwise; a mistake in the arguments is a UsageError. */
export function parseCommandArgs<T extends ParseArgsOptionsConfig>(
  args: string[],
  options: T,
  { positionals = true }: { positionals?: boolean } = {},
) {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
