/**
 * Text for one Markdown table cell (or any inline text): Markdown punctuation is escaped, including
 * `|` so a value cannot split the cell, control characters are dropped and newlines become `<br>`.
 */
export function escapeCell(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
      .replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`)
      .replace(/\r\n|\r|\n/g, '<br>')
  );
}
