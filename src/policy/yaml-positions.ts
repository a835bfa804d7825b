import type { SourcePath } from './source.ts';

/**
 * Where each node of a YAML document sits in the text, rebuilt from js-yaml's open/close parse events.
 * js-yaml parses an order of magnitude faster than parsers that keep a full syntax tree; these events
 * are all we need to point a finding at its line and column.
 */
export interface PositionNode {
  /** Offset where js-yaml started the node (possibly before white space or comments). */
  open: number;
  /** Offset just past the node. */
  close: number;
  result: unknown;
  children: PositionNode[];
}

const NO_CHILDREN: PositionNode[] = [];

/** Collects the nodes of every document of a text, in document order. */
export class PositionRecorder {
  readonly documents: PositionNode[] = [];
  private readonly stack: PositionNode[] = [];

  onEvent = (event: 'open' | 'close', state: { position: number; result: unknown }): void => {
    if (event === 'open') {
      this.stack.push({
        open: state.position,
        close: state.position,
        result: undefined,
        children: NO_CHILDREN,
      });
      return;
    }
    const node = this.stack.pop();
    if (!node) return;
    node.close = state.position;
    node.result = state.result;
    const parent = this.stack[this.stack.length - 1];
    if (!parent) this.documents.push(node);
    // Most nodes are scalars: they share one empty list until a child arrives.
    else if (parent.children === NO_CHILDREN) parent.children = [node];
    else parent.children.push(node);
  };
}

/** First offset at or after `from` that is not white space, a line break or a comment. */
export function skipBlank(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xfeff) i++;
    else if (c === 0x23 /* # */ && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text.charCodeAt(i) !== 0x0a) i++;
    } else break;
  }
  return i;
}

/** Offset just past the last character of the node that is not white space. */
export function trimEnd(text: string, start: number, end: number): number {
  let i = Math.min(end, text.length);
  while (i > start && /\s/.test(text[i - 1]!)) i--;
  return Math.max(i, start);
}

/** A mapping child is a key when a `:` follows it on the same line. */
function isKey(text: string, node: PositionNode): boolean {
  let i = node.close;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  return text.charCodeAt(i) === 0x3a;
}

type Pair = { key: PositionNode; value?: PositionNode };
const pairCache = new WeakMap<PositionNode, Pair[]>();

function pairsOf(text: string, node: PositionNode): Pair[] {
  const cached = pairCache.get(node);
  if (cached) return cached;
  const pairs: Pair[] = [];
  pairCache.set(node, pairs);
  let pending: Pair | undefined;
  for (const child of node.children) {
    if (isKey(text, child)) {
      pending = { key: child };
      pairs.push(pending);
    } else if (pending) {
      pending.value = child;
      pending = undefined;
    }
  }
  return pairs;
}

/**
 * The node at path, or where the path stops early, the key holding the deepest mapping that exists
 * (`retention:` for a missing `retention.maximum`).
 */
export function findNode(text: string, root: PositionNode, path: SourcePath, wantKey: boolean): PositionNode {
  let node = root;
  let heldBy: PositionNode | undefined;
  for (let i = 0; i < path.length; i++) {
    const step = path[i];
    const result = node.result;
    if (Array.isArray(result)) {
      const child =
        typeof step === 'number' && node.children.length === result.length ? node.children[step] : undefined;
      if (!child) return heldBy ?? node;
      node = child;
      heldBy = undefined;
    } else if (typeof result === 'object' && result !== null) {
      const pair = pairsOf(text, node).find((p) => String(p.key.result) === String(step));
      if (!pair) return heldBy ?? node;
      if ((i === path.length - 1 && wantKey) || !pair.value) return pair.key;
      node = pair.value;
      heldBy = pair.key;
    } else {
      return heldBy ?? node;
    }
  }
  return node;
}

/** 1-based line and column of offsets, by binary search over line starts. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}
