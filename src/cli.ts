import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { VERSION } from './assets.ts';
import { type Io, UsageError } from './cli/io.ts';
import { runCheck } from './commands/check.ts';
import { FAIL_SCOPES, type FailScope, isFailOn, SEVERITIES } from './controls/result.ts';
import { renderJson } from './report/json.ts';
import { renderSummary } from './report/summary.ts';
import { renderText } from './report/text.ts';
import { writeReports } from './report/write.ts';

const USAGE = `restorable ${VERSION}: backup and disaster-recovery compliance as code

Usage:
  restorable check [paths...] [options]          check policies against the control library
  restorable backup [paths...] [--system NAME]... [--due] [--no-evidence] [--evidence-remote NAME] [--json]
                                                 back up the policies' systems into their repositories, and
                                                 append one signed evidence record per system that ran
  restorable drill [paths...] [--system NAME]... [--due] [--seed HEX] [--scratch DIR] [--keep-scratch]
                     [--no-evidence] [--evidence-remote NAME] [--json]
                                                 restore each declared drill's snapshot into scratch space,
                                                 read it back against the snapshot, run the verify steps, time
                                                 it against the RTO, and append a signed drill record
  restorable plan [paths...] [--system NAME]... [--command backup|drill] [--due] [--now ISO]
                     [--evidence-remote NAME] [--json]
                                                 the backups and drills to run (with --due: those due by the
                                                 evidence branch), as a GitHub Actions job matrix on one line
  restorable snapshots [paths...] [--system NAME]... [--repository NAME] [--json]
  restorable restore [paths...] --system NAME (--target DIR | --stdout)
                     [--snapshot latest|ID] [--path PATH] [--repository NAME] [--json]
  restorable repo verify [paths...] [--system NAME]... [--repository NAME]
                     [--read-data | --read-data-subset 10%] [--json]
  restorable prune [paths...] [--system NAME]... [--repository NAME] [--dry-run] [--repack-threshold 30%]
                     [--json]            apply the policies' retention: remove snapshots the rules no
                                         longer keep, then the data only they used (never what is locked)
  restorable key list|add|remove [paths...] --system NAME [--repository NAME]
                     add: --recipient FILE.asc... and/or --passphrase-env NAME; remove: <wrapper id>
  restorable evidence verify [--branch NAME] [--remote NAME] [--fingerprint FPR] [--key FILE.asc]
                     [--known-tip COMMIT] [--json]
                                                 verify every record, signature and link of the evidence branch
  restorable status [paths...] [--branch NAME] [--remote NAME | --local] [--fail-on LEVEL]
                     [--allow-missing] [--json]
                                                 run-time controls (RPO met, drill passed and recent, restore
                                                 within the RTO, data verified) against the newest evidence

Every command takes --root <dir> (default: the current directory) and --config <file>.
Secrets come from the environment only: RESTORABLE_PASSPHRASE (or the policy's encryption.passphrase.env),
RESTORABLE_SECRET_KEY_FILE / RESTORABLE_SECRET_KEY (+ RESTORABLE_SECRET_KEY_PASSPHRASE), or
RESTORABLE_REPOSITORY_KEY_FILE (what \`gpg --decrypt keys/<id>\` printed). S3 credentials: the AWS SDK's.

Options for check:
  --root <dir>         repository root (default: the current directory)
  --config <file>      profile (default: .restorable/config.yaml when present)
  --fail-on <level>    critical, high, medium, low (default) or never
  --format <text|json> what to print (default: text)
  --sarif <file>       also write SARIF 2.1.0
  --junit <file>       also write JUnit XML
  --json <file>        also write the JSON report
  --summary <file>     also write the Markdown summary
  --verbose            list passing controls too
  --base <rev>         also check the policies as they are at <rev> (e.g. origin/main), read through git
                       without a checkout, and report what changed: new failures, fixes, systems added or
                       removed, RPO/RTO/retention loosened
  --fail-on-scope <s>  all (default): any failing control fails; new: only failures new since --base
  --evidence           append a signed check record to the evidence branch (needs RESTORABLE_EVIDENCE_KEY;
                       never written on pull_request events)
  --no-color           plain output

  -h, --help           this text
  -v, --version        the version

Exit status: 0 on success; 1 when a control fails at or above --fail-on (for status: or has no evidence,
unless --allow-missing), a file has a problem, a backup, drill, restore or verify fails; 2 on a usage error; 3 when
a backup succeeded but left unreadable files out; 4 when the run succeeded (or was partial) but its evidence
record could not be written (the snapshots are kept).
`;

export async function cli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '-v' || command === '--version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const load = Object.hasOwn(LAZY_COMMANDS, command) ? LAZY_COMMANDS[command] : undefined;
  if (load) {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(USAGE);
      return 0;
    }
    const io: Io = {
      out: process.stdout,
      err: (line) => process.stderr.write(`${line}\n`),
      env: process.env,
    };
    try {
      return await (await load())(rest, io);
    } catch (error) {
      if (error instanceof UsageError) return usageError(error.message);
      process.stderr.write(`restorable ${command}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  if (command !== 'check') return usageError(`unknown command "${command}"`);

  let parsed: ReturnType<typeof parseCheckArgs>;
  try {
    parsed = parseCheckArgs(rest);
  } catch (error) {
    return usageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const failOn = values['fail-on'];
  if (failOn !== undefined && !isFailOn(failOn)) {
    return usageError(`--fail-on must be one of ${[...SEVERITIES, 'never'].join(', ')}, not "${failOn}"`);
  }
  if (values.format !== 'text' && values.format !== 'json') {
    return usageError(`--format must be text or json, not "${values.format}"`);
  }
  const scope = values['fail-on-scope'];
  if (!(FAIL_SCOPES as readonly string[]).includes(scope)) {
    return usageError(`--fail-on-scope must be all or new, not "${scope}"`);
  }
  if (scope === 'new' && values.base === undefined) return usageError('--fail-on-scope new needs --base');
  const root = resolve(values.root ?? '.');
  const options = { root, paths: positionals, config: values.config, failOn };
  let report = runCheck(options);
  if (values.base !== undefined) {
    // Loaded on demand: a plain check never loads git plumbing.
    const { changesSinceBase, withChanges } = await import('./commands/check-base.ts');
    try {
      const changes = await changesSinceBase(options, report, { revision: values.base });
      report = withChanges(report, changes, scope as FailScope);
    } catch (error) {
      process.stderr.write(`restorable check: --base ${values.base}: ${(error as Error).message}\n`);
      return 1;
    }
  }
  writeReports(report, root, { sarif: values.sarif, junit: values.junit, json: values.json });
  if (values.summary) writeFileSync(resolve(root, values.summary), renderSummary(report));
  const color = !values['no-color'] && process.stdout.isTTY === true && !process.env.NO_COLOR;
  process.stdout.write(
    values.format === 'json'
      ? renderJson(report)
      : renderText(report, { color, verbose: values.verbose ?? false }),
  );
  const status = report.failed ? 1 : 0;
  if (!values.evidence) return status;
  // Loaded on demand: a plain check never loads OpenPGP or git plumbing, nor reads a key.
  const { checkEvidence } = await import('./cli/check-evidence.ts');
  return checkEvidence(
    report,
    { root, config: values.config, status },
    { err: (line) => process.stderr.write(`${line}\n`), env: process.env },
  );
}

type Handler = (args: string[], io: Io) => Promise<number>;

/**
 * Every command but `check`, loaded on demand: `check` runs on untrusted pull requests and never needs the
 * engine, OpenPGP, git plumbing or the AWS SDK, nor pays for loading them.
 */
const LAZY_COMMANDS: Record<string, (() => Promise<Handler>) | undefined> = {
  backup: async () => (await import('./cli/engine-commands.ts')).backupCommand,
  snapshots: async () => (await import('./cli/engine-commands.ts')).snapshotsCommand,
  restore: async () => {
    const { restoreCommand } = await import('./cli/engine-commands.ts');
    return (args, io) => restoreCommand(args, io, process.stdout);
  },
  repo: async () => (await import('./cli/engine-commands.ts')).repoCommand,
  key: async () => (await import('./cli/engine-commands.ts')).keyCommand,
  prune: async () => (await import('./cli/prune-command.ts')).pruneCommand,
  drill: async () => (await import('./cli/drill-command.ts')).drillCommand,
  plan: async () => (await import('./cli/plan-command.ts')).planCommand,
  evidence: async () => (await import('./cli/evidence-commands.ts')).evidenceCommand,
  status: async () => (await import('./cli/status-command.ts')).statusCommand,
};

function parseCheckArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      root: { type: 'string' },
      config: { type: 'string' },
      'fail-on': { type: 'string' },
      format: { type: 'string', default: 'text' },
      sarif: { type: 'string' },
      junit: { type: 'string' },
      json: { type: 'string' },
      summary: { type: 'string' },
      verbose: { type: 'boolean' },
      base: { type: 'string' },
      'fail-on-scope': { type: 'string', default: 'all' },
      evidence: { type: 'boolean' },
      'no-color': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usageError(message: string): number {
  process.stderr.write(`restorable: ${message}\nRun \`restorable --help\` for usage.\n`);
  return 2;
}

// Backups and restores keep many files, compressions and decompressions in libuv's thread pool at once; its
// default of 4 threads leaves the cores idle while file creation blocks. Read when the pool first starts.
process.env.UV_THREADPOOL_SIZE ??= '16';
process.exitCode = await cli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(
    `restorable: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return 2;
});
