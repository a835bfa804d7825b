import { canonicalBytes } from './canonical.ts';
import type { ControlEntry, EvidenceKind, EvidenceRecord, Outcome } from './record.ts';

/**
 * state.json at the branch root: a small index rewritten on every append, so that neither the writer (which
 * needs the head's sequence and hash), nor the pages (the latest record per system and kind, the latest
 * result per control and system), nor `restorable status` (the measurements of the newest backup and drill
 * per system) reread every record. It is derived data: `evidence verify` rebuilds it from the records with
 * the same function (nextState) and reports any difference.
 */

export const STATE_FILE = 'state.json';
export const STATE_FORMAT = 'restorable-evidence-state';
/** 2 added `controls` and the measurements kept on record pointers; a version 1 state.json is rebuilt. */
export const STATE_VERSION = 2;

/** A pointer to one record, with the few measurements that run-time controls read. */
export interface RecordRef {
  sequence: number;
  file: string;
  time: string;
  outcome: Outcome;
  /**
   * Backups: when the newest snapshot the run wrote was taken (its `time` in `measurements.snapshots`, else
   * the run's `startedAt`); absent when the record says neither.
   */
  snapshotTime?: string;
  /** Drills: `measurements.restoreDurationMs`, when recorded. */
  restoreDurationMs?: number;
  /** Drills: `measurements.verified`, when recorded. */
  verified?: boolean;
}

/** The newest record of one kind, and the newest that succeeded. */
export interface KindState {
  last: RecordRef;
  lastSuccess?: RecordRef;
}

/** The newest result of one control on one system, and the record that holds it. */
export interface ControlRef {
  status: ControlEntry['status'];
  sequence: number;
  file: string;
  time: string;
  severity?: ControlEntry['severity'];
  /** A failure's message, cut to MAX_STATE_MESSAGE characters. */
  message?: string;
}

/** Results of controls that are about no one system (policy-wide) are kept under this key. */
export const NO_SYSTEM = '';
/** Failure messages longer than this are cut (with `…`) in state.json; the record holds them whole. */
export const MAX_STATE_MESSAGE = 300;

export interface EvidenceState {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** The pinned key's fingerprint that the records are signed with. */
  signingKey: string;
  /** Number of records (the head's sequence + 1). */
  count: number;
  /** The newest record, and the SHA-256 of its bytes (what the next record's `previous` will hold). */
  head: RecordRef & { kind: EvidenceKind; sha256: string };
  /** Per kind, over all records. */
  kinds: Partial<Record<EvidenceKind, KindState>>;
  /** Per system (by name) and kind. A check record counts for every system it lists. */
  systems: Record<string, Partial<Record<EvidenceKind, KindState>>>;
  /** Per control id and system name (NO_SYSTEM for policy-wide results): the newest result recorded. */
  controls: Record<string, Record<string, ControlRef>>;
}

function advance(kind: KindState | undefined, ref: RecordRef): KindState {
  const next: KindState = { last: ref };
  const lastSuccess = ref.outcome === 'success' ? ref : kind?.lastSuccess;
  if (lastSuccess) next.lastSuccess = lastSuccess;
  return next;
}

/** The pointer to `record`, with the measurements `restorable status` needs from records of its kind. */
export function recordRef(record: EvidenceRecord, file: string): RecordRef {
  const ref: RecordRef = { sequence: record.sequence, file, time: record.time, outcome: record.outcome };
  const measurements = record.measurements ?? {};
  if (record.kind === 'backup') {
    const snapshotTimes = (Array.isArray(measurements.snapshots) ? measurements.snapshots : [])
      .map((s) => s?.time)
      .filter((t): t is string => typeof t === 'string' && !Number.isNaN(Date.parse(t)))
      .sort((a, b) => Date.parse(a) - Date.parse(b));
    const snapshotTime = snapshotTimes.at(-1) ?? record.startedAt;
    if (snapshotTime !== undefined) ref.snapshotTime = snapshotTime;
  }
  if (record.kind === 'drill') {
    const { restoreDurationMs, verified } = measurements;
    if (typeof restoreDurationMs === 'number' && Number.isFinite(restoreDurationMs) && restoreDurationMs >= 0)
      ref.restoreDurationMs = restoreDurationMs;
    if (typeof verified === 'boolean') ref.verified = verified;
  }
  return ref;
}

function cut(message: string): string {
  return message.length <= MAX_STATE_MESSAGE ? message : `${message.slice(0, MAX_STATE_MESSAGE - 1)}…`;
}

/** The state after appending `record` (stored at `file`, with hash `sha256`) to a branch in `previous`. */
export function nextState(
  previous: EvidenceState | undefined,
  record: EvidenceRecord,
  file: string,
  sha256: string,
  signingKey: string,
): EvidenceState {
  const ref = recordRef(record, file);
  const systems = { ...(previous?.systems ?? {}) };
  for (const system of new Set(record.systems.map((s) => s.name))) {
    const kinds = { ...(systems[system] ?? {}) };
    kinds[record.kind] = advance(kinds[record.kind], ref);
    systems[system] = kinds;
  }
  const controls = { ...(previous?.controls ?? {}) };
  const copied = new Set<string>();
  for (const entry of Array.isArray(record.controls) ? record.controls : []) {
    if (!copied.has(entry.id)) {
      controls[entry.id] = { ...(controls[entry.id] ?? {}) };
      copied.add(entry.id);
    }
    const result: ControlRef = { status: entry.status, sequence: record.sequence, file, time: record.time };
    if (entry.severity !== undefined) result.severity = entry.severity;
    if (entry.status === 'fail' && entry.message !== undefined) result.message = cut(entry.message);
    controls[entry.id]![entry.system ?? NO_SYSTEM] = result;
  }
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    signingKey,
    count: record.sequence + 1,
    head: { sequence: ref.sequence, file, time: ref.time, outcome: ref.outcome, kind: record.kind, sha256 },
    kinds: { ...(previous?.kinds ?? {}), [record.kind]: advance(previous?.kinds[record.kind], ref) },
    systems,
    controls,
  };
}

export function stateBytes(state: EvidenceState): Uint8Array {
  return canonicalBytes(state);
}

/** Reads state.json; undefined when it is not one this version writes. */
export function parseState(bytes: Uint8Array): EvidenceState | undefined {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as EvidenceState;
    if (value?.format !== STATE_FORMAT || value.version !== STATE_VERSION) return undefined;
    const head = value.head;
    if (
      !head ||
      !Number.isSafeInteger(head.sequence) ||
      head.sequence < 0 ||
      typeof head.file !== 'string' ||
      !/^[0-9a-f]{64}$/.test(head.sha256 ?? '') ||
      !isObject(value.systems) ||
      !isObject(value.kinds) ||
      !isObject(value.controls)
    ) {
      return undefined;
    }
    return value;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
