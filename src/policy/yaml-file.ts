import { CORE_SCHEMA, loadAll, YAMLException } from 'js-yaml';
import type { SourcePath, SourceRange } from './source.ts';
import { findNode, LineIndex, PositionRecorder, skipBlank, trimEnd } from './yaml-positions.ts';

export const YAML_LIMITS = {
  /** Policies are small; anything larger is a mistake or an attack. */
  maxBytes: 1024 * 1024,
  maxDocuments: 100,
  /** Nodes in a document with aliases written out: far more than a policy needs, far fewer than a billion laughs. */
  maxNodes: 250_000,
  /** Flow brackets nested deeper than this are refused before parsing (the parser recurses). */
  maxDepth: 128,
};

export interface YamlDocument {
  file: string;
  /** 0-based position of the document in its file */
  index: number;
  value: unknown;
  /**
   * Range of the node at path (its key with `key: true`); for a path that does not exist, the key that
   * holds the deepest mapping that does.
   */
  locate(path: SourcePath, options?: { key?: boolean }): SourceRange;
}

export interface YamlProblem {
  ruleId: string;
  message: string;
  remediation: string;
  location: SourceRange;
}

export interface YamlFile {
  documents: YamlDocument[];
  problems: YamlProblem[];
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function parseYamlFile(file: string, bytes: Uint8Array): YamlFile {
  const at = (line: number, column: number): SourceRange => ({
    file,
    line,
    column,
    endLine: line,
    endColumn: column,
  });
  const fail = (ruleId: string, message: string, remediation: string, location = at(1, 1)): YamlFile => ({
    documents: [],
    problems: [{ ruleId, message, remediation, location }],
  });

  if (bytes.byteLength > YAML_LIMITS.maxBytes) {
    return fail(
      'yaml/too-large',
      `file is ${bytes.byteLength} bytes; the limit is ${YAML_LIMITS.maxBytes}`,
      'Split the policy into several files.',
    );
  }
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    const badByte = Math.max(0, firstInvalidUtf8(bytes));
    const { line, column } = positionOfByte(bytes, badByte);
    return fail(
      'yaml/encoding',
      `not valid UTF-8: byte 0x${bytes[badByte]!.toString(16).padStart(2, '0')} at offset ${badByte}`,
      'Save the file as UTF-8.',
      at(line, column),
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineIndex(text);
  const rangeOf = (start: number, end: number): SourceRange => {
    const a = lines.position(start);
    const b = lines.position(Math.max(start, end));
    return { file, line: a.line, column: a.column, endLine: b.line, endColumn: b.column };
  };

  const deep = firstTooDeep(text);
  if (deep !== -1) {
    return fail(
      'yaml/too-deep',
      `nested more than ${YAML_LIMITS.maxDepth} levels deep`,
      'Flatten the structure: policies need only a few levels.',
      rangeOf(deep, deep),
    );
  }

  const chunks = splitDocuments(text);
  if (chunks.length > YAML_LIMITS.maxDocuments) {
    return fail(
      'yaml/too-many-documents',
      `${chunks.length} documents; the limit is ${YAML_LIMITS.maxDocuments}`,
      'Split the file.',
    );
  }

  const problems: YamlProblem[] = [];
  const documents: YamlDocument[] = [];
  const problem = (ruleId: string, message: string, remediation: string, offset: number) =>
    problems.push({ ruleId, message, remediation, location: rangeOf(offset, offset) });
  // Each document is parsed on its own, so a mistake in one does not hide the others.
  chunks.forEach(({ base, text: chunk }, index) => {
    const recorder = new PositionRecorder();
    let values: unknown[];
    try {
      values = loadAll(chunk, undefined, { schema: CORE_SCHEMA, listener: recorder.onEvent });
    } catch (error) {
      if (error instanceof YAMLException) {
        const offset = Math.min(error.mark?.position ?? 0, chunk.length);
        if (error.reason === 'duplicated mapping key') {
          problem(
            'yaml/duplicate-key',
            `duplicate key \`${keyAt(chunk, offset)}\``,
            'Keep one of the two keys: YAML parsers disagree on which one wins.',
            base + offset,
          );
        } else {
          problem('yaml/syntax', error.reason, 'Fix the YAML syntax at this position.', base + offset);
        }
      } else if (error instanceof RangeError) {
        problem('yaml/too-deep', 'nested too deeply to read', 'Flatten the structure.', base);
      } else {
        problem('yaml/unparsable', `cannot be read: ${describe(error)}`, 'Simplify the YAML.', base);
      }
      return;
    }
    values.forEach((value, k) => {
      const root = recorder.documents[k];
      if (value === null || value === undefined || !root) return; // an empty document
      const rootStart = skipBlank(chunk, root.open);
      // Without an anchor (`&`) there is no alias to expand.
      if (chunk.includes('&') && expandedSize(value, YAML_LIMITS.maxNodes) > YAML_LIMITS.maxNodes) {
        problem(
          'yaml/alias-limit',
          `the document expands to more than ${YAML_LIMITS.maxNodes} nodes (an alias bomb?)`,
          'Write the values out instead of nesting aliases.',
          base + rootStart,
        );
        return;
      }
      documents.push({
        file,
        index: index + k,
        value,
        locate(path, options) {
          const node = findNode(chunk, root, path, options?.key ?? false);
          const start = skipBlank(chunk, node.open);
          return rangeOf(base + start, base + trimEnd(chunk, start, node.close));
        },
      });
    });
  });
  return { documents, problems };
}

/** The text of each document (split at `---` lines), with its offset in the file. */
function splitDocuments(text: string): { base: number; text: string }[] {
  const chunks: { base: number; text: string }[] = [];
  const marker = /^---(?=[ \t\r\n]|$)/gm;
  let base = 0;
  for (let match = marker.exec(text); match !== null; match = marker.exec(text)) {
    if (match.index > base && text.slice(base, match.index).trim() !== '') {
      chunks.push({ base, text: text.slice(base, match.index) });
    }
    base = match.index;
  }
  chunks.push({ base, text: text.slice(base) });
  return chunks;
}

/** Nodes in the document with every alias written out, counting no further than `limit`. */
function expandedSize(value: unknown, limit: number): number {
  const sizes = new Map<object, number>();
  const size = (v: unknown): number => {
    if (typeof v !== 'object' || v === null) return 1;
    const known = sizes.get(v);
    if (known !== undefined) return known;
    // Met again while its children are counted: an alias to an enclosing node, a cycle that never ends.
    sizes.set(v, limit + 1);
    let total = 1;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      total += size(child);
      if (total > limit) break;
    }
    sizes.set(v, total);
    return total;
  };
  return size(value);
}

function countOf(text: string, char: string): number {
  let count = 0;
  for (let i = text.indexOf(char); i !== -1; i = text.indexOf(char, i + 1)) count++;
  return count;
}

/** Offset where flow brackets nest deeper than the limit, or -1 (quoted text and comments skipped). */
function firstTooDeep(text: string): number {
  if (countOf(text, '[') + countOf(text, '{') <= YAML_LIMITS.maxDepth) return -1;
  let depth = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s[{,:]/.test(text[i - 1]!)) quote = c;
    } else if (c === '[' || c === '{') {
      if (++depth > YAML_LIMITS.maxDepth) return i;
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return -1;
}

function keyAt(text: string, offset: number): string {
  const match = /^\s*("[^"]*"|'[^']*'|[^:\n]*)/.exec(text.slice(offset, offset + 200));
  return (match?.[1] ?? '').trim().replace(/^["']|["']$/g, '');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0]! : String(error);
}

function positionOfByte(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that breaks UTF-8, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
