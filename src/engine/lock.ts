import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { NotFoundError } from '../storage/backend.ts';
import { type Repository, RepositoryError } from './repository.ts';

/**
 * Repository locks: `locks/<sha256>` objects, sealed like every other object. Backups (and later drills and
 * verify) hold a shared lock; prune holds an exclusive one. A lock names its holder and carries an expiry,
 * pushed forward while the holder runs, so a crashed holder's lock goes stale and stops counting; sooner, when
 * the holder ran on this same machine and process namespace and its process is gone (see holderIsGone).
 */
export type LockKind = 'shared' | 'exclusive';

export interface LockInfo {
  version: 1;
  kind: LockKind;
  /** What holds it, for messages: `backup payments`, `prune`. */
  purpose: string;
  hostname: string;
  pid: number;
  user: string;
  created: string;
  /** After this, the lock is stale: its holder stopped refreshing it. */
  expires: string;
  /** The kernel's boot id and the holder's PID namespace (Linux), so another process can tell it is gone. */
  bootId?: string;
  pidNamespace?: string;
}

/** A lock is refreshed this often and expires this long after its last refresh. */
export const LOCK_REFRESH_MS = 5 * 60 * 1000;
export const LOCK_LIFETIME_MS = 30 * 60 * 1000;

export class LockedError extends RepositoryError {
  constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

export interface LockOptions {
  purpose: string;
  now?: () => Date;
  /** Called when a lock object cannot be read: it still counts (it may be another holder's), and is named. */
  onProblem?: (message: string) => void;
}

export interface HeldLock {
  readonly name: string;
  /** Writes a fresh lock with a later expiry and removes the previous one. */
  refresh(): Promise<void>;
  release(): Promise<void>;
}

function conflicts(mine: LockKind, theirs: LockKind): boolean {
  return mine === 'exclusive' || theirs === 'exclusive';
}

function describe(lock: LockInfo): string {
  return `${lock.kind} lock by ${lock.purpose} (${lock.user}@${lock.hostname}, pid ${lock.pid}) since ${lock.created}, expires ${lock.expires}`;
}

/** Every lock in the repository that has not expired; unreadable ones are reported and treated as live. */
export async function liveLocks(
  repo: Repository,
  now: Date,
  onProblem: (message: string) => void = () => {},
): Promise<{ name: string; lock?: LockInfo }[]> {
  const live: { name: string; lock?: LockInfo }[] = [];
  for (const { name } of await repo.backend.list('locks/')) {
    const id = name.slice('locks/'.length);
    let lock: LockInfo;
    try {
      lock = JSON.parse(new TextDecoder().decode(await repo.readSealed('locks', 'lock', id))) as LockInfo;
    } catch (error) {
      if (error instanceof NotFoundError) continue; // released meanwhile
      onProblem(
        `${repo.location}: ${name} cannot be read (${(error as Error).message}); it is taken as held`,
      );
      live.push({ name });
      continue;
    }
    if (new Date(lock.expires).getTime() > now.getTime() && !holderIsGone(lock)) live.push({ name, lock });
  }
  return live;
}

let identity: { bootId?: string; pidNamespace?: string } | undefined;

/** This machine's boot and this process's PID namespace, where the system tells them (Linux); else none. */
function processIdentity(): { bootId?: string; pidNamespace?: string } {
  if (identity) return identity;
  identity = {};
  try {
    identity.bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    identity.pidNamespace = readlinkSync('/proc/self/ns/pid');
  } catch {
    identity = {};
  }
  return identity;
}

/**
 * A lock whose holder was killed (SIGKILL, a crashed runner) would block the repository until it expires,
 * 30 minutes on. When the lock was written on this host, since this boot and in this PID namespace, its pid
 * means the same process here: if no such process exists, the holder is gone. Anywhere else (another
 * machine or container, a reused pid that now names some other process) the lock counts until it expires.
 */
function holderIsGone(lock: LockInfo): boolean {
  const here = processIdentity();
  if (!lock.bootId || !lock.pidNamespace || lock.hostname !== hostname()) return false;
  if (lock.bootId !== here.bootId || lock.pidNamespace !== here.pidNamespace) return false;
  try {
    process.kill(lock.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Takes a lock, or throws LockedError naming the holder of a conflicting one. Written first and checked
 * after, so two processes that race both see each other: each then withdraws, and neither proceeds.
 */
export async function acquireLock(repo: Repository, kind: LockKind, options: LockOptions): Promise<HeldLock> {
  const now = options.now ?? (() => new Date());
  const onProblem = options.onProblem ?? (() => {});
  const write = async (): Promise<string> => {
    const time = now();
    const info: LockInfo = {
      version: 1,
      kind,
      purpose: options.purpose,
      hostname: hostname(),
      pid: process.pid,
      user: userInfo().username,
      created: time.toISOString(),
      expires: new Date(time.getTime() + LOCK_LIFETIME_MS).toISOString(),
      ...processIdentity(),
    };
    return `locks/${await repo.writeSealed('locks', 'lock', new TextEncoder().encode(JSON.stringify(info)))}`;
  };
  const blocking = async (mine: string | undefined) =>
    (await liveLocks(repo, now(), onProblem)).filter(
      ({ name, lock }) => name !== mine && (!lock || conflicts(kind, lock.kind)),
    );

  const before = await blocking(undefined);
  if (before.length > 0) throw lockedBy(repo, kind, before);
  let name = await write();
  const after = await blocking(name);
  if (after.length > 0) {
    await repo.backend.remove(name);
    throw lockedBy(repo, kind, after);
  }
  return {
    get name() {
      return name;
    },
    async refresh() {
      const previous = name;
      name = await write();
      await repo.backend.remove(previous);
    },
    async release() {
      await repo.backend.remove(name);
    },
  };
}

function lockedBy(
  repo: Repository,
  kind: LockKind,
  holders: { name: string; lock?: LockInfo }[],
): LockedError {
  const who = holders.map(({ name, lock }) => (lock ? describe(lock) : `${name} (unreadable)`)).join('; ');
  return new LockedError(
    `${repo.location} is locked: a ${kind} lock cannot be taken beside ${who}. Wait for it to finish, or, if its holder is gone (on another machine), for the lock to expire.`,
  );
}

/**
 * Takes the same kind of lock on every repository (all or none) and keeps them fresh until `release`.
 * A backup holds shared locks from before it reads the index until after its snapshot is written.
 */
export async function holdLocks(
  repos: readonly Repository[],
  kind: LockKind,
  options: LockOptions,
): Promise<{ release: () => Promise<void> }> {
  const held: HeldLock[] = [];
  try {
    for (const repo of repos) held.push(await acquireLock(repo, kind, options));
  } catch (error) {
    await Promise.allSettled(held.map((lock) => lock.release()));
    throw error;
  }
  let refreshing: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    refreshing = refreshing.then(() => Promise.allSettled(held.map((lock) => lock.refresh())));
  }, LOCK_REFRESH_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await refreshing;
      await Promise.allSettled(held.map((lock) => lock.release()));
    },
  };
}
