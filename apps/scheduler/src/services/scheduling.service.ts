import { Inject, Injectable, Logger, forwardRef } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { performance } from 'perf_hooks';
import { DataSource, EntityManager } from 'typeorm';
import { DEFAULT_VM_PRIORITY, EventOf, Subjects } from '@minicloud/contracts';
import { fitsEmpty } from '../placement/capacity';
import { CAPACITY_FILTERS } from '../placement/filters';
import { Planner } from '../placement/planner';
import { plannedMigrationStorage } from '../placement/migration-storage';
import { choosePreemption, PreemptibleVm } from '../placement/preemption';
import { expiresAt, mayPreempt } from '../placement/queue';
import { HostView, PlacementRequest } from '../placement/types';
import { CachedHost, Claim, ClaimRepository, HostRepository, MigrationHoldRepository, PreemptionRecord, preemptionsBy, QueueRepository, ScheduleFailure } from '../persistence';
import { SchedulerConfig } from './config';
import { DecisionStats } from './decision-stats';
import { HostCache } from './host-cache.service';
import { DecisionPublisher, VmRequested } from './publisher';
import { ReservationService } from './reservation.service';
import { DECISION_STATS, PLANNER, SCHEDULER_CONFIG } from './tokens';

/** What one transaction decided for a VM. */
export type Decision =
  | { kind: 'scheduled'; claim: Claim; fresh: boolean; preemptions: PreemptionRecord[] }
  | { kind: 'failed'; failure: ScheduleFailure; fresh: boolean }
  | { kind: 'queued'; fresh: boolean; reason: string; removedByFilter: Record<string, number>; enqueuedAt: Date }
  | { kind: 'released' }
  | { kind: 'gone' }
  | { kind: 'lost-race' };

/** Another replica wrote this VM's decision (or took a victim) while we were claiming: roll back and look again. */
export class ConcurrentDecision extends Error {}

/** Rounds of "read hosts, plan, claim" before giving the message back to JetStream for a later retry. */
const MAX_ROUNDS = 12;

export function toPlacementRequest(e: VmRequested): PlacementRequest {
  return {
    vmId: e.vmId,
    vcpus: e.resources.vcpus,
    memoryMiB: e.resources.memoryMiB,
    diskGiB: e.resources.diskGiB,
    targetHostId: e.targetHostId,
    arch: e.image.arch,
    preemptible: !!e.preemptible,
    priority: e.priority ?? DEFAULT_VM_PRIORITY,
    group: e.group ? { name: e.group.name, policy: e.group.policy } : undefined,
    policy: e.policy,
    ...(e.storage ? { storage: e.storage } : {}),
  };
}

/**
 * Places one requested VM: filters and orders the hosts (in-memory view), claims capacity atomically on the
 * first host that still fits and records the claim in the same statement, then publishes the decision. When
 * nothing fits: a priority 1/2 request may preempt; otherwise the request waits in the queue (or fails when
 * waiting cannot help). Every decision is stored, so a redelivered request republishes the same answer.
 */
@Injectable()
export class SchedulingService {
  private readonly log = new Logger(SchedulingService.name);
  /** Per-policy cursor of this replica (round-robin). */
  private readonly cursors = new Map<string, string | null>();
  /** Called after capacity was freed (the queue drains). */
  onCapacityFreed: () => void = () => undefined;

  constructor(
    private readonly db: DataSource,
    @Inject(PLANNER) private readonly planner: Planner,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    @Inject(DECISION_STATS) private readonly stats: DecisionStats,
    private readonly cache: HostCache,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly queue: QueueRepository,
    private readonly publisher: DecisionPublisher,
    @Inject(forwardRef(() => ReservationService)) private readonly reservations: ReservationService,
    private readonly holds: MigrationHoldRepository,
  ) {}

  async handleVmRequested(event: VmRequested): Promise<Decision['kind']> {
    return this.run(event, false);
  }

  /**
   * A queued request's next try (the queue drain calls it). `preemptOnly`: the drain's pass found no room for it;
   * it may only preempt — capacity freed while the pass runs belongs to the first in queue order, on the next pass,
   * never to a later entry that happens to be tried now.
   */
  async retryQueued(event: VmRequested, opts: { preemptOnly?: boolean } = {}): Promise<Decision['kind']> {
    return this.run(event, true, !!opts.preemptOnly);
  }

  private async run(event: VmRequested, fromQueue: boolean, preemptOnly = false): Promise<Decision['kind']> {
    const t0 = performance.now();
    for (let round = 1; round <= MAX_ROUNDS; round++) {
      const req = toPlacementRequest(event);
      // Refresh the host view before taking a connection for the transaction (never while holding one).
      await this.cache.view(round > 1);
      let decision: Decision;
      try {
        decision = await this.db.transaction((m) => this.decide(m, event, req, fromQueue, round, preemptOnly));
      } catch (err) {
        if (err instanceof ConcurrentDecision) continue;
        throw err;
      }
      if (decision.kind === 'lost-race') {
        this.log.debug?.({ msg: 'lost a claim race on every candidate, planning again', vmId: req.vmId, round });
        continue;
      }
      await this.publish(event, decision);
      if (decision.kind === 'scheduled' && decision.fresh) this.stats.record(performance.now() - t0);
      return decision.kind;
    }
    throw new Error(`could not claim capacity for VM ${event.vmId} after ${MAX_ROUNDS} rounds of concurrent changes`);
  }

  private async decide(m: EntityManager, event: VmRequested, req: PlacementRequest, fromQueue: boolean, round: number, preemptOnly = false): Promise<Decision> {
    const seen = await this.claims.lookup(m, req.vmId);
    if (seen.claim) {
      if (seen.claim.releasedAt) return { kind: 'released' };
      return { kind: 'scheduled', claim: seen.claim, fresh: false, preemptions: await preemptionsBy(m, req.vmId) };
    }
    if (seen.failure) return { kind: 'failed', failure: seen.failure, fresh: false };
    if (fromQueue !== seen.pending) {
      // Queued already (a redelivery: nothing to do), or no longer queued (another replica placed or failed it).
      return fromQueue ? { kind: 'gone' } : { kind: 'queued', fresh: false, reason: '', removedByFilter: {}, enqueuedAt: new Date() };
    }

    if (req.group) {
      await this.claims.lockGroup(m, req.group.name);
      req.groupHosts = await this.claims.groupHosts(m, req.group.name);
    }
    if (event.reservationId) {
      const inside = await this.reservations.placeInReservation(m, event, req);
      if (inside) {
        if (fromQueue) await this.queue.remove(m, req.vmId);
        return { kind: 'scheduled', claim: inside.claim, fresh: true, preemptions: inside.preemptions };
      }
    }

    const hosts = this.cache.snapshot();
    const plan = this.planner.plan(hosts, req, this.cursors.get(this.planner.policyFor(req).name) ?? null);
    // Never refuse on a stale view: the next round looks again at the latest committed state.
    if (!plan.ok && round === 1 && !preemptOnly) return { kind: 'lost-race' };
    // Room appeared after the drain's pass began: the next pass gives it out in queue order (no preemption needed).
    if (plan.ok && preemptOnly) return { kind: 'queued', fresh: false, reason: '', removedByFilter: {}, enqueuedAt: new Date() };
    if (plan.ok) {
      for (const candidate of plan.ranked) {
        const r = await this.hosts.claim(m, candidate.host.id, this.newClaim(event, req, candidate.reason, plan.policy.name), round <= MAX_ROUNDS / 2);
        if (r === 'conflict') throw new ConcurrentDecision();
        if (!r) {
          void this.cache.reload(candidate.host.id).catch(() => undefined);
          continue;
        }
        this.cache.put(r.host);
        const next = plan.policy.nextCursor(r.host);
        if (next !== null) this.cursors.set(plan.policy.name, next);
        if (fromQueue) await this.queue.remove(m, req.vmId);
        const claim: Claim = { vmId: req.vmId, hostId: r.host.id, vcpus: req.vcpus, memoryMiB: req.memoryMiB, diskGiB: req.diskGiB, reason: candidate.reason, createdAt: r.createdAt, releasedAt: null };
        return { kind: 'scheduled', claim, fresh: true, preemptions: [] };
      }
      return { kind: 'lost-race' };
    }

    if (mayPreempt(req.priority)) {
      const p = await this.preemptFor(m, event, req, hosts);
      if (p) {
        if (fromQueue) await this.queue.remove(m, req.vmId);
        return p;
      }
    }
    if (fromQueue) {
      await this.queue.stillWaiting(m, req.vmId, plan.reason, plan.removedByFilter);
      return { kind: 'queued', fresh: false, reason: plan.reason, removedByFilter: plan.removedByFilter, enqueuedAt: new Date() };
    }
    const now = Date.now();
    const deadline = event.deadline ? Date.parse(event.deadline) : null;
    const expires = expiresAt(now, deadline, this.cfg.queue.maxWaitMs);
    if (plan.couldFitLater && expires > now) {
      const enqueuedAt = await this.queue.enqueue(m, {
        vmId: req.vmId,
        request: event as unknown as Record<string, unknown>,
        priority: req.priority ?? DEFAULT_VM_PRIORITY,
        deadline: deadline === null ? null : new Date(deadline),
        expiresAt: new Date(expires),
        reason: plan.reason,
        removedByFilter: plan.removedByFilter,
      });
      return { kind: 'queued', fresh: true, reason: plan.reason, removedByFilter: plan.removedByFilter, enqueuedAt };
    }
    const why = plan.couldFitLater ? plan.reason : `${plan.reason} (no host could ever take it: waiting would not help)`;
    const failure = await this.claims.insertFailure(m, req.vmId, why, plan.removedByFilter);
    if (!failure) throw new ConcurrentDecision();
    return { kind: 'failed', failure, fresh: true };
  }

  private newClaim(event: VmRequested, req: PlacementRequest, reason: string, policy: string) {
    return {
      vmId: req.vmId,
      vcpus: req.vcpus,
      memoryMiB: req.memoryMiB,
      diskGiB: req.diskGiB,
      preemptible: !!req.preemptible,
      reason,
      priority: req.priority ?? DEFAULT_VM_PRIORITY,
      groupName: req.group?.name ?? null,
      groupPolicy: req.group?.policy ?? null,
      reservationId: event.reservationId ?? null,
      policy,
      request: event,
    };
  }

  /**
   * Priority 1/2 only: on a host that passes every filter but capacity, stops (or moves away) preemptible VMs
   * of a lower priority until the request fits, and claims the room in the same transaction.
   */
  private async preemptFor(m: EntityManager, event: VmRequested, req: PlacementRequest, hosts: HostView[]): Promise<Decision | null> {
    const others = this.planner.filters.filter((f) => !CAPACITY_FILTERS.has(f.name));
    const candidates = hosts.filter((h) => fitsEmpty(h, req) && others.every((f) => f.passes(h, req)));
    if (!candidates.length) return null;
    const pool: PreemptibleVm[] = (await this.claims.preemptibleBelow(m, req.priority ?? DEFAULT_VM_PRIORITY)).map((c) => ({
      vmId: c.vmId,
      hostId: c.hostId as string,
      vcpus: c.vcpus,
      memoryMiB: c.memoryMiB,
      diskGiB: c.diskGiB,
      priority: c.priority ?? DEFAULT_VM_PRIORITY,
      createdAt: c.createdAt.getTime(),
    }));
    if (!pool.length) return null;
    // Plan on the latest committed rows of the hosts that have victims.
    const fresh = new Map<string, HostView>();
    for (const id of new Set(pool.map((v) => v.hostId))) {
      const h = await this.hosts.get(m, id);
      if (h) fresh.set(id, h);
    }
    const plan = choosePreemption(candidates.filter((h) => fresh.has(h.id)).map((h) => fresh.get(h.id) as HostView), pool, req);
    if (!plan) return null;
    for (const v of plan.victims) if (!(await this.claims.tryLockVm(m, v.vmId))) throw new ConcurrentDecision();
    const why = `preempted by VM ${req.vmId} (priority ${req.priority}) on host ${plan.host.name}`;
    const records: PreemptionRecord[] = [];
    for (const v of plan.victims) records.push(await this.evict(m, v.vmId, plan.host, why, { preemptedByVmId: req.vmId }, hosts));
    const reason =
      `priority ${req.priority}: no host had room; preempted ${records.length} preemptible VM(s) of lower priority on host ` +
      `${plan.host.name} (${plan.host.id}): ${records.map((r) => `${r.vmId} ${r.action === 'migrate' ? `moved to ${r.targetHostId}` : 'stopped'}`).join(', ')}`;
    const r = await this.hosts.claim(m, plan.host.id, this.newClaim(event, req, reason, 'preemption'));
    if (!r || r === 'conflict') throw new ConcurrentDecision();
    this.cache.put(r.host);
    const claim: Claim = { vmId: req.vmId, hostId: plan.host.id, vcpus: req.vcpus, memoryMiB: req.memoryMiB, diskGiB: req.diskGiB, reason, createdAt: r.createdAt, releasedAt: null };
    this.log.warn({ msg: 'preempted VMs', vmId: req.vmId, hostId: plan.host.id, victims: records.map((x) => x.vmId) });
    return { kind: 'scheduled', claim, fresh: true, preemptions: records };
  }

  /**
   * Takes one preemptible VM's capacity off `source` (the caller holds the VM's lock). When enabled
   * (SCHEDULER_PREEMPT_MIGRATE) and another host can take it, its claim moves there at once and a live migration
   * is planned to follow it (a hold with `claimMoved`, published with the preemption: migration.planned, origin
   * `preemption`); if that migration fails the claim is released and the VM stopped (MigrationHoldService).
   * Otherwise the claim is released and the VM stopped. Records the preemption.
   */
  async evict(
    m: EntityManager,
    vmId: string,
    source: HostView,
    why: string,
    by: { preemptedByVmId?: string; reservationId?: string },
    hosts: HostView[],
  ): Promise<PreemptionRecord> {
    const found = await this.claims.find(m, vmId);
    if (!found || found.releasedAt || found.hostId !== source.id) throw new ConcurrentDecision();
    let target: CachedHost | null = null;
    let reason = '';
    const request = found.request as unknown as VmRequested | null;
    if (this.cfg.preemptMigrate && request) {
      const vreq = { ...toPlacementRequest(request), excludeHosts: [source.id], targetHostId: undefined, preemptible: true };
      if (vreq.group) vreq.groupHosts = await this.claims.groupHosts(m, vreq.group.name, vmId);
      const vplan = this.planner.plan(hosts.filter((h) => h.id !== source.id), vreq, null);
      if (vplan.ok) {
        for (const c of vplan.ranked) {
          target = await this.hosts.tryAllocate(m, c.host.id, vreq);
          if (target) {
            reason = `preempted on ${source.name} (${why}); moving to ${target.name}: ${c.reason}`;
            break;
          }
        }
      }
    }
    await this.hosts.free(m, source.id, found.vcpus, found.memoryMiB, found.diskGiB, !!found.preemptible);
    let migration: PreemptionRecord['migration'] = null;
    if (target) {
      this.cache.put(target);
      await this.claims.moveActive(m, vmId, target.id, `moved from ${source.name}: ${why}`);
      const hold = await this.holds.insert(m, {
        migrationId: randomUUID(),
        vmId,
        sourceHostId: source.id,
        targetHostId: target.id,
        vcpus: found.vcpus,
        memoryMiB: found.memoryMiB,
        diskGiB: found.diskGiB,
        preemptible: !!found.preemptible,
        reason: reason.slice(0, 2000),
        claimMoved: true,
      });
      if (!hold) throw new ConcurrentDecision();
      migration = { hold, storage: plannedMigrationStorage('copy', request?.storage) };
    } else {
      await this.claims.releaseActive(m, vmId, why);
    }
    const rec: PreemptionRecord = {
      vmId,
      hostId: source.id,
      action: target ? 'migrate' : 'stop',
      targetHostId: target?.id ?? null,
      preemptedByVmId: by.preemptedByVmId ?? null,
      reservationId: by.reservationId ?? null,
      reason: why,
      migration,
    };
    await this.queue.recordPreemption(m, rec);
    return rec;
  }

  private async publish(event: VmRequested, d: Decision): Promise<void> {
    switch (d.kind) {
      case 'released':
        this.log.log({ msg: 'VM was released (failed or deleted) before this request was handled; not placing it', vmId: event.vmId });
        return;
      case 'gone':
        return;
      case 'scheduled':
        for (const p of d.preemptions) await this.publisher.preempted(p, p.preemptedByVmId ?? p.reservationId ?? 'none');
        await this.publisher.scheduled(event, d.claim, d.claim.attempt ?? 1);
        if (d.fresh) this.log.log({ msg: 'VM scheduled', vmId: event.vmId, hostId: d.claim.hostId, reason: d.claim.reason });
        return;
      case 'queued':
        if (d.fresh) {
          await this.publisher.queued(event, d.reason, d.removedByFilter, d.enqueuedAt);
          this.log.log({ msg: 'no host fits now; request queued', vmId: event.vmId, priority: event.priority ?? DEFAULT_VM_PRIORITY, reason: d.reason });
        }
        return;
      case 'failed':
        await this.publisher.failed(event.vmId, d.failure);
        if (d.fresh) this.log.warn({ msg: 'no valid host', vmId: event.vmId, reason: d.failure.reason });
        return;
    }
  }

  /** A queued request whose deadline (or the queue's max wait) passed: it fails with the last reason. */
  async expireQueued(vmId: string): Promise<boolean> {
    const out = await this.db.transaction(async (m) => {
      await this.claims.lookup(m, vmId);
      const row = await this.queue.remove(m, vmId);
      if (!row) return null;
      const waited = Math.round((Date.now() - row.enqueuedAt.getTime()) / 1000);
      const why = `${row.deadline ? 'deadline passed' : 'gave up'} after waiting ${waited} s in the scheduler queue; ${row.reason}`;
      const failure = await this.claims.insertFailure(m, vmId, why, row.removedByFilter);
      return failure;
    });
    if (out) {
      await this.publisher.failed(vmId, out);
      this.log.warn({ msg: 'queued request expired', vmId, reason: out.reason });
    }
    return !!out;
  }

  /** Republishes a decision when the publish after commit failed (used by the retry path). */
  asEvent(claim: Claim): VmRequested | null {
    return (claim.request as unknown as VmRequested) ?? null;
  }
}

export type VmStateChanged = EventOf<typeof Subjects.VmStateChanged>;
