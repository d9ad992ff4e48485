/** Progress events of a backfill. */
export interface BackfillProgress {
  phase: 'exporting' | 'loading' | 'scoring';
  done: number;
  total: number;
}

/** Writes progress to a terminal (bar, rate, ETA) or a log file (plain lines). */
export interface ProgressReporter {
  update(progress: BackfillProgress): void;
  finish(): void;
}

/** Formats seconds as `1h02m`, `3m05s` or `12s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * One progress line: `scoring [#####.....] 512/1000 51% 23.4/s ETA 21s`. Rate is over the phase
 * so far (patients or files per second since the phase began).
 */
export function progressLine(p: BackfillProgress, elapsedSeconds: number, barWidth = 0): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
  const rate = elapsedSeconds > 0 ? p.done / elapsedSeconds : 0;
  const eta = rate > 0 ? (p.total - p.done) / rate : Number.POSITIVE_INFINITY;
  const bar = barWidth > 0 ? ` [${'#'.repeat(Math.round(fraction * barWidth)).padEnd(barWidth, '.')}]` : '';
  return `${p.phase}${bar} ${p.done}/${p.total} ${Math.floor(fraction * 100)}% ${rate.toFixed(1)}/s ETA ${formatDuration(eta)}`;
}

/**
 * A reporter for `stream`: on a TTY it redraws one line (at most 10 times a second); otherwise it
 * prints a plain line at most every `intervalMs` and at each phase's end, so CI logs stay short.
 */
export function createProgressReporter(
  stream: { write(text: string): unknown; isTTY?: boolean },
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressReporter {
  const now = options.now ?? (() => Date.now());
  const interval = stream.isTTY ? 100 : (options.intervalMs ?? 5000);
  let phase: string | undefined;
  let phaseStart = now();
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  return {
    update(p) {
      if (p.phase !== phase) {
        if (drawn && stream.isTTY) stream.write('\n');
        phase = p.phase;
        phaseStart = now();
        last = Number.NEGATIVE_INFINITY;
      }
      const t = now();
      const complete = p.done >= p.total;
      if (!complete && t - last < interval) return;
      last = t;
      const line = progressLine(p, (t - phaseStart) / 1000, stream.isTTY ? 30 : 0);
      stream.write(stream.isTTY ? `\r${line}\u001b[K` : `${line}\n`);
      drawn = true;
    },
    finish() {
      if (drawn && stream.isTTY) stream.write('\n');
    },
  };
}
