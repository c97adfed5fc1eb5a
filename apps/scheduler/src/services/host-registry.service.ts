import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EventOf, Subjects } from '@minicloud/contracts';
import { firstDelivery } from '@minicloud/database';
import { AllocationRatios } from '../placement/capacity';
import { HostRepository, PlannerRepository } from '../persistence';
import { SCHEMA } from '../scheduler.constants';
import { ALLOCATION_RATIOS } from './tokens';

/** Keeps scheduler.hosts in step with the provisioner's host events. */
@Injectable()
export class HostRegistryService {
  private readonly log = new Logger(HostRegistryService.name);

  constructor(
    private readonly db: DataSource,
    private readonly hosts: HostRepository,
    private readonly planner: PlannerRepository,
    @Inject(ALLOCATION_RATIOS) private readonly ratios: AllocationRatios,
  ) {}

  async onRegistered(consumer: string, e: EventOf<typeof Subjects.HostRegistered>): Promise<void> {
    await this.db.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.hosts.upsertRegistered(
        m,
        {
          id: e.hostId,
          name: e.name,
          state: e.state,
          stateAt: new Date(e.occurredAt),
          arch: e.facts.arch,
          totalVcpus: e.facts.cpus,
          totalMemoryMiB: e.facts.memoryMiB,
          totalDiskGiB: e.facts.diskGiB,
          sharedStorage: e.facts.sharedStorage === true,
        },
        this.ratios,
      );
      this.log.log({ msg: 'host registered', hostId: e.hostId, name: e.name, state: e.state, facts: e.facts });
    });
  }

  /**
   * Applies a state change unless a newer one is stored. A change for a host not registered yet throws, so
   * JetStream redelivers it after the registration has been consumed (the two subjects have separate consumers).
   */
  async onStateChanged(consumer: string, e: EventOf<typeof Subjects.HostStateChanged>): Promise<void> {
    await this.db.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      const r = await this.hosts.updateState(m, e.hostId, e.state, new Date(e.occurredAt));
      if (r === 'unknown') throw new Error(`host ${e.hostId} is not registered with the scheduler yet`);
      this.log.log({ msg: r === 'updated' ? 'host state changed' : 'older host state ignored', hostId: e.hostId, state: e.state, reason: e.reason });
    });
  }

  /**
   * Keeps the latest load per host (for the load caps, least-loaded and metrics freshness). No inbox: the
   * write is idempotent and an older round never overwrites a newer one. An unknown host is skipped.
   */
  async onMetrics(e: EventOf<typeof Subjects.HostMetrics>): Promise<boolean> {
    if (e.error) return false;
    return this.hosts.updateMetrics(this.db.manager, {
      hostId: e.hostId,
      at: new Date(e.occurredAt),
      cpuPercent: e.cpuPercent ?? null,
      memoryPercent: e.memoryUsedPercent ?? null,
      vmCount: e.vmCount ?? null,
    });
  }

  /**
   * Keeps each host's latest VM CPU for the planner (PLANNER_CPU_SOURCE=vms): the sum of its VMs' cpuPercent (% of
   * one vCPU) and the figure per VM (vmId, else the domain name mc-<vm id>). Idempotent, older rounds ignored; an
   * unknown host is skipped.
   */
  async onVmMetrics(e: EventOf<typeof Subjects.VmMetrics>): Promise<boolean> {
    let sum = 0;
    const perVm: Record<string, number> = {};
    for (const s of e.vms) {
      if (s.cpuPercent == null) continue;
      sum += s.cpuPercent;
      const id = s.vmId ?? DOMAIN.exec(s.domain)?.[1];
      if (id) perVm[id] = s.cpuPercent;
    }
    return this.planner.storeVmCpu(this.db.manager, e.hostId, new Date(e.occurredAt), sum, perVm);
  }
}

const DOMAIN = /^mc-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
