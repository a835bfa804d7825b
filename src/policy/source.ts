/** A path into a YAML document: mapping keys and sequence indexes, from the root. */
export type SourcePath = readonly (string | number)[];

/**
 * 1-based line and column, as GitHub annotations and editors count them. Columns count UTF-16 code units;
 * the end is exclusive (the position just after the node), as SARIF expects.
 */
export interface SourceRange {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
}

export function formatRange(range: SourceRange): string {
  return `${range.file}:${range.line}:${range.column}`;
}

/** The first character of a file: where problems with the file as a whole are reported. */
export function fileStart(file: string): SourceRange {
  return { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
}
