/**
 * Runs the engine's prune in a process of its own, so a test can kill it at any point (test/prune.test.ts).
 * Arguments: repository directory, master key (hex), system, retention (JSON), now (ISO 8601).
 * Prints `started` before the prune, then the result as JSON.
 */
import { Repository, readConfig } from '../../src/engine/repository.ts';
import { pruneSystem } from '../../src/prune/prune.ts';
import { LocalBackend } from '../../src/storage/local.ts';

const [dir, key, system, retention, now] = process.argv.slice(2);
const backend = new LocalBackend(dir!);
const config = await readConfig(backend);
if (!config) throw new Error(`${dir} holds no repository`);
const repo = new Repository(backend, config, Buffer.from(key!, 'hex'));
process.stdout.write('started\n');
const result = await pruneSystem(
  repo,
  { system: system!, retention: JSON.parse(retention!) },
  { now: () => new Date(now!), repackThreshold: 0.3, lockWaitMs: 0 },
);
process.stdout.write(`${JSON.stringify(result)}\n`);
