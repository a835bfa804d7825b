#!/usr/bin/env node
// Prints the tables of bench/backup from its results file.
//
//   node bench/backup.d/table.mjs <results.tsv> <tool>...
//
// The results file has one `tool<TAB>metric<TAB>value` line per figure. Metrics: backup1_s, backup2_s,
// restore_s (seconds), stored_bytes, backup1_kb, backup2_kb, restore_kb (peak RSS), verify (OK or FAIL),
// stream_s, stream_kb, stream_stored_bytes. A metric given more than once (BENCH_ROUNDS) prints the median of
// its values, and verify prints OK only when every round was OK. A figure that is missing prints n/a.
import { readFileSync } from 'node:fs';

const [file, ...tools] = process.argv.slice(2);
if (!file || tools.length === 0) {
  console.error('usage: node bench/backup.d/table.mjs <results.tsv> <tool>...');
  process.exit(2);
}

/** Every value of each `tool<TAB>metric`, in the order of the rounds. */
const results = new Map();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const [tool, metric, value] = line.split('\t');
  if (tool && metric && value !== undefined && value !== '') {
    const key = `${tool}\t${metric}`;
    results.set(key, [...(results.get(key) ?? []), value]);
  }
}
const values = (tool, metric) => results.get(`${tool}\t${metric}`) ?? [];
const get = (tool, metric) => {
  const all = values(tool, metric);
  if (all.length === 0) return undefined;
  return all.every((value) => value === all[0]) ? all[0] : all.includes('FAIL') ? 'FAIL' : all.at(-1);
};
const median = (numbers) => {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const number = (tool, metric) => {
  const all = values(tool, metric).map(Number);
  return all.length === 0 ? undefined : median(all);
};
const rounds = Math.max(0, ...tools.map((tool) => values(tool, 'backup1_s').length));

const NAMES = { tar: 'tar|zstd|gpg', restic: 'restic', borg: 'borg', restorable: 'restorable' };
const MiB = 1024 * 1024;

const seconds = (metric) => (tool) => number(tool, metric);
const mib = (metric) => (tool) => {
  const bytes = number(tool, metric);
  return bytes === undefined ? undefined : bytes / MiB;
};
const peakMib =
  (...metrics) =>
  (tool) => {
    const kbs = metrics.map((m) => number(tool, m)).filter((v) => v !== undefined);
    return kbs.length === 0 ? undefined : Math.max(...kbs) / 1024;
  };

const format = (value, digits) =>
  value === undefined || Number.isNaN(value) ? 'n/a' : value.toFixed(digits);
const ratio = (a, b) =>
  a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0
    ? 'n/a'
    : `${(a / b).toFixed(2)}x`;

function table(title, rows, columns, names = NAMES) {
  const withRatio = columns.includes('restorable') && columns.includes('restic');
  const header = [title, ...columns.map((t) => names[t] ?? t), ...(withRatio ? ['restorable/restic'] : [])];
  const body = rows.map(([label, value, digits]) => {
    if (typeof digits === 'string')
      return [label, ...columns.map((t) => value(t) ?? 'n/a'), ...(withRatio ? [''] : [])];
    const cells = columns.map((t) => format(value(t), digits));
    return [label, ...cells, ...(withRatio ? [ratio(value('restorable'), value('restic'))] : [])];
  });
  const widths = header.map((_, i) => Math.max(...[header, ...body].map((row) => row[i].length)));
  const line = (row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of body) console.log(line(row));
}

table(
  'corpus',
  [
    ['first backup s', seconds('backup1_s'), 1],
    ['second backup s', seconds('backup2_s'), 1],
    ['restore s', seconds('restore_s'), 1],
    ['stored MiB', mib('stored_bytes'), 1],
    ['peak MiB (backup)', peakMib('backup1_kb', 'backup2_kb'), 0],
    ['peak MiB (restore)', peakMib('restore_kb'), 0],
    ['restore identical', (tool) => get(tool, 'verify'), 'text'],
  ],
  tools,
);

if (rounds > 1 && tools.includes('restorable') && tools.includes('restic')) {
  // The spread behind the medians: restorable/restic within each round, where both ran under the same load.
  console.log('');
  console.log(
    `restorable/restic in each of ${rounds} rounds (the medians above are of each tool's ${rounds} runs):`,
  );
  for (const [label, metric] of [
    ['first backup', 'backup1_s'],
    ['second backup', 'backup2_s'],
    ['restore', 'restore_s'],
  ]) {
    const ours = values('restorable', metric).map(Number);
    const theirs = values('restic', metric).map(Number);
    const each = ours.map((value, i) => ratio(value, theirs[i]));
    console.log(`  ${label.padEnd(14)} ${each.join('  ')}`);
  }
}

const streamTools = tools.filter((t) => t === 'restorable' || t === 'restic');
if (streamTools.some((t) => get(t, 'stream_bytes') !== undefined)) {
  const gib = Math.max(...streamTools.map((t) => number(t, 'stream_bytes') ?? 0)) / (1024 * MiB);
  console.log('');
  table(
    `stream of ${gib.toFixed(gib < 1 ? 2 : 0)} GiB`,
    [
      ['backup s', seconds('stream_s'), 1],
      ['peak MiB', peakMib('stream_kb'), 0],
      ['stored MiB', mib('stream_stored_bytes'), 1],
    ],
    streamTools,
    { ...NAMES, restic: 'restic --stdin' },
  );
}
