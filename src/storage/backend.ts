/**
 * Where a repository's objects live. Names are `/`-separated relative paths such as `config`, `keys/<id>`,
 * `data/<2 hex>/<id>`, `index/<id>`, `snapshots/<id>`. Writes are atomic: a reader sees the whole object or
 * none of it. Objects are never rewritten in place (only created, and deleted by prune).
 */
export interface Backend {
  /** Where the repository is, for messages (`/srv/backups/x`, `s3://bucket/prefix/`). Never holds secrets. */
  readonly location: string;
  /** Creates or replaces `name` atomically; `data` may come in parts, written back to back. */
  write(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /**
   * Creates `name` only if no object has that name, atomically (a local hard link; S3's conditional PUT,
   * `If-None-Match: *`); false when one already does. Two writers racing to create a repository thus agree
   * on one `config`.
   */
  writeNew(name: string, data: Uint8Array): Promise<boolean>;
  /** The whole object, or `length` bytes from `offset`. Throws NotFoundError when it does not exist. */
  read(name: string, range?: ByteRange): Promise<Uint8Array>;
  /** Size in bytes, or undefined when the object does not exist. */
  stat(name: string): Promise<ObjectInfo | undefined>;
  /** Every object whose name starts with `prefix` (for example `snapshots/`), in no particular order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes `name`; removing an object that does not exist is not an error. */
  remove(name: string): Promise<void>;
  /**
   * What writes that never finished left behind (a killed process's temporary files), last changed before
   * `before`, named as `removeAbandoned` takes them. Backends whose writes leave nothing behind lack it.
   */
  abandoned?(before: Date): Promise<ObjectInfo[]>;
  removeAbandoned?(name: string): Promise<void>;
  /**
   * Keeps `name` from deletion until `until`, where the backend can (S3 Object Lock); extending only, never
   * shortening. Backends without locks ignore it.
   */
  retain?(name: string, until: Date): Promise<void>;
  /**
   * Until when `name` is protected from deletion (S3 Object Lock retain-until date), or undefined when it is
   * not locked (or the backend has no locks). Prune asks before every deletion: on a versioned S3 bucket a
   * plain DELETE of a locked object "succeeds" by hiding it behind a delete marker.
   */
  retainedUntil?(name: string): Promise<Date | undefined>;
  /** The retain-until date an object written at `now` gets from the repository's object lock, if it asks for one. */
  lockUntil?(now: Date): Date | undefined;
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ObjectInfo {
  name: string;
  size: number;
}

export class NotFoundError extends Error {
  readonly object: string;

  constructor(location: string, object: string) {
    super(`${location}: object ${object} does not exist`);
    this.name = 'NotFoundError';
    this.object = object;
  }
}

/** A failure of the storage itself (permissions, network, a full disk), with the object it concerns. */
export class StorageError extends Error {
  readonly object: string;

  constructor(location: string, object: string, what: string, options?: ErrorOptions) {
    super(`${location}: ${what} ${object}`, options);
    this.name = 'StorageError';
    this.object = object;
  }
}

const NAME = /^(?:config|(?:keys|index|snapshots|locks)\/[0-9a-f]{64}|data\/[0-9a-f]{2}\/[0-9a-f]{64})$/;

/** Object names are fixed by the format; anything else (`..`, absolute, odd characters) is refused. */
export function checkName(name: string): void {
  if (!NAME.test(name)) throw new RangeError(`not a repository object name: ${JSON.stringify(name)}`);
}
