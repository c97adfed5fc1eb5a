import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EventOf, MigrationStorageKind, Subjects } from '@minicloud/contracts';
import { firstDelivery } from '@minicloud/database';
import { explainTargetRefused, failedMigrationOutcome, migrationPlacementRequest, Refusal, refuseMigration } from '../placement/migration';
import { plannedMigrationStorage } from '../placement/migration-storage';
import { Planner } from '../placement/planner';
import { Claim, ClaimRepository, HoldOutcome, HostRepository, MigrationHold, MigrationHoldRepository, MigrationRefusal, PreemptionRecord, QueueRepository } from '../persistence';
import { preemptLateCommit, preemptMigrationFallback } from '../placement/preempt-migration';
import { SCHEMA } from '../scheduler.constants';
import { HostCache } from './host-cache.service';
import { DecisionPublisher, MigrationRequested, VmRequested } from './publisher';
import { RelocationService } from './relocation.service';
import { ReservationService } from './reservation.service';
import { SchedulingService, toPlacementRequest } from './scheduling.service';
import { isOverdue, timeoutReason } from '../placement/migration-timeout';
import { SchedulerConfig } from './config';
import { PLANNER, SCHEDULER_CONFIG } from './tokens';

type Answer = { kind: 'planned'; hold: MigrationHold; fresh: boolean; storage: MigrationStorageKind } | { kind: 'refused'; refusal: MigrationRefusal; fresh: boolean } | { kind: 'retry' };

/** Rounds of "refresh the host view, plan, allocate" when every candidate fills up meanwhile. */
const MAX_ROUNDS = 3;

/**
 * Capacity holds for live migrations: a migrating VM holds capacity on both hosts until the migration ends.
 * migration.requested → check the VM's claim, choose (or check) the target, allocate there (the hold), publish
 * migration.planned — or refuse with migration.failed. migration.completed → free the source, the claim moves
 * to the target (the hold's allocation becomes the claim's). migration.failed → free the target (or, when the
 * VM ended up on the target anyway, as completed). Every decision about a VM runs under its lock.
 * A preempted VM's migration (hold with `claimMoved`: the claim moved at preemption, the source already freed):
 * completed → nothing moves; failed/cancelled/timed out → the claim is released and the VM stopped instead
 * (vm.preempt-requested, action stop).
 */
@Injectable()
export class MigrationHoldService {
  private readonly log = new Logger(MigrationHoldService.name);
  /** Called after a hold was settled (a maintenance drain checks whether its host is empty now). */
  onSettled: (hold: MigrationHold) => void = () => undefined;

  constructor(
    private readonly db: DataSource,
    @Inject(PLANNER) private readonly planner: Planner,
    private readonly cache: HostCache,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly holds: MigrationHoldRepository,
    private readonly relocation: RelocationService,
    private readonly publisher: DecisionPublisher,
    private readonly reservations: ReservationService,
    private readonly scheduling: SchedulingService,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    private readonly queue: QueueRepository,
  ) {}

  /** Idempotent on the migration id: a redelivery publishes the stored answer again (same event id). */
  async onRequested(e: MigrationRequested): Promise<'planned' | 'refused'> {
    for (let round = 1; ; round++) {
      // Never refuse on a stale view: refresh before taking a connection for the transaction.
      await this.cache.view(true);
      const a = await this.db.transaction((m) => this.decide(m, e, round >= MAX_ROUNDS));
      if (a.kind === 'retry') continue;
      if (a.kind === 'planned') {
        await this.publisher.migrationPlanned({ ...e, storage: a.storage }, a.hold);
        if (a.fresh) this.log.log({ msg: 'migration planned, capacity held on the target', migrationId: e.migrationId, vmId: e.vmId, sourceHostId: a.hold.sourceHostId, targetHostId: a.hold.targetHostId, reason: a.hold.reason });
      } else {
        await this.publisher.migrationRefused(e, a.refusal);
        if (a.fresh) this.log.warn({ msg: 'migration refused', migrationId: e.migrationId, vmId: e.vmId, reason: a.refusal.reason });
      }
      return a.kind;
    }
  }

  private async decide(m: EntityManager, e: MigrationRequested, last: boolean): Promise<Answer> {
    const { claim } = await this.claims.lookup(m, e.vmId); // takes the VM's lock
    const storage = plannedMigrationStorage(e.storage, (claim?.request as unknown as VmRequested | null)?.storage);
    const held = await this.holds.get(m, e.migrationId);
    if (held) return { kind: 'planned', hold: held, fresh: false, storage };
    const refused = await this.holds.findRefusal(m, e.migrationId);
    if (refused) return { kind: 'refused', refusal: refused, fresh: false };
    const early = refuseMigration(e, claim, await this.holds.openOfVm(m, e.vmId));
    if (early) return this.refuse(m, e, early);

    const c = claim as Claim;
    const source = c.hostId as string;
    const req = migrationPlacementRequest(c.request ? toPlacementRequest(c.request as unknown as VmRequested) : null, c, e);
    const all = this.cache.snapshot();
    const candidates = all.filter((h) => h.id !== source);
    const r = await this.relocation.allocateElsewhere(m, req, candidates);
    if (!r.ok) {
      if (r.filledUp && !last) return { kind: 'retry' };
      const sourceName = all.find((h) => h.id === source)?.name ?? source;
      const reason = e.targetHostId
        ? explainTargetRefused(this.planner.filters, candidates.find((h) => h.id === e.targetHostId), req)
        : `no target host for VM ${e.vmId} (source ${sourceName} excluded): ${r.reason}`;
      return this.refuse(m, e, { reason, vmHostId: source });
    }
    const hold = await this.holds.insert(m, {
      migrationId: e.migrationId,
      vmId: e.vmId,
      sourceHostId: source,
      targetHostId: r.host.id,
      vcpus: c.vcpus,
      memoryMiB: c.memoryMiB,
      diskGiB: c.diskGiB,
      preemptible: !!c.preemptible,
      reason: r.reason,
    });
    // Cannot happen under the VM's lock (the lookup above saw no hold); roll back and let JetStream redeliver.
    if (!hold) throw new Error(`a hold for migration ${e.migrationId} appeared concurrently`);
    return { kind: 'planned', hold, fresh: true, storage };
  }

  private async refuse(m: EntityManager, e: MigrationRequested, r: Refusal): Promise<Answer> {
    const refusal = await this.holds.insertRefusal(m, { migrationId: e.migrationId, vmId: e.vmId, vmHostId: r.vmHostId, reason: r.reason });
    if (!refusal) throw new Error(`a refusal of migration ${e.migrationId} appeared concurrently`);
    return { kind: 'refused', refusal, fresh: true };
  }

  /** The destination runs the VM: the source is freed, the claim moves to the target. */
  async onCompleted(consumer: string, e: EventOf<typeof Subjects.MigrationCompleted>): Promise<boolean> {
    return this.settle(consumer, e.eventId, e.migrationId, e.vmId, () => 'completed');
  }

  /** The VM stayed on the source (failed or cancelled): the target is freed. On the target anyway: completed. */
  async onFailed(consumer: string, e: EventOf<typeof Subjects.MigrationFailed>): Promise<boolean> {
    return this.settle(consumer, e.eventId, e.migrationId, e.vmId, (hold) => failedMigrationOutcome(e, hold));
  }

  /** true when a hold was settled (capacity freed on one host). A migration without an open hold is a no-op. */
  private async settle(consumer: string, eventId: string, migrationId: string, vmId: string, outcome: (h: MigrationHold) => HoldOutcome): Promise<boolean> {
    const done = await this.db.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, eventId))) return null;
      await this.claims.lockVm(m, vmId);
      const hold = await this.holds.get(m, migrationId);
      if (!hold || hold.vmId !== vmId) return null;
      // The scheduler gave up on it (timed out) but it completed after all: the VM runs on the target.
      if (hold.outcome === 'timed-out' && outcome(hold) === 'completed') return (await this.lateCommit(m, hold)) ? { hold, how: 'completed' as HoldOutcome, stop: null } : null;
      if (hold.settledAt) return null;
      const how = outcome(hold);
      let stop: PreemptionRecord | null = null;
      if (how === 'completed') await this.commit(m, hold);
      else stop = await this.freeHold(m, hold, how);
      return { hold, how, stop };
    });
    if (!done) return false;
    if (done.stop) await this.publisher.preempted(done.stop, `migration-ended:${migrationId}`);
    this.log.log({ msg: 'migration hold settled', migrationId, vmId, outcome: done.how, sourceHostId: done.hold.sourceHostId, targetHostId: done.hold.targetHostId });
    this.scheduling.onCapacityFreed();
    this.onSettled(done.hold);
    return true;
  }

  /**
   * Commitment: frees the source by the claim's resources and points the claim at the target without allocating
   * again (the hold's allocation becomes the claim's). A reservation VM leaves its slot (it is ordinary now).
   * When the claim is no longer active on the source (released meanwhile), the hold's capacity is just freed.
   */
  private async commit(m: EntityManager, hold: MigrationHold): Promise<void> {
    if (hold.claimMoved) {
      // A preempted VM: its claim moved to the target when it was preempted; the source was freed then.
      await this.holds.settle(m, hold.migrationId, 'completed');
      return;
    }
    const claim = await this.claims.find(m, hold.vmId);
    if (!claim || claim.releasedAt || claim.hostId !== hold.sourceHostId) {
      await this.freeHold(m, hold, 'completed');
      return;
    }
    await this.hosts.free(m, hold.sourceHostId, claim.vcpus, claim.memoryMiB, claim.diskGiB, !!claim.preemptible);
    const from = this.cache.snapshot().find((h) => h.id === hold.sourceHostId)?.name ?? hold.sourceHostId;
    await this.claims.moveActive(m, hold.vmId, hold.targetHostId, `migrated from ${from} (migration ${hold.migrationId}): ${hold.reason}`);
    if (claim.reservationId) {
      await this.reservations.onClaimReleased(m, claim);
      await this.claims.leaveReservation(m, hold.vmId);
    }
    await this.holds.settle(m, hold.migrationId, 'completed');
  }

  /**
   * Open holds older than the migration timeout (SCHEDULER_MIGRATION_TIMEOUT_BASE_S + _PER_GIB_S × GiB, judged on
   * the database's clock) are given up: outcome `timed-out` with the reason, the target freed, and the migrator
   * asked to cancel the migration (migration.control). Returns the holds given up. Runs every planner round.
   */
  async expireOverdue(): Promise<MigrationHold[]> {
    const { holds, now } = await this.holds.listOpen(this.db.manager);
    const given: MigrationHold[] = [];
    for (const h of holds.filter((x) => isOverdue(x, now, this.cfg.migrationTimeout))) {
      const reason = timeoutReason(h, now, this.cfg.migrationTimeout);
      const done = await this.db.transaction(async (m) => {
        await this.claims.lockVm(m, h.vmId);
        const cur = await this.holds.get(m, h.migrationId);
        if (!cur || cur.settledAt) return false;
        return { stop: await this.freeHold(m, cur, 'timed-out', reason) };
      });
      if (!done) continue;
      await this.publisher.migrationTimedOut(h.migrationId);
      if (done.stop) await this.publisher.preempted(done.stop, `migration-ended:${h.migrationId}`);
      this.log.warn({ msg: 'migration hold timed out: target freed, migration cancelled', migrationId: h.migrationId, vmId: h.vmId, sourceHostId: h.sourceHostId, targetHostId: h.targetHostId, reason });
      given.push(h);
      this.scheduling.onCapacityFreed();
      this.onSettled(h);
    }
    return given;
  }

  /**
   * migration.completed of a hold the scheduler had given up on (timed out): the VM runs on the target, so the
   * claim follows it there. The target's capacity is taken again (guarded; when it was given away meanwhile, the
   * allocation is recorded anyway — the VM is there — and logged as an error), the source is freed.
   */
  private async lateCommit(m: EntityManager, hold: MigrationHold): Promise<boolean> {
    const claim = await this.claims.find(m, hold.vmId);
    if (hold.claimMoved) return this.lateCommitPreempted(m, hold, claim);
    if (!claim || claim.releasedAt || claim.hostId !== hold.sourceHostId) return false;
    const size = { vcpus: claim.vcpus, memoryMiB: claim.memoryMiB, diskGiB: claim.diskGiB, preemptible: !!claim.preemptible };
    if (!(await this.hosts.tryAllocate(m, hold.targetHostId, size))) {
      await this.hosts.allocateAnyway(m, hold.targetHostId, size);
      this.log.error({ msg: 'a timed-out migration completed after its target was given away: the target is over its capacity', migrationId: hold.migrationId, vmId: hold.vmId, targetHostId: hold.targetHostId });
    }
    await this.hosts.free(m, hold.sourceHostId, claim.vcpus, claim.memoryMiB, claim.diskGiB, !!claim.preemptible);
    await this.claims.moveActive(m, hold.vmId, hold.targetHostId, `migrated (completed after the scheduler's timeout, migration ${hold.migrationId}): ${hold.reason}`);
    if (claim.reservationId) {
      await this.reservations.onClaimReleased(m, claim);
      await this.claims.leaveReservation(m, hold.vmId);
    }
    return true;
  }

  /**
   * Settles an open hold and frees what it allocated on the target. A preempted VM's hold allocated nothing of its
   * own (the target's allocation is the claim's): when its migration failed, was cancelled or timed out, the claim
   * is released instead and the stop to publish is returned (null otherwise).
   */
  private async freeHold(m: EntityManager, hold: MigrationHold, outcome: HoldOutcome, reason: string | null = null): Promise<PreemptionRecord | null> {
    const settled = await this.holds.settle(m, hold.migrationId, outcome, reason);
    if (!settled) return null;
    if (!hold.claimMoved) {
      await this.hosts.free(m, hold.targetHostId, hold.vcpus, hold.memoryMiB, hold.diskGiB, hold.preemptible);
      return null;
    }
    if (outcome === 'vm-deleted' || outcome === 'completed') return null;
    return this.stopInstead(m, hold, outcome, reason);
  }

  /** A preempted VM that could not be moved: its claim on the target is released and the VM stopped on the source. */
  private async stopInstead(m: EntityManager, hold: MigrationHold, outcome: HoldOutcome, detail: string | null): Promise<PreemptionRecord | null> {
    const claim = await this.claims.find(m, hold.vmId);
    const targetName = this.cache.snapshot().find((h) => h.id === hold.targetHostId)?.name ?? hold.targetHostId;
    const plan = preemptMigrationFallback(hold, claim, outcome, targetName, detail);
    if (plan.kind === 'none' || !claim) return null;
    await this.claims.releaseActive(m, hold.vmId, plan.why);
    await this.hosts.free(m, hold.targetHostId, claim.vcpus, claim.memoryMiB, claim.diskGiB, !!claim.preemptible);
    await this.reservations.onClaimReleased(m, claim);
    const by = await this.queue.preemptionOfMigration(m, hold.migrationId);
    const rec: PreemptionRecord = {
      vmId: hold.vmId,
      hostId: hold.sourceHostId,
      action: 'stop',
      targetHostId: null,
      preemptedByVmId: by?.preemptedByVmId ?? null,
      reservationId: by?.reservationId ?? null,
      reason: plan.why,
      migration: null,
    };
    await this.queue.recordPreemption(m, rec);
    this.log.warn({ msg: 'preempted VM could not be moved: stopping it instead', migrationId: hold.migrationId, vmId: hold.vmId, sourceHostId: hold.sourceHostId, reason: plan.why });
    return rec;
  }

  /** A preempted VM's migration completed after its timeout: the VM runs on the target, its claim is taken there again. */
  private async lateCommitPreempted(m: EntityManager, hold: MigrationHold, claim: Claim | null): Promise<boolean> {
    if (preemptLateCommit(hold, claim) === 'none' || !claim) return false;
    const size = { vcpus: claim.vcpus, memoryMiB: claim.memoryMiB, diskGiB: claim.diskGiB, preemptible: !!claim.preemptible };
    if (!(await this.hosts.tryAllocate(m, hold.targetHostId, size))) {
      await this.hosts.allocateAnyway(m, hold.targetHostId, size);
      this.log.error({ msg: 'a preempted VM moved after its migration timed out and its room was given away: the target is over its capacity', migrationId: hold.migrationId, vmId: hold.vmId, targetHostId: hold.targetHostId });
    }
    await this.claims.reactivate(m, hold.vmId, hold.targetHostId, `moved (completed after the scheduler's timeout, migration ${hold.migrationId}): ${hold.reason}`);
    return true;
  }

  /** The VM is gone (or its claim released): its open hold, if any, is settled and the target freed. Caller holds the VM's lock. */
  async dropOpenHold(m: EntityManager, vmId: string, outcome: HoldOutcome): Promise<boolean> {
    const hold = await this.holds.openOfVm(m, vmId);
    if (!hold) return false;
    // A preempted VM's hold allocated nothing: the claim's release (the caller's) frees the target.
    if (hold.claimMoved) await this.holds.settle(m, hold.migrationId, outcome);
    else await this.freeHold(m, hold, outcome);
    this.log.log({ msg: 'migration hold settled', migrationId: hold.migrationId, vmId, outcome, targetHostId: hold.targetHostId });
    return true;
  }
}
