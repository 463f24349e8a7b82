import { formatDuration, formatRate, progressBar as bar } from "../producers/run-progress.js";

/**
 * A progress bar on stderr for long commands (`facet dataset export`): on a terminal one line
 * redrawn at most 10 times a second; elsewhere (CI, a log file) a plain line every 10 seconds.
 */
export interface ProgressBar {
  update(done: number, note?: string): void;
  /** The final line (always printed). */
  finish(note?: string): void;
}

export function progressBar(label: string, total: number | undefined, stream: NodeJS.WriteStream = process.stderr): ProgressBar {
  const started = performance.now();
  const tty = Boolean(stream.isTTY);
  let last = 0;
  let latest = { done: 0, note: "" };
  const line = (done: number, note: string) => {
    const seconds = (performance.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const parts = [total ? `${done}/${total}` : `${done}`];
    if (total) parts.push(`${((100 * done) / total).toFixed(0)}%`);
    parts.push(formatRate(rate));
    if (total && rate > 0 && done < total) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
    if (note) parts.push(note);
    return `${label} ${total && tty ? `${bar(done / total, 20)} ` : ""}${parts.join(" · ")}`;
  };
  return {
    update(done, note = "") {
      latest = { done, note };
      const now = performance.now();
      if (now - last < (tty ? 100 : 10_000)) return;
      last = now;
      stream.write(tty ? `\r${line(done, note)}\x1b[K` : `${line(done, note)}\n`);
    },
    finish(note) {
      stream.write(`${tty ? "\r" : ""}${line(latest.done, note ?? latest.note)}${tty ? "\x1b[K" : ""}\n`);
    },
  };
}
