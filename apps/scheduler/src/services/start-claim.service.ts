import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { VmStartClaimReply, VmStartClaimRequest } from '@minicloud/contracts';
import { RpcError } from '@minicloud/messaging';
import { CAPACITY_FILTERS } from '../placement/filters';
import { explainTargetRefused } from '../placement/migration';
import { Planner } from '../placement/planner';
import { planStartClaim } from '../placement/start-claim';
import { ClaimRepository, HostRepository, MigrationHoldRepository } from '../persistence';
import { HostCache } from './host-cache.service';
import { ReservationService } from './reservation.service';
import { SchedulingService } from './scheduling.service';
import { PLANNER } from './tokens';

/**
 * rpc.scheduler.vm.start-claim: no VM runs without a claim. The gateway asks before it hands `start` to the
 * provisioner. A VM stopped by a preemption (its claim released, or moved to the host it would have been moved
 * to) takes capacity again on its own host — its disk is host-local — with the guarded allocation; when the host
 * has no room (or is not up, or is draining) the answer is 409 with the reason, and nothing changes.
 */
@Injectable()
export class StartClaimService {
  private readonly log = new Logger(StartClaimService.name);

  constructor(
    private readonly db: DataSource,
    @Inject(PLANNER) private readonly planner: Planner,
    private readonly cache: HostCache,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly holds: MigrationHoldRepository,
    private readonly reservations: ReservationService,
    private readonly scheduling: SchedulingService,
  ) {}

  async claimForStart(r: VmStartClaimRequest): Promise<VmStartClaimReply> {
    const out = await this.db.transaction(async (m) => {
      await this.claims.lockVm(m, r.vmId);
      const claim = await this.claims.find(m, r.vmId);
      const plan = planStartClaim(r.vmId, r.hostId, claim, await this.holds.openOfVm(m, r.vmId));
      if (plan.kind === 'refuse') throw new RpcError(409, plan.reason);
      if (plan.kind === 'held') return { claim: 'held' as const, reason: `VM ${r.vmId} holds its capacity on host ${r.hostId}`, freed: false };
      const c = claim!;
      const size = { vcpus: c.vcpus, memoryMiB: c.memoryMiB, diskGiB: c.diskGiB, preemptible: !!c.preemptible };
      const taken = await this.hosts.tryAllocate(m, r.hostId, size);
      if (!taken) {
        const host = await this.hosts.get(m, r.hostId);
        const filters = this.planner.filters.filter((f) => f.name === 'state' || CAPACITY_FILTERS.has(f.name));
        const why = explainTargetRefused(filters, host ?? undefined, { vmId: r.vmId, ...size, targetHostId: r.hostId, priority: c.priority ?? 4 }).replace(/^target /, 'host ');
        throw new RpcError(409, `VM ${r.vmId} cannot start: ${plan.why}, and ${why}. Free capacity on that host (its disk is there) and try again`);
      }
      this.cache.put(taken);
      if (plan.from) {
        // The claim leaves the host a preemption moved it to (and a reservation slot there, if it had one; a
        // released claim gave its slot back when it was released).
        await this.hosts.free(m, plan.from, c.vcpus, c.memoryMiB, c.diskGiB, !!c.preemptible);
        await this.reservations.onClaimReleased(m, c);
      }
      const reason = `started again on host ${taken.name}: ${plan.why}; capacity taken again there`;
      await this.claims.reactivate(m, r.vmId, r.hostId, reason);
      return { claim: 'reclaimed' as const, reason, freed: !!plan.from };
    });
    if (out.claim === 'reclaimed') this.log.log({ msg: 'stopped VM takes capacity again to start', vmId: r.vmId, hostId: r.hostId, reason: out.reason });
    if (out.freed) this.scheduling.onCapacityFreed();
    return { vmId: r.vmId, hostId: r.hostId, claim: out.claim, reason: out.reason };
  }
}
