import { createHash } from 'node:crypto';
import { canonicalBytes } from './canonical.ts';

/**
 * Evidence records: the typed shape of schemas/evidence.schema.json, the chain fields, and the file names
 * records get on the evidence branch. A record is built from a draft (what a command knows about its run)
 * plus its place in the chain (sequence and previous), which the branch writer assigns at append time.
 */

export const RECORD_FORMAT = 'restorable-evidence';
export const RECORD_VERSION = 1;

export const EVIDENCE_KINDS = ['check', 'backup', 'drill', 'prune'] as const;
export type EvidenceKind = (typeof EVIDENCE_KINDS)[number];

export type Outcome = 'success' | 'partial' | 'failure';

/** Records are refused above this size (a check over thousands of systems stays far below it). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
/** The largest sequence number the 8-digit file names hold. */
export const MAX_SEQUENCE = 99_999_999;

export interface RunContext {
  ci: 'github-actions' | 'none';
  repository?: string;
  serverUrl?: string;
  workflow?: string;
  workflowRef?: string;
  job?: string;
  runId?: string;
  runAttempt?: string;
  event?: string;
  actor?: string;
  ref?: string;
  sha?: string;
  runner?: { name?: string; os?: string; arch?: string; environment?: string };
}

export interface SystemEntry {
  name: string;
  /** The policy's metadata.name. */
  policy: string;
}

export interface PolicyEntry {
  name?: string;
  /** Relative to the repository root, with `/`. */
  file: string;
  /** Git blob id of the content as read. */
  blob: string;
  /** HEAD when the file was read. */
  commit?: string;
  /** The file differs from its version in `commit`. */
  modified?: boolean;
}

export interface ControlEntry {
  id: string;
  system?: string;
  status: 'pass' | 'fail' | 'not-applicable';
  severity?: 'critical' | 'high' | 'medium' | 'low';
  message?: string;
}

export interface SnapshotEntry {
  repository: string;
  id: string;
  time?: string;
}

export interface Objective {
  targetSeconds?: number;
  achievedSeconds?: number;
}

/** Known measurements are typed; anything else is a free-form JSON value. */
export interface Measurements {
  files?: number;
  bytes?: number;
  bytesRead?: number;
  bytesAdded?: number;
  bytesStored?: number;
  bytesDeleted?: number;
  durationMs?: number;
  restoreDurationMs?: number;
  snapshots?: SnapshotEntry[];
  deleted?: SnapshotEntry[];
  kept?: number;
  verified?: boolean;
  rpo?: Objective;
  rto?: Objective;
  [key: string]: unknown;
}

/** What a command hands to the writer: everything but the record's place in the chain. */
export interface RecordDraft {
  kind: EvidenceKind;
  outcome: Outcome;
  /** When the run finished (default: when the draft is made into a record). */
  time?: Date | string;
  startedAt?: Date | string;
  message?: string;
  systems: SystemEntry[];
  policies: PolicyEntry[];
  controls?: ControlEntry[];
  measurements?: Measurements;
  /** Default: runContext(process.env). */
  run?: RunContext;
  /** Default: the package's version. */
  toolVersion?: string;
}

export interface EvidenceRecord {
  format: typeof RECORD_FORMAT;
  version: typeof RECORD_VERSION;
  sequence: number;
  previous: string | null;
  kind: EvidenceKind;
  time: string;
  startedAt?: string;
  outcome: Outcome;
  message?: string;
  tool: { name: 'restorable'; version: string };
  run: RunContext;
  systems: SystemEntry[];
  policies: PolicyEntry[];
  controls?: ControlEntry[];
  measurements?: Measurements;
}

/** Where a record sits in the chain. */
export interface ChainPosition {
  sequence: number;
  /** SHA-256 hex of the previous record's bytes; null for sequence 0. */
  previous: string | null;
}

const iso = (time: Date | string) => (time instanceof Date ? time.toISOString() : time);

/**
 * The record for `draft` at `position`. Optional fields that are undefined are left out (canonical JSON
 * refuses undefined); the result is not yet checked against the schema (see validateRecord).
 */
export function buildRecord(
  draft: RecordDraft,
  position: ChainPosition,
  defaults: { time: Date; run: RunContext; toolVersion: string },
): EvidenceRecord {
  const record: EvidenceRecord = {
    format: RECORD_FORMAT,
    version: RECORD_VERSION,
    sequence: position.sequence,
    previous: position.previous,
    kind: draft.kind,
    time: iso(draft.time ?? defaults.time),
    outcome: draft.outcome,
    tool: { name: 'restorable', version: draft.toolVersion ?? defaults.toolVersion },
    run: draft.run ?? defaults.run,
    systems: draft.systems,
    policies: draft.policies,
  };
  if (draft.startedAt !== undefined) record.startedAt = iso(draft.startedAt);
  if (draft.message !== undefined) record.message = draft.message;
  if (draft.controls !== undefined) record.controls = draft.controls;
  if (draft.measurements !== undefined) record.measurements = draft.measurements;
  return dropUndefined(record);
}

/** A copy without undefined-valued object properties (optional fields left unset by callers). */
function dropUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(dropUndefined) as T;
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) {
    return value;
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = dropUndefined(item);
  return out as T;
}

/** The bytes stored for a record: its canonical JSON. */
export function recordBytes(record: EvidenceRecord): Uint8Array {
  return canonicalBytes(record);
}

/** SHA-256 (lowercase hex) of a record's exact bytes: what the next record's `previous` holds. */
export function recordHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---------------------------------------------------------------------------------------------------------------
// File names

export const RECORDS_DIR = 'records';
/** Records per shard directory (200 files: GitHub lists a directory of up to 1,000 in full). */
export const SHARD_SIZE = 100;

/**
 * The subject part of a record's file name: its one system, or nothing when it is about none or several
 * (a check). System names are already file-safe (lower-case letters, digits, hyphens).
 */
function subject(record: Pick<EvidenceRecord, 'systems'>): string {
  return record.systems.length === 1 ? `-${record.systems[0]!.name}` : '';
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** `records/000012/00001234-backup-payments-db.json`: the shard is the sequence without its last two digits. */
export function recordPath(record: Pick<EvidenceRecord, 'sequence' | 'kind' | 'systems'>): string {
  return `${shardPath(record.sequence)}/${pad(record.sequence, 8)}-${record.kind}${subject(record)}.json`;
}

export function shardPath(sequence: number): string {
  return `${RECORDS_DIR}/${pad(Math.floor(sequence / SHARD_SIZE), 6)}`;
}

export const SIGNATURE_SUFFIX = '.asc';

export function signaturePath(recordFile: string): string {
  return `${recordFile}${SIGNATURE_SUFFIX}`;
}

const RECORD_NAME = /^records\/([0-9]{6})\/([0-9]{8})-(check|backup|drill|prune)(?:-([a-z0-9-]+))?\.json$/;

export interface ParsedRecordPath {
  sequence: number;
  kind: EvidenceKind;
  /** The system named in the file name, if any. */
  system?: string;
  /** Whether the shard directory is the one the sequence belongs in. */
  shardMatches: boolean;
}

/** Reads a record's file name; undefined when `path` is not one. */
export function parseRecordPath(path: string): ParsedRecordPath | undefined {
  const match = RECORD_NAME.exec(path);
  if (!match) return undefined;
  const sequence = Number(match[2]);
  const parsed: ParsedRecordPath = {
    sequence,
    kind: match[3] as EvidenceKind,
    shardMatches: Number(match[1]) === Math.floor(sequence / SHARD_SIZE),
  };
  if (match[4] !== undefined) parsed.system = match[4];
  return parsed;
}
