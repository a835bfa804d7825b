/** A path into a YAML document: mapping keys and sequence indexes, from the root. */
export type SourcePath = readonly (string | number)[];

/** 1-based line and column, as GitHub annotations and editors count them. */
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
