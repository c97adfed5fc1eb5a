import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { QueueEntryView, QueueView } from '@minicloud/contracts';
import { mayPreempt, orderQueue } from '../placement/queue';
import { Planner } from '../placement/planner';
import { HostCache } from './host-cache.service';
import { QueueRepository } from '../persistence';
import { SchedulerConfig } from './config';
import { ReservationService } from './reservation.service';
import { SchedulingService, toPlacementRequest } from './scheduling.service';
import { PLANNER, SCHEDULER_CONFIG } from './tokens';
import { VmRequested } from './publisher';

const DRAIN_LOCK = `hashtext('minicloud.scheduler.drain')`;

/**
 * The pending queue's engine, on every replica: every tick (and soon after capacity is freed) one replica at a
 * time (session advisory lock) retries the waiting requests in queue order (aged priority, then arrival), fails
 * those whose deadline passed, and opens/ends reservation windows.
 */
@Injectable()
export class QueueService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(QueueService.name);
  private timer: NodeJS.Timeout | null = null;
  private kickTimer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    private readonly repo: QueueRepository,
    private readonly scheduling: SchedulingService,
    private readonly reservations: ReservationService,
    private readonly cache: HostCache,
    @Inject(PLANNER) private readonly planner: Planner,
  ) {}

  onApplicationBootstrap(): void {
    this.scheduling.onCapacityFreed = () => this.kick();
    this.timer = setInterval(() => void this.tick(), this.cfg.tickMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.kickTimer) clearTimeout(this.kickTimer);
  }

  /** Capacity was freed: drain soon (debounced). */
  kick(): void {
    if (this.kickTimer || this.stopped) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = null;
      void this.tick();
    }, 50);
  }

  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const qr = this.db.createQueryRunner();
    try {
      await qr.connect();
      const [{ ok }] = await qr.query(`SELECT pg_try_advisory_lock(${DRAIN_LOCK}) AS ok`);
      if (!ok) return;
      try {
        await this.reservations.tick();
        await this.drain();
      } finally {
        await qr.query(`SELECT pg_advisory_unlock(${DRAIN_LOCK})`);
      }
    } catch (err) {
      this.log.warn({ msg: 'queue tick failed', err: String((err as Error)?.message ?? err) });
    } finally {
      this.running = false;
      await qr.release().catch(() => undefined);
    }
  }

  async drain(): Promise<{ placed: number; expired: number; waiting: number }> {
    const now = Date.now();
    const rows = await this.repo.list(this.db.manager);
    // Nothing waits (the usual case): no snapshot of the host view (a copy of every host, 10,000 at fleet scale).
    if (!rows.length) return { placed: 0, expired: 0, waiting: 0 };
    const ordered = orderQueue(
      rows.map((r) => ({ ...r, enqueuedAt: r.enqueuedAt.getTime() })),
      now,
      this.cfg.queue.agingStepMs,
    );
    let placed = 0;
    let expired = 0;
    // Plan the whole pass on one snapshot taken now (and account in it for what this pass places): capacity
    // freed while the pass runs goes to the first in queue order on the next pass, never to an entry that
    // merely happens to be tried later in this one.
    await this.cache.view(true);
    const snapshot = new Map(this.cache.snapshot().map((h) => [h.id, { ...h }]));
    for (const e of ordered) {
      if (this.stopped) break;
      if (e.expiresAt.getTime() <= now) {
        if (await this.scheduling.expireQueued(e.vmId)) expired++;
        continue;
      }
      const event = e.request as unknown as VmRequested;
      const req = toPlacementRequest(event);
      const plan = req.group || event.reservationId ? null : this.planner.plan([...snapshot.values()], req);
      if (plan && !plan.ok && !mayPreempt(req.priority)) continue;
      const kind = await this.scheduling.retryQueued(event, { preemptOnly: !!plan && !plan.ok });
      if (kind === 'scheduled') {
        placed++;
        const h = plan?.ok ? snapshot.get(plan.ranked[0].host.id) : undefined;
        if (h) {
          h.allocatedVcpus += req.vcpus;
          h.allocatedMemoryMiB += req.memoryMiB;
          h.allocatedDiskGiB += req.diskGiB;
        }
      }
    }
    if (placed || expired) this.log.log({ msg: 'queue drained', placed, expired, waiting: ordered.length - placed - expired });
    return { placed, expired, waiting: ordered.length - placed - expired };
  }

  /** The queue in the order it is served. */
  async view(limit = 100): Promise<QueueView> {
    const now = Date.now();
    const rows = await this.repo.list(this.db.manager);
    const ordered = orderQueue(rows.map((r) => ({ ...r, enqueuedAt: r.enqueuedAt.getTime() })), now, this.cfg.queue.agingStepMs);
    const items: QueueEntryView[] = ordered.slice(0, limit).map((e, i) => {
      const req = e.request as unknown as VmRequested;
      return {
        position: i + 1,
        vmId: e.vmId,
        name: req.name,
        priority: e.priority,
        effectivePriority: e.effectivePriority,
        enqueuedAt: new Date(e.enqueuedAt).toISOString(),
        waitedSeconds: Math.round((now - e.enqueuedAt) / 1000),
        deadline: e.deadline ? e.deadline.toISOString() : null,
        reason: e.reason,
        removedByFilter: e.removedByFilter,
        resources: req.resources,
      };
    });
    return { total: ordered.length, agingStepSeconds: this.cfg.queue.agingStepMs / 1000, items };
  }
}
