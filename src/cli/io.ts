/** What a command handler writes to, and the environment it reads secrets from. */
export interface Io {
  out: NodeJS.WritableStream;
  err: (line: string) => void;
  env: NodeJS.ProcessEnv;
}

/** A usage mistake: exit status 2 with the message and a pointer to --help. Shared by every handler. */
export class UsageError extends Error {}
