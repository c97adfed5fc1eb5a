/** Decision latencies of this replica (ms), for the benchmark and the shutdown log line. */
export class DecisionStats {
  private samples: number[] = [];
  private count = 0;
  private readonly max = 200_000;
  /** Named counters (batch placement: batches, batched, one-by-one, lost claims). */
  readonly counters: Record<string, number> = {};

  add(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  record(ms: number): void {
    this.count++;
    if (this.samples.length < this.max) this.samples.push(ms);
    else this.samples[Math.floor(Math.random() * this.count) % this.max] = ms;
  }

  summary(): { count: number; p50: number; p90: number; p99: number; max: number; counters: Record<string, number> } {
    const s = [...this.samples].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0);
    return { count: this.count, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1] : 0, counters: this.counters };
  }
}
