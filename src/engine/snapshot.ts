import { type Repository, RepositoryError } from './repository.ts';

/** One backup of one system. Written last, after every pack and index it refers to. */
export interface Snapshot {
  version: 1;
  system: string;
  policy: string;
  /** When the backup started (ISO 8601, UTC). */
  time: string;
  hostname: string;
  source: { kind: 'paths'; paths: string[] } | { kind: 'command'; command: string[]; filename: string };
  /** Tree blobs holding the listing (see listing.ts). */
  tree: string[];
  /** The snapshot whose listing served for change detection, if any. */
  parent?: string;
  summary: SnapshotSummary;
  /** Files that could not be read; their absence is recorded here, never hidden. */
  problems: { path: string; message: string }[];
}

export interface SnapshotSummary {
  files: number;
  dirs: number;
  symlinks: number;
  /** Bytes of file content in the snapshot. */
  bytes: number;
  /** Bytes read from the source this time (unchanged files are not read again). */
  bytesRead: number;
  /** Plain bytes of blobs new to the repository, and bytes written to storage. */
  bytesAdded: number;
  bytesStored: number;
  durationMs: number;
}

export interface SnapshotRef {
  id: string;
  snapshot: Snapshot;
}

const MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024;

export async function writeSnapshot(repo: Repository, snapshot: Snapshot): Promise<string> {
  return repo.writeSealed('snapshots', 'snapshot', new TextEncoder().encode(JSON.stringify(snapshot)));
}

export async function readSnapshot(repo: Repository, id: string): Promise<Snapshot> {
  const plain = await repo.readSealed('snapshots', 'snapshot', id);
  if (plain.length > MAX_SNAPSHOT_BYTES) throw new RepositoryError(`snapshot ${id} is implausibly large`);
  const snapshot = JSON.parse(new TextDecoder().decode(plain)) as Snapshot;
  if (snapshot.version !== 1 || typeof snapshot.system !== 'string' || !Array.isArray(snapshot.tree)) {
    throw new RepositoryError(
      `${repo.location}: snapshots/${id} has an unknown shape (version ${snapshot.version})`,
    );
  }
  return snapshot;
}

/**
 * Every snapshot, oldest first. A snapshot that cannot be read is reported through `onProblem` and left out,
 * so that one damaged object never hides the others.
 */
export async function listSnapshots(
  repo: Repository,
  onProblem: (id: string, message: string) => void,
): Promise<SnapshotRef[]> {
  const objects = await repo.backend.list('snapshots/');
  const refs: SnapshotRef[] = [];
  await Promise.all(
    objects.map(async (object) => {
      const id = object.name.slice('snapshots/'.length);
      try {
        refs.push({ id, snapshot: await readSnapshot(repo, id) });
      } catch (error) {
        onProblem(id, (error as Error).message);
      }
    }),
  );
  return refs.sort((a, b) => a.snapshot.time.localeCompare(b.snapshot.time) || a.id.localeCompare(b.id));
}

/** Finds a snapshot by `latest` or by a unique id prefix (at least 4 hex digits), within one system if given. */
export function findSnapshot(refs: SnapshotRef[], selector: string, system?: string): SnapshotRef {
  const candidates = system === undefined ? refs : refs.filter((ref) => ref.snapshot.system === system);
  const scope = system === undefined ? '' : ` of system "${system}"`;
  if (selector === 'latest') {
    const latest = candidates[candidates.length - 1];
    if (!latest) throw new RepositoryError(`no snapshot${scope} in the repository yet`);
    return latest;
  }
  if (!/^[0-9a-f]{4,64}$/.test(selector)) {
    throw new RepositoryError(`snapshot "${selector}" is neither "latest" nor an id (4 to 64 hex digits)`);
  }
  const matches = candidates.filter((ref) => ref.id.startsWith(selector));
  if (matches.length === 0)
    throw new RepositoryError(`no snapshot${scope} has an id starting with ${selector}`);
  if (matches.length > 1) {
    throw new RepositoryError(
      `${matches.length} snapshots${scope} have ids starting with ${selector}: give more digits`,
    );
  }
  return matches[0]!;
}
