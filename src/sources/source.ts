/**
 * What a backup source yields: one entry per file, directory or symbolic link, in the order the archiver
 * stores them. Paths sources (paths.ts) yield entries; command sources (command.ts) yield a byte stream.
 */
export interface SourceEntry {
  /**
   * The path inside the snapshot: relative, `/`-separated, no leading `/`, no empty, `.` or `..` segments,
   * valid UTF-8 (for example `srv/docstore/a.txt`).
   */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits including setuid, setgid and sticky (`st_mode & 0o7777`). */
  mode: number;
  /** Modification time in whole milliseconds since the epoch (rounded down); `mtimeNs` is exact. */
  mtimeMs: number;
  /** Modification time in nanoseconds since the epoch, as the file system holds it. */
  mtimeNs: bigint;
  /** Status change time in nanoseconds: with mtimeNs, size, dev and ino, what change detection compares. */
  ctimeNs: bigint;
  /** Size in bytes for files; 0 for directories and symbolic links. */
  size: number;
  /** For symbolic links, the target exactly as stored in the link (possibly relative, possibly dangling). */
  target?: string;
  uid: number;
  gid: number;
  /**
   * Device and inode numbers, for change detection against the previous snapshot. Bigints because inode
   * numbers can exceed 2^53 (overlay file systems put the layer in the high bits), where a number would be
   * rounded and two files could compare equal.
   */
  dev: bigint;
  ino: bigint;
  /** Where to read the entry on this machine. Never stored in a snapshot. */
  absolute: string;
}

/**
 * Something a source had to leave out (an unreadable directory, a file that vanished during the walk, a
 * socket): reported, and the backup goes on without it.
 */
export interface SourceProblem {
  /** The snapshot path concerned (as SourceEntry.path). */
  path: string;
  /** Where it is on this machine. */
  absolute: string;
  /** What happened and what was left out, for example `permission denied: directory contents skipped`. */
  message: string;
}

/** A short reason for a file system error, such as `permission denied` or `vanished during the backup`. */
export function describeFsError(error: unknown, what: 'file' | 'directory' | 'entry'): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied: cannot read this ${what}`;
    case 'ENOENT':
      return `${what} vanished during the backup`;
    case 'ENOTDIR':
      return `${what} changed during the backup (a parent is no longer a directory)`;
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EIO':
      return `input/output error reading this ${what}`;
    default:
      return `cannot read this ${what}: ${error instanceof Error ? error.message : String(error)}`;
  }
}
