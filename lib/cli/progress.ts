/**
 * A progress bar on stderr — only when stderr is a terminal and the run has lasted about a second
 * (short runs stay quiet), redrawn at most ten times a second: count, rate, ETA when the total is
 * known. Off a terminal nothing is drawn; the command prints its summary line instead.
 * NARSIGN_NO_PROGRESS=1 turns the bar off; NARSIGN_PROGRESS_DELAY_MS sets the quiet first period
 * (default 1000; the tests set 0 to see the bar on a small cache).
 */
export interface Progress {
  /** Called with the running totals; cheap enough to call per file. */
  update(done: number, total?: number): void;
  /** Clears the bar (the caller then prints its summary). */
  stop(): void;
}

const QUIET: Progress = { update() {}, stop() {} };

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, delayMs = defaultDelayMs()): Progress {
  if (!stream.isTTY || process.env.NARSIGN_NO_PROGRESS) return QUIET;
  const started = Date.now();
  let lastDraw = 0;
  let drawn = false;
  const draw = (done: number, total?: number) => {
    const elapsed = (Date.now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const width = Math.max(10, Math.min(30, (stream.columns ?? 80) - 60));
    let text = `${label} ${done}`;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      const filled = Math.round(fraction * width);
      const eta = rate > 0 ? Math.max(0, (total - done) / rate) : 0;
      text = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${Math.round(fraction * 100)}%  ${formatRate(rate)}  ETA ${formatSeconds(eta)}`;
    } else {
      text += `  ${formatRate(rate)}  ${formatSeconds(elapsed)}`;
    }
    stream.write(`\r\x1b[2K${text}`);
    drawn = true;
  };
  return {
    update(done, total) {
      const now = Date.now();
      if (now - started < delayMs || now - lastDraw < 100) return;
      lastDraw = now;
      draw(done, total);
    },
    stop() {
      if (drawn) stream.write('\r\x1b[2K');
    },
  };
}

function defaultDelayMs(): number {
  const value = process.env.NARSIGN_PROGRESS_DELAY_MS;
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : 1000;
}

function formatRate(perSecond: number): string {
  return `${perSecond >= 1000 ? `${(perSecond / 1000).toFixed(1)}k` : Math.round(perSecond)}/s`;
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${Math.round(seconds - m * 60)} s`;
}
