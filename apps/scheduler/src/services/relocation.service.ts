import { Inject, Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { Planner } from '../placement/planner';
import { HostView, PlacementRequest } from '../placement/types';
import { CachedHost, ClaimRepository, HostRepository } from '../persistence';
import { HostCache } from './host-cache.service';
import { PLANNER } from './tokens';

export type Relocation =
  | { ok: true; host: CachedHost; reason: string }
  /** `filledUp`: hosts passed the filters but every guarded allocation lost a race (planning again may help). */
  | { ok: false; reason: string; filledUp: boolean };

/**
 * Capacity elsewhere for a VM that already has a claim: a build retried on another host, a live migration's
 * target. Fills in the VM's server group (the hosts of its other members, and where they are migrating to),
 * plans `req` on `candidates` (the caller's host view) and allocates with the guarded UPDATE on the first ranked
 * host that still fits. The claim row is the caller's business (reassign it, or record a migration hold).
 */
@Injectable()
export class RelocationService {
  constructor(
    @Inject(PLANNER) private readonly planner: Planner,
    private readonly cache: HostCache,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
  ) {}

  /** Sets `req.groupHosts` when the VM is in a group (the caller may read it to explain a refusal). */
  async allocateElsewhere(m: EntityManager, req: PlacementRequest, candidates: HostView[]): Promise<Relocation> {
    if (req.group) {
      await this.claims.lockGroup(m, req.group.name);
      req.groupHosts = await this.claims.groupHosts(m, req.group.name, req.vmId);
    }
    const plan = this.planner.plan(candidates, req, null);
    if (!plan.ok) return { ok: false, reason: plan.reason, filledUp: false };
    for (const c of plan.ranked) {
      const h = await this.hosts.tryAllocate(m, c.host.id, req);
      if (!h) continue;
      this.cache.put(h);
      return { ok: true, host: h, reason: c.reason };
    }
    return { ok: false, reason: 'every candidate host filled up meanwhile', filledUp: true };
  }
}
