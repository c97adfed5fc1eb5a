import { IntervalHistogram, monitorEventLoopDelay } from 'perf_hooks';

const LOOP_RESOLUTION_MS = 10;

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
export type Summary = Quantiles & {
  count: number;
  attempt: Quantiles;
  committed: Quantiles;
  warm?: Quantiles & { warmup: number; count: number; attempt: Quantiles; committed: Quantiles };
  steps?: Record<string, Quantiles>;
  /** How late the event loop ran its timers (ms): what any work of this process waited for the process itself. */
  eventLoopDelay?: Quantiles;
  counters: Record<string, number>;
};

/**
 * Decision latencies of this replica (ms), for the benchmark and the shutdown log line, two clocks per placement:
 * - in replica: from the moment the message is handed to the handler to the decision committed and published
 *   (includes the wait for the replica's next batch under a backlog);
 * - attempt: from the moment the scheduler starts deciding the request (its batch, or its one-by-one round) to
 *   the same end — what kube-scheduler calls the scheduling attempt duration;
 * - committed: from the same start to the decision committed in the database (the claim: from then on it is
 *   durable and will be published, by a redelivery if need be) — the attempt without the wait for JetStream to
 *   acknowledge vm.scheduled.
 * Both are also kept for the placements after the first `warmup` of this replica (SCHEDULER_STATS_WARMUP, 0 by
 * default): a benchmark can show the warm figures (JIT compiled, host view loaded) beside the cold ones.
 */
export class DecisionStats {
  private readonly inReplica = new Sample();
  private readonly attempt = new Sample();
  private readonly warmInReplica = new Sample();
  private readonly warmAttempt = new Sample();
  private readonly committed = new Sample();
  private readonly warmCommitted = new Sample();
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private seen = 0;
  /** Time spent in named steps of a decision (batch: view, plan, claim, publish), each a sample of its own. */
  private readonly steps = new Map<string, Sample>();
  /** Named counters (batch placement: batches, batched, one-by-one, lost claims). */
  readonly counters: Record<string, number> = {};

  constructor(private readonly warmup = 0) {
    this.loop.enable();
  }

  add(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /**
   * One placement: `ms` in the replica, `attemptMs` deciding it (the same when nothing waited before),
   * `committedMs` from the start of deciding to the commit (the whole attempt when not told).
   */
  record(ms: number, attemptMs = ms, committedMs = attemptMs): void {
    this.inReplica.add(ms);
    this.attempt.add(attemptMs);
    this.committed.add(committedMs);
    if (++this.seen > this.warmup) {
      this.warmInReplica.add(ms);
      this.warmAttempt.add(attemptMs);
      this.warmCommitted.add(committedMs);
    }
  }

  /** One step of a decision took `ms` (where the time of a decision goes). */
  step(name: string, ms: number): void {
    let s = this.steps.get(name);
    if (!s) this.steps.set(name, (s = new Sample(50_000)));
    s.add(ms);
  }

  summary(): Summary {
    const warm = { warmup: this.warmup, count: this.warmAttempt.count, ...this.warmInReplica.quantiles(), attempt: this.warmAttempt.quantiles(), committed: this.warmCommitted.quantiles() };
    const steps = Object.fromEntries([...this.steps].map(([k, v]) => [k, v.quantiles()]));
    // The histogram holds the intervals between its timer's runs: an on-time run is LOOP_RESOLUTION_MS.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
    const h = this.loop;
    const eventLoopDelay = h.count ? { p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max) } : undefined;
    return {
      count: this.inReplica.count,
      ...this.inReplica.quantiles(),
      attempt: this.attempt.quantiles(),
      committed: this.committed.quantiles(),
      ...(this.warmup > 0 ? { warm } : {}),
      ...(this.steps.size ? { steps } : {}),
      ...(eventLoopDelay ? { eventLoopDelay } : {}),
      counters: this.counters,
    };
  }

  /** Stops the event-loop delay monitor (its timer would otherwise keep running). */
  close(): void {
    this.loop.disable();
  }
}
