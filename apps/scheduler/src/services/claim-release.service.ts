import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventOf, Subjects, VmState } from '@minicloud/contracts';
import { firstDelivery } from '@minicloud/database';
import { Claim, ClaimRepository, HoldOutcome, HostRepository } from '../persistence';
import { SCHEMA } from '../scheduler.constants';
import { SchedulerConfig } from './config';
import { HostCache } from './host-cache.service';
import { MigrationHoldService } from './migration-hold.service';
import { DecisionPublisher, VmRequested } from './publisher';
import { RelocationService } from './relocation.service';
import { ReservationService } from './reservation.service';
import { SchedulingService, toPlacementRequest } from './scheduling.service';
import { SCHEDULER_CONFIG } from './tokens';
import { DELETED_REASON } from '../placement/start-claim';

/** States from which `failed` means the build failed: nothing runs on the host, so the capacity is free again. */
const BUILD_STATES: readonly VmState[] = ['requested', 'scheduled', 'provisioning'];

type Retry = { kind: 'retry'; claim: Claim; request: VmRequested } | { kind: 'give-up'; reason: string } | null;

/**
 * Gives a VM's claimed capacity back when its build fails or it is deleted (at most once per VM), and retries
 * a failed build on another host: the provisioner reports a retriable build failure as vm.state-changed
 * `requested` (from scheduled/provisioning); the scheduler then claims on a host not tried yet and publishes
 * vm.scheduled with the next attempt, up to SCHEDULER_MAX_BUILD_ATTEMPTS, after which the VM is failed.
 */
@Injectable()
export class ClaimReleaseService {
  private readonly log = new Logger(ClaimReleaseService.name);

  constructor(
    private readonly db: DataSource,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly reservations: ReservationService,
    private readonly scheduling: SchedulingService,
    private readonly cache: HostCache,
    private readonly publisher: DecisionPublisher,
    private readonly relocation: RelocationService,
    private readonly migrations: MigrationHoldService,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
  ) {}

  /**
   * A VM that failed during its build releases its claim. A VM that fails later (it was running) keeps its
   * claim: its disk stays on the host and it may be started again; its deletion releases it.
   */
  async onVmStateChanged(consumer: string, e: EventOf<typeof Subjects.VmStateChanged>): Promise<boolean> {
    if (e.state === 'requested' && e.previousState && (e.previousState === 'scheduled' || e.previousState === 'provisioning')) {
      return this.retryBuild(consumer, e);
    }
    if (e.state !== 'failed') return false;
    if (e.previousState && !BUILD_STATES.includes(e.previousState)) return false;
    return this.release(consumer, e.eventId, e.vmId, `build failed${e.reason ? `: ${e.reason}` : ''}`, 'failed');
  }

  async onVmDeleted(consumer: string, e: EventOf<typeof Subjects.VmDeleted>): Promise<boolean> {
    return this.release(consumer, e.eventId, e.vmId, DELETED_REASON, 'vm-deleted');
  }

  /**
   * true when capacity was given back by this call. A migration hold the VM still has open is settled with
   * `holdOutcome` (its target is freed too).
   */
  async release(consumer: string, eventId: string, vmId: string, why: string, holdOutcome: HoldOutcome = 'failed'): Promise<boolean> {
    const freed = await this.db.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, eventId))) return false;
      await this.claims.lockVm(m, vmId);
      // A VM deleted while it waited in the queue leaves the queue (the tombstone below stops a late placement).
      await m.query(`DELETE FROM scheduler.pending WHERE vm_id = $1`, [vmId]);
      const heldFreed = await this.migrations.dropOpenHold(m, vmId, holdOutcome);
      const claim = await this.claims.release(m, vmId, why);
      if (!claim || !claim.hostId) return heldFreed;
      await this.hosts.free(m, claim.hostId, claim.vcpus, claim.memoryMiB, claim.diskGiB, !!claim.preemptible);
      await this.reservations.onClaimReleased(m, claim);
      this.log.log({ msg: 'claim released', vmId, hostId: claim.hostId, why });
      return true;
    });
    if (freed) this.scheduling.onCapacityFreed();
    return freed;
  }

  private async retryBuild(consumer: string, e: EventOf<typeof Subjects.VmStateChanged>): Promise<boolean> {
    await this.cache.view(true);
    const out: Retry = await this.db.transaction(async (m): Promise<Retry> => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return null;
      const { claim } = await this.claims.lookup(m, e.vmId);
      if (!claim || claim.releasedAt || !claim.hostId || (e.hostId && e.hostId !== claim.hostId)) return null;
      await this.hosts.free(m, claim.hostId, claim.vcpus, claim.memoryMiB, claim.diskGiB, !!claim.preemptible);
      const failedHosts = [...(claim.failedHosts ?? []), claim.hostId];
      const attempt = (claim.attempt ?? 1) + 1;
      const giveUp = async (reason: string): Promise<Retry> => {
        await this.claims.releaseActive(m, e.vmId, reason);
        await this.reservations.onClaimReleased(m, claim);
        return { kind: 'give-up', reason };
      };
      const last = e.reason ? `; last: ${e.reason}` : '';
      if (attempt > this.cfg.maxBuildAttempts || !claim.request) return giveUp(`build failed on ${failedHosts.length} host(s), no attempts left${last}`);
      const request = claim.request as unknown as VmRequested;
      const req = { ...toPlacementRequest(request), excludeHosts: failedHosts };
      const r = await this.relocation.allocateElsewhere(m, req, this.cache.snapshot());
      if (!r.ok && r.filledUp) return giveUp(`build failed on ${failedHosts.length} host(s); alternate hosts filled up meanwhile${last}`);
      if (!r.ok) return giveUp(`build failed on ${failedHosts.length} host(s) and no alternate host: ${r.reason}${last}`);
      const reason = `attempt ${attempt} after build failure on ${failedHosts.join(', ')}: ${r.reason}`;
      return { kind: 'retry', claim: await this.claims.reassign(m, e.vmId, r.host.id, attempt, failedHosts, reason), request };
    });
    if (!out) return false;
    if (out.kind === 'retry') {
      await this.publisher.scheduled(out.request, out.claim, out.claim.attempt ?? 2);
      this.log.warn({ msg: 'build failed, VM rescheduled on another host', vmId: e.vmId, hostId: out.claim.hostId, attempt: out.claim.attempt });
    } else {
      await this.publisher.vmFailed(e.vmId, e.generation + 1, out.reason);
      this.scheduling.onCapacityFreed();
      this.log.warn({ msg: 'build failed, no more attempts', vmId: e.vmId, reason: out.reason });
    }
    return true;
  }
}
