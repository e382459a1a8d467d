/**
 * Progress bars on stderr for long steps: done/total, images/s and ETA. On a terminal the bar redraws in place;
 * elsewhere (CI logs, pipes) it prints a line at most every few seconds so logs stay readable.
 */
export interface ProgressOptions {
  /** What is being counted, e.g. "img". */
  unit?: string;
  /** Suppress all output (for --json). */
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

function fmtTime(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export class Progress {
  private readonly t0 = performance.now();
  private lastDraw = 0;
  private done = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    private readonly opts: ProgressOptions = {},
  ) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
  }

  /** Sets the count done (and an optional note such as the current loss) and redraws when due. */
  update(done: number, note = ''): void {
    this.done = done;
    const now = performance.now();
    if (now - this.lastDraw < (this.tty ? 100 : 5000) && done !== this.total) return;
    this.lastDraw = now;
    this.draw(note);
  }

  private draw(note: string): void {
    if (this.opts.quiet) return;
    const elapsed = (performance.now() - this.t0) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const unit = this.opts.unit ?? 'it';
    let line: string;
    if (this.total) {
      const frac = Math.min(1, this.done / this.total);
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
      const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
      line = `${this.label} ${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${this.done}/${this.total} ${unit} · ${rate.toFixed(1)} ${unit}/s · ${fmtTime(elapsed)} elapsed · ETA ${fmtTime(eta)}`;
    } else {
      line = `${this.label} ${this.done} ${unit} · ${rate.toFixed(1)} ${unit}/s · ${fmtTime(elapsed)} elapsed`;
    }
    if (note) line += ` · ${note}`;
    this.stream.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Draws the final state and ends the line. */
  finish(note = ''): void {
    if (this.finished) return;
    this.finished = true;
    this.draw(note);
    if (this.tty && !this.opts.quiet) this.stream.write('\n');
  }
}
