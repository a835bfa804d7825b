import type { CheckReport } from '../controls/result.ts';

/**
 * The report with every file path prefixed by `prefix` (a directory relative to the repository root):
 * the check reads paths relative to its working directory, but GitHub places annotations and code
 * scanning alerts by paths relative to the repository root.
 */
export function rebaseReport(report: CheckReport, prefix: string): CheckReport {
  const base = prefix
    .replace(/\\/g, '/')
    .replace(/^\.\/?/, '')
    .replace(/\/$/, '');
  if (base === '' || base === '.') return report;
  const join = (file: string) => (file === '.' ? base : `${base}/${file}`);
  const ranges = new Map<object, object>();
  return {
    ...report,
    files: report.files.map(join),
    systems: report.systems.map((s) => ({ ...s, file: join(s.file) })),
    findings: report.findings.map((f) => {
      let location = ranges.get(f.location) as typeof f.location | undefined;
      if (!location) {
        location = { ...f.location, file: join(f.location.file) };
        ranges.set(f.location, location);
      }
      return { ...f, location };
    }),
  };
}
