import * as core from '@actions/core';

/** A job summary section: a title, an optional paragraph, and a table. */
export async function writeSummary(
  title: string,
  header: string[],
  rows: string[][],
  intro?: string,
): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  const cellText = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const table = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(cellText).join(' | ')} |`),
  ].join('\n');
  const paragraph = intro ? `${intro}\n\n` : '';
  await core.summary.addRaw(`## Restorable: ${title}\n\n${paragraph}${table}\n`, true).write();
}
