#!/usr/bin/env node
// The figures of bench/drill: read from what the tools print, and the tables.
//
//   node bench/drill.d/results.mjs drill <drill.json> <files> <bytes>
//   node bench/drill.d/results.mjs restic <restic.log>
//   node bench/drill.d/results.mjs table <results.tsv> <mode>...
//
// drill: checks `restorable drill --json`'s report (one system, status passed, verified, every file and
// byte of the corpus restored) and prints `metric<TAB>value` lines: restore_s, verify_s, total_s (its
// restoreMs, integrityMs, restoreDurationMs). A report that fails the check prints why on stderr, exit 1.
// restic: prints `verify_s<TAB>value` from the `finished verifying N files in DIR (took 1.234s)` line of
// `restic restore --verify -v`, if there is one.
// table: one markdown table per mode (warm, cold) from the `tool<TAB>mode<TAB>run<TAB>metric<TAB>value`
// lines of bench/drill: the median of the runs, and their minimum in brackets when there are several; then
// the goal (restorable's median wall time no longer than restic's) per mode: `within` or `missed`.
import { readFileSync } from 'node:fs';

const USAGE = `usage:
  node bench/drill.d/results.mjs drill <drill.json> <files> <bytes>
  node bench/drill.d/results.mjs restic <restic.log>
  node bench/drill.d/results.mjs table <results.tsv> <mode>...`;

const seconds = (ms) => (typeof ms === 'number' ? (ms / 1000).toFixed(3) : undefined);

function drill(file, files, bytes) {
  let report;
  try {
    report = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`the drill printed no JSON report in ${file}: ${error.message}`);
    process.exit(1);
  }
  const systems = report.systems ?? [];
  const problems = [];
  if (systems.length !== 1) problems.push(`${systems.length} systems in the report, not 1`);
  const result = systems[0] ?? {};
  const m = result.measurements ?? {};
  if (result.status !== 'passed') {
    problems.push(
      `status ${result.status}${result.failures?.length ? `: ${result.failures.join('; ')}` : ''}`,
    );
  }
  if (m.verified !== true) problems.push(`verified ${m.verified}`);
  if (m.files !== Number(files)) problems.push(`${m.files} files restored, the corpus has ${files}`);
  if (m.bytes !== Number(bytes)) problems.push(`${m.bytes} bytes restored, the corpus has ${bytes}`);
  for (const key of ['restoreMs', 'integrityMs', 'restoreDurationMs']) {
    if (typeof m[key] !== 'number') problems.push(`no ${key} in the measurements`);
  }
  if (problems.length > 0) {
    console.error(`the drill did not pass the bench's check: ${problems.join('; ')}`);
    process.exit(1);
  }
  console.log(
    [
      ['restore_s', seconds(m.restoreMs)],
      ['verify_s', seconds(m.integrityMs)],
      ['total_s', seconds(m.restoreDurationMs)],
    ]
      .map((pair) => pair.join('\t'))
      .join('\n'),
  );
}

/** Go's time.Duration.String() (1m2.5s, 1.234s, 950ms) in seconds; undefined if it is not one. */
function goDuration(text) {
  const units = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 };
  if (!/^([0-9.]+(h|ms|m|s|us|µs|ns))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, n, unit] of text.matchAll(/([0-9.]+)(h|ms|m|s|us|µs|ns)/g)) total += Number(n) * units[unit];
  return total;
}

function restic(file) {
  const match = /finished verifying \d+ files in .* \(took ([^)]+)\)/.exec(readFileSync(file, 'utf8'));
  const secs = match ? goDuration(match[1]) : undefined;
  if (secs !== undefined) console.log(`verify_s\t${secs.toFixed(3)}`);
}

function table(file, modes) {
  const values = new Map(); // tool, mode, metric -> numbers, one per run
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [tool, mode, , metric, value] = line.split('\t');
    if (!metric || value === undefined || value === '') continue;
    const key = `${tool}\t${mode}\t${metric}`;
    if (!values.has(key)) values.set(key, []);
    values.get(key).push(Number(value));
  }
  const runs = (tool, mode, metric) => values.get(`${tool}\t${mode}\t${metric}`) ?? [];
  const median = (list) => {
    if (list.length === 0) return undefined;
    const sorted = [...list].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const ROWS = [
    ['wall time s', 'wall_s', 1, 2],
    ['restore part s', 'restore_s', 1, 2],
    ['verify part s', 'verify_s', 1, 2],
    ['drill s (in-process)', 'total_s', 1, 2],
    ['user CPU s', 'user_s', 1, 2],
    ['system CPU s', 'sys_s', 1, 2],
    ['peak MiB', 'kb', 1 / 1024, 0],
  ];
  const goals = [];
  for (const mode of modes) {
    const n = Math.max(0, ...['restorable', 'restic'].map((tool) => runs(tool, mode, 'wall_s').length));
    if (n === 0) continue;
    const cell = (tool, metric, scale, digits) => {
      const list = runs(tool, mode, metric).map((v) => v * scale);
      if (list.length === 0) return { text: 'n/a' };
      const med = median(list);
      const min = Math.min(...list);
      const text = list.length > 1 ? `${med.toFixed(digits)} (${min.toFixed(digits)})` : med.toFixed(digits);
      return { text, med };
    };
    const lines = [
      ['', 'restorable', 'restic', 'restorable/restic'],
      ...ROWS.map(([label, metric, scale, digits]) => {
        const a = cell('restorable', metric, scale, digits);
        const b = cell('restic', metric, scale, digits);
        const ratio =
          a.med !== undefined && b.med !== undefined && b.med > 0 ? `${(a.med / b.med).toFixed(2)}x` : 'n/a';
        return [label, a.text, b.text, ratio];
      }),
    ];
    const title =
      mode === 'warm'
        ? 'page cache warm (nothing dropped)'
        : 'page cache dropped before each run (sync; echo 3 > /proc/sys/vm/drop_caches)';
    console.log(`${title}: ${n === 1 ? '1 run' : `median of ${n} runs (min)`}\n`);
    const widths = lines[0].map((_, i) => Math.max(3, ...lines.map((row) => row[i].length)));
    const row = (cells) =>
      `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
    console.log(row(lines[0]));
    console.log(
      `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`,
    );
    for (const cells of lines.slice(1)) console.log(row(cells));
    console.log();
    const a = cell('restorable', 'wall_s', 1, 2).med;
    const b = cell('restic', 'wall_s', 1, 2).med;
    if (a !== undefined && b !== undefined) {
      goals.push(`${mode} ${a <= b ? 'within' : 'missed'} (${a.toFixed(2)} s against ${b.toFixed(2)} s)`);
    } else {
      goals.push(`${mode} n/a`);
    }
  }
  console.log(`goal, no slower than restic restore --verify (median wall time): ${goals.join('; ')}`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'drill' && args.length === 3) drill(...args);
else if (command === 'restic' && args.length === 1) restic(args[0]);
else if (command === 'table' && args.length >= 2) table(args[0], args.slice(1));
else {
  console.error(USAGE);
  process.exit(2);
}
