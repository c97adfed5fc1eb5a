/**
 * The progress display of --wait, on stderr. On a terminal: one line redrawn in place (spinner, state, elapsed
 * time). Otherwise (a log, a pipe): one line per state change, so logs stay readable.
 */
import { formatDuration } from './table';

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export class Progress {
  private state = '';
  private elapsedMs = 0;
  private frame = 0;
  private timer?: NodeJS.Timeout;
  private lastTick = 0;
  private lastLine = '';

  constructor(
    private readonly out: ProgressStream,
    private readonly label: string,
    private readonly now: () => number = () => Date.now(),
    /** Redraw interval on a TTY; 0 = redraw only on update(). */
    spinMs = 100,
  ) {
    if (out.isTTY && spinMs > 0) {
      this.timer = setInterval(() => this.tick(), spinMs);
      this.timer.unref();
    }
  }

  update(state: string, elapsedMs: number): void {
    const changed = state !== this.state;
    this.state = state;
    this.elapsedMs = elapsedMs;
    this.lastTick = this.now();
    if (this.out.isTTY) this.draw();
    else if (changed) this.writeLine(`${this.label}: ${state} (${formatDuration(elapsedMs)})`);
  }

  private tick(): void {
    if (!this.state) return;
    this.frame = (this.frame + 1) % FRAMES.length;
    this.draw(this.now() - this.lastTick);
  }

  private draw(sinceUpdate = 0): void {
    this.out.write(`\r\x1b[K${FRAMES[this.frame]} ${this.label}: ${this.state} (${formatDuration(this.elapsedMs + sinceUpdate)})`);
  }

  /** Ends the display with one final line (e.g. "VM web-1: running (12.3s)"). */
  finish(line: string): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.out.isTTY) this.out.write('\r\x1b[K');
    if (this.out.isTTY || line !== this.lastLine) this.writeLine(line);
  }

  private writeLine(line: string): void {
    this.lastLine = line;
    this.out.write(line + '\n');
  }
}
