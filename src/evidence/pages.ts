import { formatBytes } from '../cli/format.ts';
import type { Control } from '../controls/control.ts';
import { formatDuration } from '../policy/duration.ts';
import type { PagesHook, PagesInput } from './branch.ts';
import type { EvidenceKind, EvidenceRecord, Measurements, Outcome } from './record.ts';
import { type ControlRef, type EvidenceState, type KindState, NO_SYSTEM, type RecordRef } from './state.ts';

/**
 * The auditor's view of the evidence branch: Markdown pages that GitHub renders, regenerated in the same
 * commit as each record (a PagesHook), from state.json and the pages as they were, never from old records:
 *
 * - `README.md`: the newest record's sequence and SHA-256, the signing key, the control matrix (control ×
 *   system: status, date, link to the record), the newest runs per system, and how to verify;
 * - `systems/<name>.md`: one system's backups, drills and prunes with their measurements, newest first; the
 *   newest TIMELINE_ROWS rows, older ones moved to `systems/<name>/older-NNNNNN.md` pages of as many rows;
 * - `controls/<id>.md`: one control's title, description, criteria and remediation, its newest result per
 *   system, and its history (one row per record that evaluated it), archived in the same way;
 * - `systems.md`: every system, when there are more than README_SYSTEMS (the README lists that many).
 *
 * An append reads at most the pages it rewrites (one system page and its newest archive page, or the pages
 * of the controls the record evaluated) in one `git cat-file --batch`. See docs/evidence-format.md.
 */

/** Rows a timeline page keeps before its oldest move to an archive page; also the rows of an archive page. */
export const TIMELINE_ROWS = 200;
/** Systems the control matrix shows as columns; beyond that it is a summary per control. */
export const MATRIX_COLUMNS = 10;
/** Systems the README lists; beyond that they are listed in systems.md. */
export const README_SYSTEMS = 100;
/** Systems a control page lists by name (failing ones first). */
export const CONTROL_PAGE_SYSTEMS = 200;

export const TIMELINE_KINDS: readonly EvidenceKind[] = ['backup', 'drill', 'prune'];

/** What the pages say about a control: from the control library. */
export interface ControlInfo {
  id: string;
  title: string;
  description?: string;
  severity?: string;
  evaluation?: 'static' | 'runtime';
  criteria?: { soc2?: string[]; iso27001?: string[]; nist80053?: string[] };
  remediation?: string;
  /** For run-time controls: the kind of evidence and the measure. */
  runtime?: { evidence: string; measure: string };
}

export interface AuditorPagesOptions {
  /** The repository whose profile selects the controls described (the shipped library plus its own). */
  root?: string;
  /** Its profile (default .restorable/config.yaml when present). */
  config?: string;
  /** The controls to describe, instead of loading them from `root`. */
  controls?: readonly ControlInfo[];
  /** Rows per timeline page (default TIMELINE_ROWS). */
  rows?: number;
}

/**
 * Control descriptions from the profile of `root` (the shipped library plus the organisation's own); empty
 * (the pages then show ids only) when they cannot be loaded. Loads the control library on first use only.
 */
export function controlInfos(root: string, config?: string): Promise<ControlInfo[]> {
  // Once per process and profile: a backup of many systems appends one record per system.
  const key = `${root}\0${config ?? ''}`;
  let loaded = loadedInfos.get(key);
  if (!loaded) {
    loaded = import('../commands/check.ts')
      .then(({ loadProfile }) => loadProfile(root, config).profile.controls.map(controlInfo))
      .catch(() => []);
    loadedInfos.set(key, loaded);
  }
  return loaded;
}

const loadedInfos = new Map<string, Promise<ControlInfo[]>>();

export function controlInfo(control: Control): ControlInfo {
  const { data } = control;
  const info: ControlInfo = {
    id: data.id,
    title: data.title,
    description: data.description,
    severity: control.severity,
    evaluation: data.check.static ? 'static' : 'runtime',
    criteria: data.criteria,
    remediation: data.remediation.replace(
      /\{param\.([A-Za-z0-9]+)\}/g,
      (m, n: string) => control.paramText[n] ?? m,
    ),
  };
  if (data.check.runtime) {
    info.runtime = { evidence: data.check.runtime.evidence, measure: data.check.runtime.measure };
  }
  return info;
}

/** The hook writeEvidence uses by default. */
export function auditorPages(options: AuditorPagesOptions = {}): PagesHook {
  let controls: Promise<Map<string, ControlInfo>> | undefined;
  const library = async () => {
    const list =
      options.controls ??
      (options.root !== undefined ? await controlInfos(options.root, options.config) : []);
    return new Map(list.map((c) => [c.id, c]));
  };
  return async (input) => {
    controls ??= library();
    return renderPages(input, await controls, options.rows ?? TIMELINE_ROWS);
  };
}

async function renderPages(
  input: PagesInput,
  controls: Map<string, ControlInfo>,
  rows: number,
): Promise<Record<string, string>> {
  const { record, state } = input;
  const pages: Record<string, string> = {};
  const updates: Promise<Record<string, string>>[] = [];
  if (TIMELINE_KINDS.includes(record.kind)) {
    for (const system of new Set(record.systems.map((s) => s.name))) {
      updates.push(systemPage(input, system, rows));
    }
  }
  const evaluated = new Map<string, NonNullable<EvidenceRecord['controls']>>();
  for (const entry of record.controls ?? []) {
    const list = evaluated.get(entry.id) ?? [];
    list.push(entry);
    evaluated.set(entry.id, list);
  }
  for (const [id, entries] of evaluated)
    updates.push(controlPage(input, id, entries, controls.get(id), rows));
  // Every control of the library has a page, even before it has a result (run-time ones never have).
  updates.push(
    input.list('controls').then((names) => {
      const present = new Set(names ?? []);
      const missing: Record<string, string> = {};
      for (const info of controls.values()) {
        const page = controlPagePath(info.id);
        if (!evaluated.has(info.id) && !present.has(page.slice('controls/'.length))) {
          missing[page] = emptyControlPage(info);
        }
      }
      return missing;
    }),
  );
  for (const files of await Promise.all(updates)) Object.assign(pages, files);
  pages['README.md'] = readme(input, controls);
  const systems = Object.keys(state.systems).sort();
  if (systems.length > README_SYSTEMS) pages['systems.md'] = systemsIndex(state, systems);
  return pages;
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown helpers

const NOTICE =
  '<!-- Generated by Restorable on every append, from state.json and the records; do not edit: the next append rewrites it. -->';

/** Text for a table cell: one line, no `|` or HTML, at most `max` characters. */
export function cell(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const short = flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
  return short
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([*_`[\]])/g, '\\$1');
}

/**
 * Markdown written by the control library (titles, descriptions, remediations), kept as Markdown: on one
 * line, with `|` and HTML escaped.
 */
function prose(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const SYMBOL: Record<string, string> = {
  success: '✅',
  pass: '✅',
  partial: '⚠️',
  failure: '❌',
  fail: '❌',
  'not-applicable': '➖',
};

/** `2025-01-02 06:00 UTC` */
function when(time: string): string {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(time)
    ? `${time.slice(0, 10)} ${time.slice(11, 16)} UTC`
    : time;
}

function day(time: string): string {
  return /^\d{4}-\d{2}-\d{2}/.test(time) ? time.slice(0, 10) : time;
}

/** A link to a record from a page `depth` directories below the root. */
function recordLink(
  ref: { sequence: number; file: string },
  depth: number,
  text = `#${ref.sequence}`,
): string {
  return `[${text}](${'../'.repeat(depth)}${ref.file})`;
}

/** The file name of a control's page: ids may hold `/` (problem rules), which becomes `~`. */
export function controlPagePath(id: string): string {
  return `controls/${id.replace(/\//g, '~')}.md`;
}

export function systemPagePath(system: string): string {
  return `systems/${system}.md`;
}

function controlLabel(id: string, info: ControlInfo | undefined, depth: number): string {
  const link = `[${cell(id)}](${'../'.repeat(depth)}${controlPagePath(id)})`;
  return info ? `${link} ${prose(info.title)}` : link;
}

/** A system's name, linked to its page when it has one (a system with only check records has none). */
function systemLabel(system: string, depth: number, state: EvidenceState): string {
  if (system === NO_SYSTEM) return '(policy-wide)';
  const kinds = state.systems[system];
  const hasPage = TIMELINE_KINDS.some((kind) => kinds?.[kind] !== undefined);
  return hasPage ? `[${system}](${'../'.repeat(depth)}${systemPagePath(system)})` : system;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function milliseconds(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatDuration(Math.round(ms / 1000));
}

function seconds(s: number): string {
  return Number.isFinite(s) && s >= 0 ? formatDuration(Math.round(s)) : String(s);
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The measurements of a record, in a few words. */
export function describeMeasurements(m: Measurements | undefined): string {
  if (!m) return '';
  const parts: string[] = [];
  if (isNumber(m.files)) parts.push(`${count(m.files)} files`);
  if (isNumber(m.bytes)) parts.push(`size ${formatBytes(m.bytes)}`);
  if (isNumber(m.bytesRead)) parts.push(`${formatBytes(m.bytesRead)} read`);
  if (isNumber(m.bytesAdded)) parts.push(`${formatBytes(m.bytesAdded)} added`);
  if (isNumber(m.bytesStored)) parts.push(`${formatBytes(m.bytesStored)} stored`);
  if (isNumber(m.bytesDeleted)) parts.push(`${formatBytes(m.bytesDeleted)} freed`);
  if (isNumber(m.kept)) parts.push(`${count(m.kept)} kept`);
  if (isNumber(m.disposals) && m.disposals > 0) parts.push(`${count(m.disposals)} past the maximum`);
  if (isNumber(m.repositoryBytesFreed))
    parts.push(`${formatBytes(m.repositoryBytesFreed)} freed in the repository`);
  if (isNumber(m.durationMs)) parts.push(`took ${milliseconds(m.durationMs)}`);
  if (isNumber(m.restoreDurationMs)) parts.push(`restored in ${milliseconds(m.restoreDurationMs)}`);
  if (typeof m.verified === 'boolean') parts.push(m.verified ? 'verified complete' : 'NOT verified');
  if (isNumber(m.snapshotAgeSeconds)) parts.push(`snapshot ${seconds(m.snapshotAgeSeconds)} old`);
  if (Array.isArray(m.steps) && m.steps.length > 0) {
    const passed = m.steps.filter(
      (step) => (step as { status?: unknown } | null)?.status === 'passed',
    ).length;
    parts.push(`${passed} of ${m.steps.length} verify step${m.steps.length === 1 ? '' : 's'} passed`);
  }
  for (const [name, objective] of [
    ['RPO', m.rpo],
    ['RTO', m.rto],
  ] as const) {
    if (!objective || typeof objective !== 'object') continue;
    const target = isNumber(objective.targetSeconds) ? seconds(objective.targetSeconds) : undefined;
    const achieved = isNumber(objective.achievedSeconds) ? seconds(objective.achievedSeconds) : undefined;
    if (target && achieved) parts.push(`${name} ${achieved} (target ${target})`);
    else if (achieved) parts.push(`${name} ${achieved}`);
    else if (target) parts.push(`${name} target ${target}`);
  }
  if (Array.isArray(m.snapshots) && m.snapshots.length > 0) {
    const ids = m.snapshots
      .slice(0, 3)
      .map((s) => `${s?.repository ?? '?'}:${String(s?.id ?? '?').slice(0, 12)}`)
      .join(', ');
    parts.push(`snapshot${m.snapshots.length === 1 ? '' : 's'} ${ids}${m.snapshots.length > 3 ? ' …' : ''}`);
  }
  if (Array.isArray(m.deleted)) parts.push(`${count(m.deleted.length)} snapshots deleted`);
  if (isNumber(m.kept)) parts.push(`${count(m.kept)} kept`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------------------------
// Timelines: a table of rows, newest first, on a page; overflow moves to archive pages of the same size.

const MARKER = /^<!-- restorable:timeline((?: [a-z]+=[0-9]+)*) -->$/;
const END = '<!-- restorable:timeline-end -->';

interface Timeline {
  rows: string[];
  /** Archive pages written so far, and the rows on the newest. */
  archives: number;
  archiveRows: number;
  /** The sequence of the first record on this timeline, when it started on a branch that already had some. */
  since?: number;
}

/** The timeline held by a page's text; undefined when there is none. */
export function parseTimeline(text: string | undefined): Timeline | undefined {
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const start = lines.findIndex((line) => MARKER.test(line));
  if (start < 0) return undefined;
  const fields = new Map(
    [...lines[start]!.matchAll(/ ([a-z]+)=([0-9]+)/g)].map((m) => [m[1]!, Number(m[2])] as const),
  );
  const rows: string[] = [];
  // The marker, then the table's header and separator lines, then the rows.
  for (let i = start + 3; i < lines.length && lines[i] !== END; i++) {
    if (lines[i]!.startsWith('|')) rows.push(lines[i]!);
  }
  const timeline: Timeline = {
    rows,
    archives: fields.get('archives') ?? 0,
    archiveRows: fields.get('archiverows') ?? 0,
  };
  const since = fields.get('since');
  if (since !== undefined) timeline.since = since;
  return timeline;
}

function timelineBlock(header: string[], timeline: Timeline): string {
  const fields = [`archives=${timeline.archives}`, `archiverows=${timeline.archiveRows}`];
  if (timeline.since !== undefined) fields.push(`since=${timeline.since}`);
  return [`<!-- restorable:timeline ${fields.join(' ')} -->`, table(header, []), ...timeline.rows, END].join(
    '\n',
  );
}

interface TimelineSpec {
  /** The page, one directory below the root (`systems/db.md`). */
  page: string;
  /** Its archive pages' directory (`systems/db`), two below the root. */
  archiveDir: string;
  header: string[];
  rows: number;
  /** The whole page, around its timeline block. */
  render(block: string, timeline: Timeline): string;
  /** An archive page, around its timeline block. */
  renderArchive(block: string, number: number): string;
  /** Whether earlier records may exist that a new timeline does not show. */
  startsLate: boolean;
  sequence: number;
}

export function archivePagePath(archiveDir: string, number: number): string {
  return `${archiveDir}/older-${String(number).padStart(6, '0')}.md`;
}

/** Adds `newRows` (newest first) to a timeline page; returns the files to write. */
async function addRows(
  spec: TimelineSpec,
  newRows: string[],
  read: PagesInput['read'],
): Promise<Record<string, string>> {
  const previous = parseTimeline((await read(spec.page))?.toString('utf8'));
  const timeline: Timeline = previous ?? { rows: [], archives: 0, archiveRows: 0 };
  if (!previous && spec.startsLate) timeline.since = spec.sequence;
  timeline.rows = [...newRows, ...timeline.rows];
  const files: Record<string, string> = {};
  const overflow = timeline.rows.splice(spec.rows);
  // Moved rows are two directories deep on an archive page instead of one.
  const moved = overflow.map((row) => row.replaceAll('](../', '](../../'));
  while (moved.length > 0) {
    let number = timeline.archives;
    let archive: Timeline;
    if (number > 0 && timeline.archiveRows < spec.rows) {
      const path = archivePagePath(spec.archiveDir, number);
      archive =
        files[path] !== undefined
          ? parseTimeline(files[path])!
          : (parseTimeline((await read(path))?.toString('utf8')) ?? {
              rows: [],
              archives: 0,
              archiveRows: 0,
            });
    } else {
      number += 1;
      archive = { rows: [], archives: 0, archiveRows: 0 };
    }
    const room = spec.rows - archive.rows.length;
    // The moved rows are newer than the archive's: they go on top, the oldest of them first to fill it.
    const taken = moved.splice(Math.max(0, moved.length - room));
    archive.rows = [...taken, ...archive.rows];
    files[archivePagePath(spec.archiveDir, number)] = spec.renderArchive(
      timelineBlock(spec.header, archive),
      number,
    );
    timeline.archives = number;
    timeline.archiveRows = archive.rows.length;
  }
  files[spec.page] = spec.render(timelineBlock(spec.header, timeline), timeline);
  return files;
}

function archiveLinks(base: string, timeline: Timeline): string {
  if (timeline.archives === 0) return '';
  const links: string[] = [];
  for (let n = timeline.archives; n >= 1 && links.length < 50; n--) {
    links.push(`[${n}](${archivePagePath(base, n)})`);
  }
  const more = timeline.archives > 50 ? ` … (${timeline.archives - 50} more, in ${base}/)` : '';
  return `Older rows, newest pages first: ${links.join(' · ')}${more}.`;
}

// ---------------------------------------------------------------------------------------------------------------
// System pages

const SYSTEM_HEADER = ['record', 'time (UTC)', 'kind', 'outcome', 'measurements', 'note'];

function outcome(value: Outcome | string): string {
  return `${SYMBOL[value] ?? ''} ${value}`.trim();
}

function systemRow(record: EvidenceRecord, file: string): string {
  const cells = [
    recordLink({ sequence: record.sequence, file }, 1),
    when(record.time),
    record.kind,
    outcome(record.outcome),
    cell(describeMeasurements(record.measurements), 300),
    cell(record.message ?? ''),
  ];
  return `| ${cells.join(' | ')} |`;
}

function latestCell(kind: KindState | undefined, which: 'last' | 'lastSuccess', depth: number): string {
  const ref: RecordRef | undefined = kind?.[which];
  if (!ref) return '—';
  const symbol = which === 'last' ? `${SYMBOL[ref.outcome] ?? ''} ` : '';
  return `${symbol}${recordLink(ref, depth, day(ref.time))}`;
}

async function systemPage(input: PagesInput, system: string, rows: number): Promise<Record<string, string>> {
  const { record, state, previousState } = input;
  const kinds = state.systems[system] ?? {};
  const policy = record.systems.find((s) => s.name === system)?.policy;
  const before = previousState?.systems[system];
  return addRows(
    {
      page: systemPagePath(system),
      archiveDir: `systems/${system}`,
      header: SYSTEM_HEADER,
      rows,
      startsLate: TIMELINE_KINDS.some((kind) => before?.[kind] !== undefined),
      sequence: record.sequence,
      render: (block, timeline) =>
        [
          `# ${system}`,
          NOTICE,
          `${policy ? `Policy \`${cell(policy)}\`. ` : ''}[Evidence overview](../README.md) · every record of this system is named \`records/*/*-KIND-${system}.json\`.`,
          '## Newest runs',
          table(
            ['kind', 'newest run', 'newest success'],
            TIMELINE_KINDS.map((kind) => [
              kind,
              latestCell(kinds[kind], 'last', 1),
              latestCell(kinds[kind], 'lastSuccess', 1),
            ]),
          ),
          '## Timeline',
          [
            `Backups, drills and prunes, newest first (the newest ${rows} here).`,
            timeline.since !== undefined
              ? `This page was started at record #${timeline.since}; earlier runs of this system are under [records/](../records/).`
              : '',
            archiveLinks(system, timeline),
          ]
            .filter(Boolean)
            .join(' '),
          block,
          '',
        ].join('\n\n'),
      renderArchive: (block, number) =>
        [
          `# ${system}: older runs, page ${number}`,
          NOTICE,
          `Newest first. Newer runs: [${system}](../${system}.md)${number > 1 ? ` · older: [page ${number - 1}](${archivePagePath('.', number - 1).slice(2)})` : ''}.`,
          block,
          '',
        ].join('\n\n'),
    },
    [systemRow(record, input.file)],
    input.read,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Control pages

const CONTROL_HEADER = ['record', 'time (UTC)', 'kind', 'results', 'failing'];

function controlRow(
  record: EvidenceRecord,
  file: string,
  entries: NonNullable<EvidenceRecord['controls']>,
): string {
  const tally = { pass: 0, fail: 0, 'not-applicable': 0 };
  for (const entry of entries) tally[entry.status]++;
  const results = (['pass', 'fail', 'not-applicable'] as const)
    .filter((status) => tally[status] > 0)
    .map(
      (status) => `${SYMBOL[status]} ${count(tally[status])} ${status === 'not-applicable' ? 'n/a' : status}`,
    )
    .join(' · ');
  const failing = entries.filter((e) => e.status === 'fail');
  const named = failing
    .slice(0, 5)
    .map((e) => {
      const who = e.system ?? 'policy-wide';
      return entries.length === 1 && e.message ? `${who}: ${e.message}` : who;
    })
    .join(', ');
  const note = failing.length > 5 ? `${named} and ${failing.length - 5} more` : named;
  const cells = [
    recordLink({ sequence: record.sequence, file }, 1),
    when(record.time),
    record.kind,
    results,
    cell(note, 300),
  ];
  return `| ${cells.join(' | ')} |`;
}

function describeControl(id: string, info: ControlInfo | undefined): string[] {
  if (!info) {
    return [
      `# ${cell(id)}`,
      NOTICE,
      '[Evidence overview](../README.md). This control is not in the control library of the repository that wrote the newest record here; its results are as recorded.',
    ];
  }
  const criteria = info.criteria ?? {};
  const facts: [string, string][] = [
    ['severity', info.severity ?? ''],
    [
      'evaluated',
      info.evaluation === 'runtime'
        ? `at run time, by \`restorable status\`, from the newest ${info.runtime?.evidence ?? ''} evidence (\`${info.runtime?.measure ?? ''}\`)`
        : 'statically, by `restorable check`, on every policy',
    ],
    ['SOC 2', (criteria.soc2 ?? []).join(', ')],
    ['ISO/IEC 27001:2022', (criteria.iso27001 ?? []).join(', ')],
    ['NIST SP 800-53', (criteria.nist80053 ?? []).join(', ')],
    ['remediation', info.remediation ?? ''],
  ];
  return [
    `# ${cell(id)}: ${prose(info.title)}`,
    NOTICE,
    '[Evidence overview](../README.md)',
    ...(info.description ? [`> ${prose(info.description)}`] : []),
    table(
      ['', ''],
      facts.filter(([, value]) => value !== '').map(([name, value]) => [name, prose(value)]),
    ),
  ];
}

function currentResults(results: Record<string, ControlRef>, state: EvidenceState): string {
  const systems = Object.keys(results).sort();
  const order = (s: string) => (results[s]!.status === 'fail' ? 0 : 1);
  const listed = [...systems]
    .sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1))
    .slice(0, CONTROL_PAGE_SYSTEMS);
  const rows = listed
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((system) => {
      const ref = results[system]!;
      return [
        systemLabel(system, 1, state),
        outcome(ref.status),
        recordLink(ref, 1, day(ref.time)),
        cell(ref.message ?? ''),
      ];
    });
  const rest = systems.length - listed.length;
  const tally = { pass: 0, fail: 0, 'not-applicable': 0 };
  for (const system of systems) tally[results[system]!.status]++;
  return [
    `${count(systems.length)} system${systems.length === 1 ? '' : 's'}: ${tally.pass} pass, ${tally.fail} fail, ${tally['not-applicable']} not applicable.${rest > 0 ? ` ${rest} passing or not applicable systems are not listed.` : ''}`,
    table(['system', 'status', 'date', 'message'], rows),
  ].join('\n\n');
}

/** The page of a control that has no recorded result yet. */
function emptyControlPage(info: ControlInfo): string {
  return [
    ...describeControl(info.id, info),
    '## Results',
    info.evaluation === 'runtime'
      ? 'A run-time control: `restorable status` evaluates it against the newest backup and drill records of each system (the system pages list them). No record on this branch holds its result.'
      : 'No record on this branch holds a result of this control yet: `restorable check` records them.',
    '',
  ].join('\n\n');
}

async function controlPage(
  input: PagesInput,
  id: string,
  entries: NonNullable<EvidenceRecord['controls']>,
  info: ControlInfo | undefined,
  rows: number,
): Promise<Record<string, string>> {
  const { record, state, previousState } = input;
  const page = controlPagePath(id);
  const archiveDir = page.slice(0, -'.md'.length);
  const base = archiveDir.slice('controls/'.length);
  return addRows(
    {
      page,
      archiveDir,
      header: CONTROL_HEADER,
      rows,
      startsLate: previousState !== undefined && previousState.controls[id] !== undefined,
      sequence: record.sequence,
      render: (block, timeline) =>
        [
          ...describeControl(id, info),
          '## Newest result per system',
          currentResults(state.controls[id] ?? {}, state),
          '## History',
          [
            `Every record that evaluated ${cell(id)}, newest first (the newest ${rows} here).`,
            timeline.since !== undefined
              ? `This page was started at record #${timeline.since}; earlier results are in the records under [records/](../records/).`
              : '',
            archiveLinks(base, timeline),
          ]
            .filter(Boolean)
            .join(' '),
          block,
          '',
        ].join('\n\n'),
      renderArchive: (block, number) =>
        [
          `# ${cell(id)}: older history, page ${number}`,
          NOTICE,
          `Newest first. Newer: [${cell(id)}](../${base}.md)${number > 1 ? ` · older: [page ${number - 1}](${archivePagePath('.', number - 1).slice(2)})` : ''}.`,
          block,
          '',
        ].join('\n\n'),
    },
    [controlRow(record, input.file, entries)],
    input.read,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// README.md and systems.md

function systemRows(state: EvidenceState, systems: string[], depth: number): string[][] {
  return systems.map((system) => {
    const kinds = state.systems[system] ?? {};
    return [
      systemLabel(system, depth, state),
      latestCell(kinds.backup, 'last', depth),
      latestCell(kinds.backup, 'lastSuccess', depth),
      latestCell(kinds.drill, 'last', depth),
      latestCell(kinds.drill, 'lastSuccess', depth),
      latestCell(kinds.prune, 'last', depth),
    ];
  });
}

const SYSTEMS_HEADER = [
  'system',
  'newest backup',
  'newest good backup',
  'newest drill',
  'newest passed drill',
  'newest prune',
];

function systemsIndex(state: EvidenceState, systems: string[]): string {
  return [
    '# Systems',
    NOTICE,
    `[Evidence overview](README.md). ${count(systems.length)} systems, with their newest runs.`,
    table(SYSTEMS_HEADER, systemRows(state, systems, 0)),
    '',
  ].join('\n\n');
}

function matrixCell(ref: ControlRef | undefined): string {
  if (!ref) return '—';
  return `${SYMBOL[ref.status] ?? ''} ${recordLink(ref, 0, day(ref.time))}`;
}

function controlMatrix(state: EvidenceState, controls: Map<string, ControlInfo>): string {
  const ids = Object.keys(state.controls).sort();
  if (ids.length === 0) {
    return 'No control results recorded yet: `restorable check` records them when it writes evidence.';
  }
  const systems = [...new Set(ids.flatMap((id) => Object.keys(state.controls[id]!)))].sort();
  if (systems.length <= MATRIX_COLUMNS) {
    return [
      'The newest result of each control on each system, and the record it comes from (✅ pass, ❌ fail, ➖ not applicable, — never evaluated).',
      table(
        ['control', ...systems.map((s) => systemLabel(s, 0, state))],
        ids.map((id) => [
          controlLabel(id, controls.get(id), 0),
          ...systems.map((s) => matrixCell(state.controls[id]![s])),
        ]),
      ),
    ].join('\n\n');
  }
  return [
    `${count(systems.length)} systems: too many for one table. Per control, how many systems pass and fail, and which fail; each control's page lists its newest result on every system.`,
    table(
      ['control', 'pass', 'fail', 'n/a', 'failing', 'newest result'],
      ids.map((id) => {
        const results = state.controls[id]!;
        const tally = { pass: 0, fail: 0, 'not-applicable': 0 };
        let newest: ControlRef | undefined;
        const failing: string[] = [];
        for (const [system, ref] of Object.entries(results)) {
          tally[ref.status]++;
          if (ref.status === 'fail') failing.push(system === NO_SYSTEM ? '(policy-wide)' : system);
          if (!newest || ref.sequence > newest.sequence) newest = ref;
        }
        failing.sort();
        return [
          controlLabel(id, controls.get(id), 0),
          count(tally.pass),
          tally.fail > 0 ? `❌ ${count(tally.fail)}` : '0',
          count(tally['not-applicable']),
          cell(
            failing.length > 5
              ? `${failing.slice(0, 5).join(', ')} and ${failing.length - 5} more`
              : failing.join(', '),
          ),
          newest ? recordLink(newest, 0, day(newest.time)) : '—',
        ];
      }),
    ),
  ].join('\n\n');
}

function runtimeSection(controls: Map<string, ControlInfo>): string {
  const runtime = [...controls.values()]
    .filter((c) => c.evaluation === 'runtime')
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  if (runtime.length === 0) return '';
  return [
    '## Run-time controls',
    '`restorable status` evaluates these against the newest backup and drill records of each system (see each system page), and fails a scheduled workflow when one is violated:',
    table(
      ['control', 'from', 'measure'],
      runtime.map((c) => [
        controlLabel(c.id, c, 0),
        c.runtime?.evidence ?? '',
        `\`${c.runtime?.measure ?? ''}\``,
      ]),
    ),
  ].join('\n\n');
}

function verifySection(input: PagesInput): string {
  const { state, branch } = input;
  const head = state.head;
  const fpr = state.signingKey;
  return [
    '## How to verify',
    `Every file under \`records/\` is one run, in canonical JSON, with a detached OpenPGP signature beside it (\`.json.asc\`); each record holds the SHA-256 of the one before (\`previous\`). Nothing on this branch is trusted for itself: the key must be the one whose fingerprint is pinned in \`.restorable/config.yaml\` on the default branch (\`evidence.signingKey.fingerprint\`), and this page, \`state.json\` and the other pages are derived from the records. Note the newest record's SHA-256 above: a later verification must still find that record, unchanged.`,
    'With Restorable, every signature, link, file name and commit of the branch:',
    [
      '```sh',
      'npx restorable evidence verify --remote origin',
      `npx restorable evidence verify --remote origin --branch ${branch} --fingerprint ${fpr}   # without the profile`,
      '```',
    ].join('\n'),
    'With git, gpg and sha256sum only:',
    [
      '```sh',
      `git fetch origin ${branch}`,
      `git worktree add ../evidence origin/${branch} && cd ../evidence`,
      '# A fresh gpg home: no other key of yours can vouch for a record.',
      'export GNUPGHOME=$(mktemp -d)',
      `gpg --import keys/${fpr}.asc && gpg --fingerprint ${fpr}       # compare with the pinned fingerprint`,
      '',
      '# The newest record: its signature, and the SHA-256 shown above.',
      `gpg --verify ${head.file}.asc ${head.file}`,
      `sha256sum ${head.file}      # ${head.sha256}`,
      '',
      '# Every record signed by the pinned key, not merely by some key gpg knows (prints nothing when all are).',
      'for f in records/*/*.json; do',
      `  gpg --status-fd 1 --verify "$f.asc" "$f" 2>/dev/null | grep -q "^\\[GNUPG:\\] VALIDSIG .* ${fpr}$" || echo "NOT SIGNED BY THE PINNED KEY: $f"`,
      'done',
      '',
      '# The chain: sequences 0, 1, 2 … and each "previous" the SHA-256 of the record before (prints nothing when whole).',
      'prev=null; n=0',
      'for f in $(ls records/*/*.json | sort); do',
      '  s=$(jq -r .sequence "$f"); [ "$s" = "$n" ] || echo "GAP OR DUPLICATE at $f"',
      '  [ "$(jq -r .previous "$f")" = "$prev" ] || echo "BROKEN CHAIN before $f"',
      '  prev=$(sha256sum "$f" | cut -d\' \' -f1); n=$((s + 1))',
      'done',
      '',
      '# No commit ever modified, deleted or renamed a record (prints nothing).',
      `git log --no-renames --diff-filter=MDT --format=%H --name-status origin/${branch} -- records/`,
      '```',
    ].join('\n'),
    "What each of these proves, and what `restorable status` checks, is explained in Restorable's `docs/auditor-guide.md`.",
  ].join('\n\n');
}

function readme(input: PagesInput, controls: Map<string, ControlInfo>): string {
  const { state, record } = input;
  const head = state.head;
  const systems = Object.keys(state.systems).sort();
  const listed = systems.slice(0, README_SYSTEMS);
  const repository = record.run.repository;
  const headSystems = record.systems.map((s) => s.name);
  const about =
    headSystems.length === 1
      ? ` of ${headSystems[0]}`
      : headSystems.length > 1
        ? ` of ${headSystems.length} systems`
        : '';
  return [
    `# Backup and DR evidence${repository ? `: ${cell(repository)}` : ''}`,
    NOTICE,
    'This branch holds a signed, hash-chained record of every `check`, `backup`, `drill` and `prune` run by Restorable. Records are only ever added: each is signed with the key below and carries the SHA-256 of the record before it, so an edit, a deletion or a reordering breaks a signature or a link.',
    table(
      ['', ''],
      [
        ['records', `${count(state.count)} (#0 to #${head.sequence})`],
        [
          'newest record',
          `${recordLink(head, 0)}: ${head.kind}${about}, ${outcome(head.outcome)}, ${when(head.time)}`,
        ],
        ['newest record SHA-256', `\`${head.sha256}\``],
        ['signing key', `[\`${state.signingKey}\`](keys/${state.signingKey}.asc)`],
        ['index', '[state.json](state.json): the newest record per system, kind and control'],
      ],
    ),
    '## Control matrix',
    controlMatrix(state, controls),
    runtimeSection(controls),
    '## Systems',
    systems.length === 0
      ? 'No system has a record yet.'
      : [
          `The newest runs of each system (✅ success, ⚠️ partial, ❌ failure); its page has the timeline.${systems.length > listed.length ? ` The first ${listed.length} of ${count(systems.length)} systems; all are listed in [systems.md](systems.md).` : ''}`,
          table(SYSTEMS_HEADER, systemRows(state, listed, 0)),
        ].join('\n\n'),
    verifySection(input),
    '',
  ]
    .filter((part) => part !== '')
    .join('\n\n')
    .concat('\n');
}
