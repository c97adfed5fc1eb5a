import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { EventOf, Subjects } from '@minicloud/contracts';
import { firstDelivery } from '@minicloud/database';
import { explainTargetRefused, failedMigrationOutcome, migrationPlacementRequest, Refusal, refuseMigration } from '../placement/migration';
import { Planner } from '../placement/planner';
import { Claim, ClaimRepository, HoldOutcome, HostRepository, MigrationHold, MigrationHoldRepository, MigrationRefusal } from '../persistence';
import { SCHEMA } from '../scheduler.constants';
import { HostCache } from './host-cache.service';
import { DecisionPublisher, MigrationRequested, VmRequested } from './publisher';
import { RelocationService } from './relocation.service';
import { ReservationService } from './reservation.service';
import { SchedulingService, toPlacementRequest } from './scheduling.service';
import { PLANNER } from './tokens';

type Answer = { kind: 'planned'; hold: MigrationHold; fresh: boolean } | { kind: 'refused'; refusal: MigrationRefusal; fresh: boolean } | { kind: 'retry' };

/** Rounds of "refresh the host view, plan, allocate" when every candidate fills up meanwhile. */
const MAX_ROUNDS = 3;

/**
 * Capacity holds for live migrations: a migrating VM holds capacity on both hosts until the migration ends.
 * migration.requested → check the VM's claim, choose (or check) the target, allocate there (the hold), publish
 * migration.planned — or refuse with migration.failed. migration.completed → free the source, the claim moves
 * to the target (the hold's allocation becomes the claim's). migration.failed → free the target (or, when the
 * VM ended up on the target anyway, as completed). Every decision about a VM runs under its lock.
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
  ) {}

  /** Idempotent on the migration id: a redelivery publishes the stored answer again (same event id). */
  async onRequested(e: MigrationRequested): Promise<'planned' | 'refused'> {
    for (let round = 1; ; round++) {
      // Never refuse on a stale view: refresh before taking a connection for the transaction.
      await this.cache.view(true);
      const a = await this.db.transaction((m) => this.decide(m, e, round >= MAX_ROUNDS));
      if (a.kind === 'retry') continue;
      if (a.kind === 'planned') {
        await this.publisher.migrationPlanned(e, a.hold);
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
    const held = await this.holds.get(m, e.migrationId);
    if (held) return { kind: 'planned', hold: held, fresh: false };
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
    return { kind: 'planned', hold, fresh: true };
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
      if (!hold || hold.settledAt || hold.vmId !== vmId) return null;
      const how = outcome(hold);
      if (how === 'completed') await this.commit(m, hold);
      else await this.freeHold(m, hold, how);
      return { hold, how };
    });
    if (!done) return false;
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

  private async freeHold(m: EntityManager, hold: MigrationHold, outcome: HoldOutcome): Promise<void> {
    const settled = await this.holds.settle(m, hold.migrationId, outcome);
    if (settled) await this.hosts.free(m, hold.targetHostId, hold.vcpus, hold.memoryMiB, hold.diskGiB, hold.preemptible);
  }

  /** The VM is gone (or its claim released): its open hold, if any, is settled and the target freed. Caller holds the VM's lock. */
  async dropOpenHold(m: EntityManager, vmId: string, outcome: HoldOutcome): Promise<boolean> {
    const hold = await this.holds.openOfVm(m, vmId);
    if (!hold) return false;
    await this.freeHold(m, hold, outcome);
    this.log.log({ msg: 'migration hold settled', migrationId: hold.migrationId, vmId, outcome, targetHostId: hold.targetHostId });
    return true;
  }
}
