/** Human sizes and durations for terminal lines. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** How often progress lines come: RESTORABLE_PROGRESS_INTERVAL seconds, else 5 s. */
export function progressInterval(env: NodeJS.ProcessEnv): number {
  const value = Number(env.RESTORABLE_PROGRESS_INTERVAL);
  return Number.isFinite(value) && value >= 0 && env.RESTORABLE_PROGRESS_INTERVAL !== ''
    ? value * 1000
    : 5000;
}

/**
 * Prints a progress line at most every `intervalMs` (RESTORABLE_PROGRESS_INTERVAL, default 5 s): count, bytes,
 * rate and, when the total is known, an ETA.
 */
export class ProgressPrinter {
  private readonly started = Date.now();
  private last = Date.now();
  private readonly intervalMs: number;
  private readonly write: (line: string) => void;

  constructor(write: (line: string) => void, intervalMs = 5000) {
    this.write = write;
    this.intervalMs = intervalMs;
  }

  /** A count of items (packs read, say) out of a known total, with an ETA. */
  count(label: string, done: number, total: number, unit: string): void {
    if (!this.due()) return;
    const elapsed = Date.now() - this.started;
    const eta = done > 0 && total > done ? `, ETA ${formatSeconds((elapsed / done) * (total - done))}` : '';
    this.write(`${label}: ${done} of ${total} ${unit}, ${formatSeconds(elapsed)}${eta}`);
  }

  private due(): boolean {
    const now = Date.now();
    if (now - this.last < this.intervalMs) return false;
    this.last = now;
    return true;
  }

  update(label: string, files: number, bytes: number, total?: number): void {
    if (!this.due()) return;
    const now = Date.now();
    const elapsed = (now - this.started) / 1000;
    const rate = elapsed > 0 ? bytes / elapsed : 0;
    let line = `${label}: ${files} files, ${formatBytes(bytes)}`;
    if (total !== undefined && total > 0)
      line += ` of ${formatBytes(total)} (${Math.min(100, (100 * bytes) / total).toFixed(0)}%)`;
    line += `, ${formatBytes(rate)}/s, ${formatSeconds(elapsed * 1000)}`;
    if (total !== undefined && rate > 0 && total > bytes)
      line += `, ETA ${formatSeconds(((total - bytes) / rate) * 1000)}`;
    this.write(line);
  }
}
