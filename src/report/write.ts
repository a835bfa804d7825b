import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { CheckReport } from '../controls/result.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { renderSarif } from './sarif.ts';

export interface ReportPaths {
  sarif?: string;
  junit?: string;
  json?: string;
}

/** Writes the requested report files (paths relative to root); returns their absolute paths. */
export function writeReports(report: CheckReport, root: string, paths: ReportPaths): ReportPaths {
  const written: ReportPaths = {};
  const write = (key: keyof ReportPaths, render: () => string) => {
    const path = paths[key];
    if (!path) return;
    const absolute = resolve(root, path);
    mkdirSync(dirname(absolute), { recursive: true });
    writeFileSync(absolute, render());
    written[key] = absolute;
  };
  write('sarif', () => `${JSON.stringify(renderSarif(report), null, 2)}\n`);
  write('junit', () => renderJunit(report));
  write('json', () => renderJson(report));
  return written;
}
