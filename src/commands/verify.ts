import { formatBytes } from '../cli/format.ts';
import { type CheckResult, checkRepository } from '../engine/checker.ts';
import { type AccessOptions, openRepositories } from './repository-access.ts';

export interface VerifyCommandOptions extends AccessOptions {
  systems?: readonly string[];
  repository?: string;
  /** Fraction of packs to read and decrypt: 0 for structure only. */
  readData: number;
  onProgress?: (repository: string, done: number, total: number) => void;
}

/** `restorable repo verify`: each repository's structure and, when asked, its data. */
export async function runVerify(
  options: VerifyCommandOptions,
): Promise<(CheckResult & { repository: string; location: string })[]> {
  const results = [];
  for (const { name, repo } of await openRepositories(options)) {
    const result = await checkRepository(repo, {
      readData: options.readData,
      onProgress: (done, total) => options.onProgress?.(name, done, total),
    });
    results.push({ ...result, repository: name, location: repo.location });
  }
  return results;
}

/** `--read-data-subset` as a fraction: `10%`, `0.1`, or `n/m`. */
export function parseSubset(text: string): number | undefined {
  let value: number;
  const fraction = /^(\d+)\/(\d+)$/.exec(text);
  if (text.endsWith('%')) value = Number(text.slice(0, -1)) / 100;
  else if (fraction) value = Number(fraction[1]) / Number(fraction[2]);
  else value = Number(text);
  return Number.isFinite(value) && value > 0 && value <= 1 ? value : undefined;
}

/** The line for packs no index names: not an error, so it says where they come from and what removes them. */
export function unindexedNote(result: Pick<CheckResult, 'unindexedPacks' | 'unindexedBytes'>): string {
  const one = result.unindexedPacks === 1;
  return (
    `${one ? '1 pack' : `${result.unindexedPacks} packs`} (${formatBytes(result.unindexedBytes)}) ` +
    `${one ? 'is' : 'are'} in no index: left by an interrupted backup or prune, or being written by one still ` +
    `running; no snapshot needs ${one ? 'it' : 'them'}, and \`restorable prune\` removes ${one ? 'it' : 'them'}`
  );
}
