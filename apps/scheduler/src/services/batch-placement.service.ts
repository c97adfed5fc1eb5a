import { Inject, Injectable, Logger } from '@nestjs/common';
import { performance } from 'perf_hooks';
import { DataSource } from 'typeorm';
import { DEFAULT_VM_PRIORITY } from '@minicloud/contracts';
import { planBatch, ShortLists } from '../placement/batch-plan';
import { Planner } from '../placement/planner';
import { PlacementRequest } from '../placement/types';
import { BatchClaim, BatchClaimResult, claimBatch } from '../persistence/batch-claim.repository';
import { Claim } from '../persistence';
import { SchedulerConfig } from './config';
import { DecisionStats } from './decision-stats';
import { HostCache } from './host-cache.service';
import { DecisionPublisher, VmRequested } from './publisher';
import { SchedulingService, toPlacementRequest } from './scheduling.service';
import { DECISION_STATS, PLANNER, SCHEDULER_CONFIG } from './tokens';

/** Plan-and-claim rounds of a batch before what is left goes the one-by-one way. */
const BATCH_ROUNDS = 3;

interface Waiting {
  event: VmRequested;
  req: PlacementRequest;
  t0: number;
  /** When its batch started being decided (the attempt clock). */
  tBatch?: number;
  /** When its claim committed. */
  tCommit?: number;
  done: () => void;
  fail: (err: unknown) => void;
}

/**
 * vm.requested in batches: the requests that arrived while the previous batch was being decided are planned
 * together against one view of the hosts (placement/batch-plan.ts), claimed in one statement (try-lock each VM
 * and check it is undecided, one multi-row compare-and-set: persistence/batch-claim.repository.ts), then published; each
 * message is acked only after its vm.scheduled is published. Claims lost to another replica are planned again on
 * a fresher view; whatever the batch does not place (nothing fits now, groups, explicit targets, redeliveries,
 * a VM locked elsewhere) goes to SchedulingService one by one, which queues, preempts or fails as before.
 */
@Injectable()
export class BatchPlacementService {
  private readonly log = new Logger(BatchPlacementService.name);
  private readonly waiting: Waiting[] = [];
  private running = false;
  /** Per-policy cursor of the batch path (round-robin). */
  private readonly cursors = new Map<string, string | null>();
  /** Per request shape, the best hosts of the last full pass (kept while few hosts changed). */
  private readonly lists: ShortLists;

  constructor(
    private readonly db: DataSource,
    @Inject(PLANNER) private readonly planner: Planner,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    @Inject(DECISION_STATS) private readonly stats: DecisionStats,
    private readonly cache: HostCache,
    private readonly publisher: DecisionPublisher,
    private readonly scheduling: SchedulingService,
  ) {
    this.lists = new ShortLists(cache, Math.max(512, 4 * cfg.batchMax));
  }

  /** Resolves once the request's decision is committed and published (then the message may be acked). */
  submit(event: VmRequested): Promise<void> {
    // A VM of an advance reservation takes its slot (ReservationService): one by one.
    if (event.reservationId) return this.scheduling.handleVmRequested(event).then(() => undefined);
    return new Promise<void>((done, fail) => {
      this.waiting.push({ event, req: toPlacementRequest(event), t0: performance.now(), done, fail });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length) {
        const batch = this.waiting.splice(0, this.cfg.batchMax);
        await this.place(batch).catch((err) => {
          // Unexpected (e.g. the database went away): every request of the batch goes back to JetStream.
          this.log.warn({ msg: 'batch placement failed; the requests will be redelivered', err: String((err as Error)?.message ?? err) });
          for (const w of batch) w.fail(err);
        });
      }
    } finally {
      this.running = false;
    }
  }

  /** Never rejects for one request: each Waiting is settled exactly once (here or by the one-by-one path). */
  private async place(batch: Waiting[]): Promise<void> {
    const started = performance.now();
    for (const w of batch) w.tBatch ??= started;
    let open = batch;
    const oneByOne: Waiting[] = [];
    for (let round = 1; round <= BATCH_ROUNDS && open.length; round++) {
      let t = performance.now();
      await this.cache.view(round > 1);
      const byVm = new Map(open.map((w) => [w.req.vmId, w]));
      this.stats.add('batch-rounds');
      this.stats.step('view', performance.now() - t);
      t = performance.now();
      const plan = planBatch(this.planner, this.cache.snapshot(), open.map((w) => w.req), this.cursors, this.lists);
      this.stats.step('plan', performance.now() - t);
      for (const r of plan.rest) oneByOne.push(byVm.get(r.vmId) as Waiting);
      if (!plan.choices.length) {
        open = [];
        break;
      }
      const claims: BatchClaim[] = plan.choices.map((c) => {
        const w = byVm.get(c.req.vmId) as Waiting;
        return {
          vmId: c.req.vmId,
          hostId: c.host.id,
          vcpus: c.req.vcpus,
          memoryMiB: c.req.memoryMiB,
          diskGiB: c.req.diskGiB,
          preemptible: !!c.req.preemptible,
          reason: c.reason,
          priority: c.req.priority ?? DEFAULT_VM_PRIORITY,
          policy: c.policy,
          request: w.event,
        };
      });
      let result: BatchClaimResult;
      t = performance.now();
      try {
        // One statement, its own transaction: one round trip to Postgres for the whole batch.
        result = await claimBatch(this.db.manager, claims);
        const committed = performance.now();
        for (const c of claims) (byVm.get(c.vmId) as Waiting).tCommit = committed;
        // Committed: the view takes the hosts as they are now.
        for (const h of result.hosts) this.cache.put(h);
        this.stats.step('claim', committed - t);
      } catch (err) {
        // E.g. a claim row written meanwhile by a copy of a request (unique vm_id): nothing was kept; one by one.
        this.log.debug?.({ msg: 'batch claim rolled back; deciding one by one', err: String((err as Error)?.message ?? err) });
        for (const c of claims) oneByOne.push(byVm.get(c.vmId) as Waiting);
        open = [];
        break;
      }
      const lost: Waiting[] = [];
      const published: Promise<void>[] = [];
      for (const c of claims) {
        const w = byVm.get(c.vmId) as Waiting;
        const at = result.claimed.get(c.vmId);
        if (at) published.push(this.publishScheduled(w, c, at));
        else if (!result.locked.has(c.vmId)) oneByOne.push(w); // being decided elsewhere: wait for its lock there
        else lost.push(w); // decided already (the one-by-one path answers again), or the host filled up: plan again
      }
      // Not awaited: the next round (or batch) plans while these are published.
      void Promise.all(published);
      this.stats.add('batch-claimed', result.claimed.size);
      this.stats.add('batch-lost', lost.length);
      open = lost;
    }
    oneByOne.push(...open);
    this.stats.add('one-by-one', oneByOne.length);
    for (const w of oneByOne) {
      this.scheduling.handleVmRequested(w.event).then(() => w.done(), w.fail);
    }
  }

  private async publishScheduled(w: Waiting, c: BatchClaim, createdAt: Date): Promise<void> {
    const claim: Claim = { vmId: c.vmId, hostId: c.hostId, vcpus: c.vcpus, memoryMiB: c.memoryMiB, diskGiB: c.diskGiB, reason: c.reason, createdAt, releasedAt: null };
    try {
      const t = performance.now();
      await this.publisher.scheduled(w.event, claim, 1);
      const now = performance.now();
      this.stats.step('publish', now - t);
      const start = w.tBatch ?? w.t0;
      this.stats.record(now - w.t0, now - start, (w.tCommit ?? now) - start);
      this.log.log({ msg: 'VM scheduled', vmId: c.vmId, hostId: c.hostId, reason: c.reason });
      w.done();
    } catch (err) {
      // The claim is committed: the redelivery finds it and publishes the same decision (same event id) again.
      w.fail(err);
    }
  }
}
