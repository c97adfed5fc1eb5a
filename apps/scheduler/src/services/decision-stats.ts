/** A bounded sample of latencies (ms): reservoir sampling beyond `max` values. */
class Sample {
  private values: number[] = [];
  count = 0;

  constructor(private readonly max = 200_000) {}

  add(ms: number): void {
    this.count++;
    if (this.values.length < this.max) this.values.push(ms);
    else this.values[Math.floor(Math.random() * this.count) % this.max] = ms;
  }

  quantiles(): { p50: number; p90: number; p99: number; max: number } {
    const s = [...this.values].sort((a, b) => a - b);
    const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0);
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s.length ? s[s.length - 1] : 0 };
  }
}

type Quantiles = { p50: number; p90: number; p99: number; max: number };
export type Summary = Quantiles & { count: number; attempt: Quantiles; warm?: Quantiles & { warmup: number; count: number; attempt: Quantiles }; steps?: Record<string, Quantiles>; counters: Record<string, number> };

/**
 * Decision latencies of this replica (ms), for the benchmark and the shutdown log line, two clocks per placement:
 * - in replica: from the moment the message is handed to the handler to the decision committed and published
 *   (includes the wait for the replica's next batch under a backlog);
 * - attempt: from the moment the scheduler starts deciding the request (its batch, or its one-by-one round) to
 *   the same end — what kube-scheduler calls the scheduling attempt duration.
 * Both are also kept for the placements after the first `warmup` of this replica (SCHEDULER_STATS_WARMUP, 0 by
 * default): a benchmark can show the warm figures (JIT compiled, host view loaded) beside the cold ones.
 */
export class DecisionStats {
  private readonly inReplica = new Sample();
  private readonly attempt = new Sample();
  private readonly warmInReplica = new Sample();
  private readonly warmAttempt = new Sample();
  private seen = 0;
  /** Time spent in named steps of a decision (batch: view, plan, claim, publish), each a sample of its own. */
  private readonly steps = new Map<string, Sample>();
  /** Named counters (batch placement: batches, batched, one-by-one, lost claims). */
  readonly counters: Record<string, number> = {};

  constructor(private readonly warmup = 0) {}

  add(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** One placement: `ms` in the replica, `attemptMs` deciding it (the same when nothing waited before). */
  record(ms: number, attemptMs = ms): void {
    this.inReplica.add(ms);
    this.attempt.add(attemptMs);
    if (++this.seen > this.warmup) {
      this.warmInReplica.add(ms);
      this.warmAttempt.add(attemptMs);
    }
  }

  /** One step of a decision took `ms` (where the time of a decision goes). */
  step(name: string, ms: number): void {
    let s = this.steps.get(name);
    if (!s) this.steps.set(name, (s = new Sample(50_000)));
    s.add(ms);
  }

  summary(): Summary {
    const warm = { warmup: this.warmup, count: this.warmAttempt.count, ...this.warmInReplica.quantiles(), attempt: this.warmAttempt.quantiles() };
    const steps = Object.fromEntries([...this.steps].map(([k, v]) => [k, v.quantiles()]));
    return { count: this.inReplica.count, ...this.inReplica.quantiles(), attempt: this.attempt.quantiles(), ...(this.warmup > 0 ? { warm } : {}), ...(this.steps.size ? { steps } : {}), counters: this.counters };
  }
}
