import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { HostMaintenanceRequest, HostMaintenanceView, SCHEMA_VERSION, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { Planner } from '../placement/planner';
import { planDrain } from '../planner/drain';
import { ClaimRepository, HostRepository, MaintenanceRecord, MaintenanceRepository, PlannerRepository } from '../persistence';
import { decisionEventId } from './event-ids';
import { HostCache } from './host-cache.service';
import { MigrationHoldService } from './migration-hold.service';
import { claimRequest } from './planner-inputs';
import { PLANNER } from './tokens';

/** A drain request not answered by the scheduler after this long is published again (same migration id). */
const REPUBLISH_AFTER_MS = 10_000;

/**
 * Host maintenance (rpc.scheduler.host.maintenance). enter: the host is marked draining in scheduler.hosts (no
 * placement, no migration target from that moment: the state filter and the claim's SQL guard), and each of its
 * VMs gets a `migration.requested` (origin maintenance; the scheduler chooses the target as for any request, the
 * migrator runs them within its limits). A VM no host can take is reported as blocked and tried again every
 * planner round. Once no claim is left on the host and no migration leaves it, it is `maintenance` and
 * `host.state-changed` says so. exit: the host takes VMs again, `host.state-changed` up.
 *
 * The maintenance mark is the scheduler's own column: liveness events (up/down from the metrics collector,
 * re-registration) change `hosts.state` but never clear it, so nothing flips a host in maintenance back by accident.
 */
@Injectable()
export class MaintenanceService implements OnApplicationBootstrap {
  private readonly log = new Logger(MaintenanceService.name);

  constructor(
    private readonly db: DataSource,
    @Inject(Bus) private readonly bus: Bus,
    @Inject(PLANNER) private readonly placement: Planner,
    private readonly cache: HostCache,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly repo: MaintenanceRepository,
    private readonly planner: PlannerRepository,
    private readonly migrations: MigrationHoldService,
  ) {}

  onApplicationBootstrap(): void {
    // A migration off a draining host ended: the host may be empty now.
    this.migrations.onSettled = (hold) => void this.step(hold.sourceHostId).catch((err) => this.log.warn({ msg: 'drain step failed', hostId: hold.sourceHostId, err: String((err as Error)?.message ?? err) }));
  }

  async request(r: HostMaintenanceRequest): Promise<HostMaintenanceView> {
    const host = await this.hosts.get(this.db.manager, r.hostId);
    if (!host) throw new RpcError(404, `host ${r.hostId} is not registered with the scheduler`);
    if (r.action === 'enter') {
      const entered = await this.db.transaction(async (m) => {
        await this.repo.lockHost(m, r.hostId);
        const rec = await this.repo.get(m, r.hostId);
        if (rec && rec.state !== 'up') return false; // already draining or in maintenance: nothing new
        await this.repo.enter(m, r.hostId, host.state);
        return true;
      });
      if (entered) this.log.log({ msg: 'host draining for maintenance', hostId: r.hostId, name: host.name });
      await this.cache.reload(r.hostId);
      await this.step(r.hostId);
    } else {
      const rec = await this.db.transaction(async (m) => {
        await this.repo.lockHost(m, r.hostId);
        const cur = await this.repo.get(m, r.hostId);
        if (!cur || cur.state === 'up') return null;
        return this.repo.exit(m, r.hostId);
      });
      await this.cache.reload(r.hostId);
      if (rec) {
        this.log.log({ msg: 'host out of maintenance', hostId: r.hostId, name: host.name });
        await this.announce(rec);
      }
    }
    return this.view(r.hostId);
  }

  async view(hostId: string): Promise<HostMaintenanceView> {
    const m = this.db.manager;
    const rec = await this.repo.get(m, hostId);
    const remainingVms = (await this.planner.activeVms(m, hostId)).length;
    if (!rec) return { hostId, state: 'up', remainingVms, migrationIds: [], blocked: [], timedOut: [] };
    const moves = rec.state === 'up' ? [] : await this.repo.moves(m, hostId, rec.epoch);
    return {
      hostId,
      state: rec.state,
      remainingVms,
      migrationIds: moves.map((x) => x.migrationId),
      blocked: rec.state === 'draining' ? await this.repo.blocked(m, hostId) : [],
      timedOut: moves.filter((x) => x.holdOutcome === 'timed-out').map((x) => ({ vmId: x.vmId, migrationId: x.migrationId, reason: x.holdReason ?? 'timed out' })),
    };
  }

  /**
   * Every planner round: migrations that never ended are given up first (their holds time out, so a drain never
   * waits for ever), then each draining host takes one step, and any state change not announced yet is.
   */
  async tick(): Promise<void> {
    await this.migrations.expireOverdue();
    for (const rec of await this.repo.list(this.db.manager)) {
      if (rec.state === 'draining') await this.step(rec.hostId);
      else if (!rec.announced) await this.announce(rec);
    }
  }

  /** One drain step of a host (nothing when it is not draining). */
  async step(hostId: string): Promise<void> {
    const cur = await this.repo.get(this.db.manager, hostId);
    if (!cur || cur.state !== 'draining') return;
    await this.cache.view(true);
    const hosts = this.cache.snapshot();
    const out = await this.db.transaction(async (m) => {
      await this.repo.lockHost(m, hostId);
      const rec = await this.repo.get(m, hostId);
      const host = hosts.find((h) => h.id === hostId);
      if (!rec || rec.state !== 'draining' || !host) return null;
      const vms = await this.planner.activeVms(m, hostId);
      const moves = await this.repo.moves(m, hostId, rec.epoch);
      const latest = new Map(moves.map((x) => [x.vmId, x]));
      const busy = new Set<string>();
      const stale: { vmId: string; migrationId: string }[] = [];
      for (const x of latest.values()) {
        if (x.holdOpen) busy.add(x.vmId);
        else if (!x.holdOutcome && !x.refusal) {
          busy.add(x.vmId);
          if (Date.now() - x.createdAt.getTime() > REPUBLISH_AFTER_MS) stale.push(x);
        }
      }
      // A migration of a VM on the host from another origin (a user's) counts as leaving too.
      for (const h of await this.planner.openHolds(m)) if (h.sourceHostId === hostId) busy.add(h.vmId);
      const requests = vms.map((v) => ({ vmId: v.vmId, request: claimRequest(v) }));
      const groups = new Map<string, Set<string>>();
      for (const v of requests) if (v.request.group) groups.set(v.vmId, await this.claims.groupHosts(m, v.request.group.name, v.vmId));
      const plan = planDrain(this.placement, { host, hosts, vms: requests, busy, outgoing: await this.repo.outgoing(m, hostId) }, (v) => groups.get(v.vmId));
      if (plan.drained) return { rec: await this.repo.drained(m, hostId), name: host.name, fresh: [], stale: [] };
      const fresh: { vmId: string; migrationId: string }[] = [];
      for (const vmId of plan.request) {
        const migrationId = randomUUID();
        await this.repo.addMove(m, hostId, rec.epoch, vmId, migrationId);
        fresh.push({ vmId, migrationId });
      }
      await this.repo.setBlocked(m, hostId, plan.blocked);
      if (plan.blocked.length) this.log.warn({ msg: 'drain blocked', hostId, blocked: plan.blocked });
      return { rec: null, name: host.name, fresh, stale };
    });
    if (!out) return;
    for (const x of [...out.fresh, ...out.stale]) await this.requestMove(hostId, out.name, x.vmId, x.migrationId);
    if (out.fresh.length) this.log.log({ msg: 'drain: migrations requested', hostId, vms: out.fresh.map((x) => x.vmId) });
    if (out.rec) {
      await this.cache.reload(hostId);
      this.log.log({ msg: 'host drained: in maintenance', hostId, name: out.name });
      await this.announce(out.rec);
    }
  }

  /** migration.requested for one VM of the drain; the same migration id always gets the same event id. */
  private async requestMove(hostId: string, hostName: string, vmId: string, migrationId: string): Promise<void> {
    await this.bus.publish(Subjects.MigrationRequested, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.MigrationRequested, migrationId),
      occurredAt: new Date().toISOString(),
      migrationId,
      vmId,
      sourceHostId: hostId,
      mode: 'live',
      storage: 'copy',
      strategy: 'auto',
      origin: 'maintenance',
      reason: `host ${hostName} is draining for maintenance`,
    });
  }

  /** host.state-changed for the record's state (maintenance, or up after an exit); once per state and epoch. */
  private async announce(rec: MaintenanceRecord): Promise<void> {
    if (rec.announced || rec.state === 'draining') return;
    const up = rec.state === 'up';
    await this.bus.publish(Subjects.HostStateChanged, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId('host.maintenance', rec.hostId, `${rec.epoch}:${rec.state}`),
      occurredAt: rec.changedAt.toISOString(),
      hostId: rec.hostId,
      state: up ? 'up' : 'maintenance',
      previousState: rec.previousState,
      reason: up ? 'maintenance ended by request' : 'drained by maintenance request',
    });
    await this.repo.markAnnounced(this.db.manager, rec.hostId, rec.state, rec.epoch);
  }
}
