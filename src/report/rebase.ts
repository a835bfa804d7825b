import type { CheckReport, Finding, SystemRef } from '../controls/result.ts';
import type { SourceRange } from '../policy/source.ts';

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
  const ranges = new Map<SourceRange, SourceRange>();
  const at = (range: SourceRange): SourceRange => {
    let location = ranges.get(range);
    if (!location) {
      location = { ...range, file: join(range.file) };
      ranges.set(range, location);
    }
    return location;
  };
  const finding = (f: Finding): Finding => ({ ...f, location: at(f.location) });
  const system = (s: SystemRef): SystemRef => ({ ...s, file: join(s.file) });
  const { changes } = report;
  return {
    ...report,
    files: report.files.map(join),
    systems: report.systems.map(system),
    findings: report.findings.map(finding),
    ...(changes
      ? {
          changes: {
            ...changes,
            newFailures: changes.newFailures.map((c) => ({ ...c, finding: finding(c.finding) })),
            fixed: changes.fixed.map((c) => ({ ...c, finding: finding(c.finding) })),
            systemsAdded: changes.systemsAdded.map(system),
            systemsRemoved: changes.systemsRemoved.map(system),
            loosened: changes.loosened.map((t) => ({ ...t, location: at(t.location) })),
            tightened: changes.tightened.map((t) => ({ ...t, location: at(t.location) })),
          },
        }
      : {}),
  };
}
