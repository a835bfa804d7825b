import type { CheckReport, Finding, SystemRef } from '../controls/result.ts';
import { SEVERITIES } from '../controls/result.ts';
import { parseDuration } from '../policy/duration.ts';
import { loadPolicies } from '../policy/load-policies.ts';
import type { SystemData } from '../policy/model.ts';
import type { SourceRange } from '../policy/source.ts';

/**
 * What a change to the policies does, found by checking them as they are on the base commit and as they are
 * now: controls it makes fail, controls it fixes, systems added and removed, and recovery terms (RPO, RTO,
 * retention, copies, drill) it loosens or tightens. Findings are matched by control, policy and system, not
 * by line, so moving a block within a file is no change.
 */
export interface CheckChanges {
  base: { revision: string; commit: string };
  /** Failing now, and not failing on the base (passing, not applicable, or not there: a new system). */
  newFailures: ChangedFinding[];
  /** Failing on the base, and passing or not applicable now (on a system that still exists). */
  fixed: ChangedFinding[];
  /** Failing on both. */
  stillFailing: number;
  systemsAdded: SystemRef[];
  systemsRemoved: SystemRef[];
  loosened: TermChange[];
  tightened: TermChange[];
}

export interface ChangedFinding {
  /** The finding as it is now (new failures) or as it was on the base (fixed). */
  finding: Finding;
  /** For a new failure: whether the system (or file, for a problem) was on the base at all. */
  onBase: boolean;
}

export interface TermChange {
  policy: string;
  system: string;
  /** e.g. `rpo`, `retention.minimum`, `retention.keep.daily`, `repositories`, `drill`. */
  term: string;
  /** As written, or `none`. */
  before: string;
  after: string;
  /** Where the term is now (the system's name when the term was removed). */
  location: SourceRange;
}

/** Recovery terms of one system, in numbers that order from tight to loose. */
export interface SystemTerms {
  policy: string;
  system: string;
  terms: Map<string, Term>;
  repositories: Set<string>;
  repositoriesLocation: SourceRange;
  nameLocation: SourceRange;
}

interface Term {
  text: string;
  /** Larger is looser. */
  looseness: number;
  location: SourceRange;
}

/** The recovery terms of every schema-valid system in the report's files. */
export function readTerms(root: string, report: CheckReport): Map<string, SystemTerms> {
  const out = new Map<string, SystemTerms>();
  loadPolicies(root, report.files, (policy, valid) => {
    if (!valid) return;
    policy.data.systems.forEach((system, s) => {
      const at = (path: (string | number)[]) => policy.document.locate(['systems', s, ...path]);
      out.set(systemKey(policy.data.metadata.name, system.name), {
        policy: policy.data.metadata.name,
        system: system.name,
        terms: systemTerms(system, at),
        repositories: new Set(system.repositories),
        repositoriesLocation: at(['repositories']),
        nameLocation: at(['name']),
      });
    });
  });
  return out;
}

const KEEP = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

function systemTerms(system: SystemData, at: (path: (string | number)[]) => SourceRange): Map<string, Term> {
  const terms = new Map<string, Term>();
  // A bound that grows, or goes away, is looser: RPO and RTO are promises of at most so long.
  const atMost = (name: string, path: (string | number)[], text: string | undefined) => {
    const seconds = text === undefined ? undefined : parseDuration(text);
    if (seconds !== undefined) terms.set(name, { text: text!, looseness: seconds, location: at(path) });
  };
  // A minimum kept that shrinks, or goes away, is looser.
  const atLeast = (name: string, path: (string | number)[], value: number | undefined, text: string) => {
    if (value !== undefined) terms.set(name, { text, looseness: -value, location: at(path) });
  };
  atMost('rpo', ['rpo'], system.rpo);
  atMost('rto', ['rto'], system.rto);
  const retention = system.retention;
  if (retention) {
    const minimum = retention.minimum === undefined ? undefined : parseDuration(retention.minimum);
    atLeast('retention.minimum', ['retention', 'minimum'], minimum, retention.minimum ?? '');
    // A maximum bounds how long data may be kept (disposal): raising or dropping it keeps data longer.
    atMost('retention.maximum', ['retention', 'maximum'], retention.maximum);
    const within = retention.keep?.within;
    const withinSeconds = within === undefined ? undefined : parseDuration(within);
    atLeast('retention.keep.within', ['retention', 'keep', 'within'], withinSeconds, within ?? '');
    for (const rule of KEEP) {
      const count = retention.keep?.[rule];
      atLeast(`retention.keep.${rule}`, ['retention', 'keep', rule], count, String(count));
    }
  }
  if (system.drill) terms.set('drill', { text: 'declared', looseness: 0, location: at(['drill']) });
  return terms;
}

function systemKey(policy: string, system: string): string {
  return `${policy}\u0000${system}`;
}

/** Control findings by control, policy and system; problems by rule, file and message (lines shift). */
function findingKey(f: Finding): string {
  return f.kind === 'control'
    ? `c\u0000${f.ruleId}\u0000${f.policy ?? ''}\u0000${f.system ?? ''}`
    : `p\u0000${f.ruleId}\u0000${f.location.file}\u0000${f.message}`;
}

/** The worst finding under each key: a failure of the highest severity, else the first. */
function byKey(findings: readonly Finding[]): Map<string, Finding> {
  const out = new Map<string, Finding>();
  for (const f of findings) {
    const k = findingKey(f);
    const held = out.get(k);
    if (!held || rank(f) < rank(held)) out.set(k, f);
  }
  return out;
}

function rank(f: Finding): number {
  return f.status === 'fail'
    ? SEVERITIES.indexOf(f.severity)
    : SEVERITIES.length + (f.status === 'pass' ? 0 : 1);
}

export interface ChangesInput {
  base: { revision: string; commit: string; report: CheckReport; terms: Map<string, SystemTerms> };
  head: { report: CheckReport; terms: Map<string, SystemTerms> };
}

export function compareChecks(input: ChangesInput): CheckChanges {
  const { base, head } = input;
  const before = byKey(base.report.findings);
  const after = byKey(head.report.findings);
  const baseSystems = new Set(base.report.systems.map((s) => systemKey(s.policy, s.system)));
  const headSystems = new Set(head.report.systems.map((s) => systemKey(s.policy, s.system)));
  const baseFiles = new Set(base.report.files);

  const newFailures: ChangedFinding[] = [];
  const fixed: ChangedFinding[] = [];
  let stillFailing = 0;
  for (const [key, now] of after) {
    if (now.status !== 'fail') continue;
    const was = before.get(key);
    if (was?.status === 'fail') {
      stillFailing++;
      continue;
    }
    const onBase =
      now.kind === 'problem'
        ? baseFiles.has(now.location.file)
        : now.system === undefined
          ? base.report.systems.some((s) => s.policy === now.policy)
          : baseSystems.has(systemKey(now.policy ?? '', now.system));
    newFailures.push({ finding: now, onBase });
  }
  for (const [key, was] of before) {
    if (was.status !== 'fail') continue;
    const now = after.get(key);
    // A problem that is gone is fixed; a control is fixed only where it is still evaluated.
    if ((was.kind === 'problem' && now === undefined) || (now !== undefined && now.status !== 'fail')) {
      fixed.push({ finding: was, onBase: true });
    }
  }

  const loosened: TermChange[] = [];
  const tightened: TermChange[] = [];
  for (const [key, now] of head.terms) {
    const was = base.terms.get(key);
    if (!was) continue;
    const names = new Set([...was.terms.keys(), ...now.terms.keys()]);
    for (const term of names) {
      const a = was.terms.get(term);
      const b = now.terms.get(term);
      const change = (list: TermChange[]) =>
        list.push({
          policy: now.policy,
          system: now.system,
          term,
          before: a?.text ?? 'none',
          after: b?.text ?? 'none',
          location: b?.location ?? now.nameLocation,
        });
      if (a && b) {
        if (b.looseness > a.looseness) change(loosened);
        else if (b.looseness < a.looseness) change(tightened);
      } else if (a) {
        change(loosened);
      } else if (b) {
        change(tightened);
      }
    }
    const removed = [...was.repositories].filter((r) => !now.repositories.has(r));
    const added = [...now.repositories].filter((r) => !was.repositories.has(r));
    const repositoriesChange = (list: TermChange[]) =>
      list.push({
        policy: now.policy,
        system: now.system,
        term: 'repositories',
        before: [...was.repositories].join(', '),
        after: [...now.repositories].join(', '),
        location: now.repositoriesLocation,
      });
    // Fewer copies is looser; a copy swapped for another is neither, and is left to the controls.
    if (removed.length > 0 && now.repositories.size < was.repositories.size) repositoriesChange(loosened);
    else if (added.length > 0 && now.repositories.size > was.repositories.size) repositoriesChange(tightened);
  }

  const sortFindings = (list: ChangedFinding[]) =>
    list.sort(
      (x, y) =>
        SEVERITIES.indexOf(x.finding.severity) - SEVERITIES.indexOf(y.finding.severity) ||
        x.finding.ruleId.localeCompare(y.finding.ruleId) ||
        (x.finding.policy ?? '').localeCompare(y.finding.policy ?? '') ||
        (x.finding.system ?? '').localeCompare(y.finding.system ?? ''),
    );
  return {
    base: { revision: base.revision, commit: base.commit },
    newFailures: sortFindings(newFailures),
    fixed: sortFindings(fixed),
    stillFailing,
    systemsAdded: head.report.systems.filter((s) => !baseSystems.has(systemKey(s.policy, s.system))),
    systemsRemoved: base.report.systems
      .filter((s) => !headSystems.has(systemKey(s.policy, s.system)))
      .map((s) => ({ ...s })),
    loosened,
    tightened,
  };
}

export function hasChanges(changes: CheckChanges): boolean {
  return (
    changes.newFailures.length > 0 ||
    changes.fixed.length > 0 ||
    changes.systemsAdded.length > 0 ||
    changes.systemsRemoved.length > 0 ||
    changes.loosened.length > 0 ||
    changes.tightened.length > 0
  );
}
