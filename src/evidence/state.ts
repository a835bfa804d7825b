import { canonicalBytes } from './canonical.ts';
import type { EvidenceKind, EvidenceRecord, Outcome } from './record.ts';

/**
 * state.json at the branch root: a small index rewritten on every append, so that neither the writer (which
 * needs the head's sequence and hash) nor the pages (the latest record per system and kind) reread every
 * record. It is derived data: `evidence verify` rebuilds it from the records and reports any difference.
 */

export const STATE_FILE = 'state.json';
export const STATE_FORMAT = 'restorable-evidence-state';
export const STATE_VERSION = 1;

/** A pointer to one record. */
export interface RecordRef {
  sequence: number;
  file: string;
  time: string;
  outcome: Outcome;
}

/** The newest record of one kind, and the newest that succeeded. */
export interface KindState {
  last: RecordRef;
  lastSuccess?: RecordRef;
}

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
}

function advance(kind: KindState | undefined, ref: RecordRef): KindState {
  const next: KindState = { last: ref };
  const lastSuccess = ref.outcome === 'success' ? ref : kind?.lastSuccess;
  if (lastSuccess) next.lastSuccess = lastSuccess;
  return next;
}

/** The state after appending `record` (stored at `file`, with hash `sha256`) to a branch in `previous`. */
export function nextState(
  previous: EvidenceState | undefined,
  record: EvidenceRecord,
  file: string,
  sha256: string,
  signingKey: string,
): EvidenceState {
  const ref: RecordRef = { sequence: record.sequence, file, time: record.time, outcome: record.outcome };
  const systems = { ...(previous?.systems ?? {}) };
  for (const system of new Set(record.systems.map((s) => s.name))) {
    const kinds = { ...(systems[system] ?? {}) };
    kinds[record.kind] = advance(kinds[record.kind], ref);
    systems[system] = kinds;
  }
  return {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    signingKey,
    count: record.sequence + 1,
    head: { ...ref, kind: record.kind, sha256 },
    kinds: { ...(previous?.kinds ?? {}), [record.kind]: advance(previous?.kinds[record.kind], ref) },
    systems,
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
      typeof value.systems !== 'object' ||
      typeof value.kinds !== 'object'
    ) {
      return undefined;
    }
    return value;
  } catch {
    return undefined;
  }
}
