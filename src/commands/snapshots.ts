import { listSnapshots, type Snapshot } from '../engine/snapshot.ts';
import { type AccessOptions, openRepositories } from './repository-access.ts';

export interface SnapshotRow {
  repository: string;
  location: string;
  id: string;
  system: string;
  time: string;
  hostname: string;
  summary: Snapshot['summary'];
  problems: number;
}

/** `restorable snapshots`: every snapshot of every repository the policies name, oldest first per repository. */
export async function runSnapshots(
  options: AccessOptions & { systems?: readonly string[]; repository?: string },
): Promise<{ rows: SnapshotRow[]; problems: string[] }> {
  const rows: SnapshotRow[] = [];
  const problems: string[] = [];
  const onUnavailable = (name: string, error: Error) =>
    problems.push(`repository ${name} cannot be read: ${error.message}`);
  for (const { name, repo, systems } of await openRepositories({ ...options, onUnavailable })) {
    const wanted = new Set(options.systems && options.systems.length > 0 ? options.systems : systems);
    for (const { id, snapshot } of await listSnapshots(repo, (id, message) =>
      problems.push(`snapshots/${id}: ${message}`),
    )) {
      if (!wanted.has(snapshot.system)) continue;
      rows.push({
        repository: name,
        location: repo.location,
        id,
        system: snapshot.system,
        time: snapshot.time,
        hostname: snapshot.hostname,
        summary: snapshot.summary,
        problems: snapshot.problems.length,
      });
    }
  }
  return { rows, problems };
}
