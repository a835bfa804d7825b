import { isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { SourcePath, SourceRange } from './source.ts';

export const YAML_LIMITS = {
  /** Policies are small; anything larger is a mistake or an attack. */
  maxBytes: 1024 * 1024,
  maxDocuments: 100,
  /** Alias expansions per document: enough for real anchors, far too few for a billion laughs. */
  maxAliasCount: 100,
};

export interface YamlDocument {
  file: string;
  /** 0-based position of the document in its file */
  index: number;
  value: unknown;
  /** Range of the node at path; for a path that does not exist, the deepest node that does. */
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
  const badByte = firstInvalidUtf8(bytes);
  if (badByte !== -1) {
    const { line, column } = positionOfByte(bytes, badByte);
    return fail(
      'yaml/encoding',
      `not valid UTF-8: byte 0x${bytes[badByte]!.toString(16).padStart(2, '0')} at offset ${badByte}`,
      'Save the file as UTF-8.',
      at(line, column),
    );
  }
  let text = new TextDecoder('utf-8').decode(bytes);
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const lineCounter = new LineCounter();
  let docs: ReturnType<typeof parseAllDocuments>;
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false, strict: true });
  } catch (error) {
    return fail(
      'yaml/unparsable',
      `cannot be parsed: ${describe(error)}`,
      'Simplify the YAML (nesting depth, size).',
    );
  }
  const list = Array.isArray(docs) ? docs : [];
  const rangeOf = (start: number, end: number): SourceRange => {
    const a = lineCounter.linePos(start);
    const b = lineCounter.linePos(Math.max(start, end));
    return { file, line: a.line, column: a.col, endLine: b.line, endColumn: b.col };
  };

  const problems: YamlProblem[] = [];
  const documents: YamlDocument[] = [];
  if (list.length > YAML_LIMITS.maxDocuments) {
    return fail(
      'yaml/too-many-documents',
      `${list.length} documents; the limit is ${YAML_LIMITS.maxDocuments}`,
      'Split the file.',
    );
  }
  list.forEach((doc, index) => {
    const errors = [...doc.errors, ...doc.warnings.filter((w) => w.code === 'DUPLICATE_KEY')];
    if (errors.length > 0) {
      for (const error of errors) {
        problems.push({
          ruleId: error.code === 'DUPLICATE_KEY' ? 'yaml/duplicate-key' : 'yaml/syntax',
          message:
            error.code === 'DUPLICATE_KEY'
              ? `duplicate key \`${keyAt(text, error.pos[0])}\``
              : firstLine(error.message),
          remediation:
            error.code === 'DUPLICATE_KEY'
              ? 'Keep one of the two keys: YAML parsers disagree on which one wins.'
              : 'Fix the YAML syntax at this position.',
          location: rangeOf(error.pos[0], error.pos[1]),
        });
      }
      return;
    }
    if (doc.contents === null) return; // an empty document (e.g. a trailing `---`)
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    } catch (error) {
      const alias = /alias/i.test(describe(error));
      const node = doc.contents as Node;
      problems.push({
        ruleId: alias ? 'yaml/alias-limit' : 'yaml/unparsable',
        message: alias
          ? `aliases expand past the limit of ${YAML_LIMITS.maxAliasCount} (an alias bomb?)`
          : `cannot be read: ${describe(error)}`,
        remediation: alias ? 'Write the values out instead of nesting aliases.' : 'Simplify the YAML.',
        location: rangeOf(node.range?.[0] ?? 0, node.range?.[0] ?? 0),
      });
      return;
    }
    documents.push({
      file,
      index,
      value,
      locate(path, options) {
        const found = nodeAt(doc.contents as Node, path, options?.key ?? false);
        const range = found?.range ?? (doc.contents as Node).range ?? [0, 0, 0];
        return rangeOf(range[0], range[1]);
      },
    });
  });
  return { documents, problems };
}

/**
 * Follows path through maps and sequences. Where the path stops early (a key that is missing), the answer
 * is the key that holds the deepest existing mapping (`retention:`), not the mapping's first child.
 */
function nodeAt(root: Node, path: SourcePath, wantKey: boolean): Node | undefined {
  let node: Node | undefined = root;
  let heldBy: Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) return heldBy ?? node;
      if (last && wantKey && isScalar(pair.key)) return pair.key;
      const next = pair.value as Node | null;
      if (!next?.range) return isScalar(pair.key) ? pair.key : node;
      node = next;
      heldBy = isScalar(pair.key) ? pair.key : undefined;
    } else if (isSeq(node) && typeof step === 'number') {
      const next = node.items[step] as Node | undefined;
      if (!next) return heldBy ?? node;
      node = next;
      heldBy = undefined;
    } else {
      return heldBy ?? node;
    }
  }
  return node;
}

function keyAt(text: string, offset: number): string {
  const match = /^\s*("[^"]*"|'[^']*'|[^:\n]*)/.exec(text.slice(offset, offset + 200));
  return (match?.[1] ?? '').trim().replace(/^["']|["']$/g, '');
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
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
