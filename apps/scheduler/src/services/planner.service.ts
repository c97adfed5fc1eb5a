import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { PlannerSettingsRequest, PlannerSettingsView, RecommendationView, SCHEMA_VERSION, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { Planner } from '../placement/planner';
import { WeighedPolicy } from '../placement/policies';
import { PlacementRequest } from '../placement/types';
import { LoadModel } from '../planner/load-model';
import { PlannerRound } from '../planner/planner-round';
import { changedHotRounds } from '../planner/goals/hot-spot.goal';
import { PlannerRepository, Recommendation, RecommendationState, StoredSettings } from '../persistence';
import { SchedulerConfig } from './config';
import { decisionEventId } from './event-ids';
import { HostCache } from './host-cache.service';
import { MaintenanceService } from './maintenance.service';
import { plannerVm } from './planner-inputs';
import { PLANNER, SCHEDULER_CONFIG } from './tokens';

const PLANNER_LOCK = `hashtext('minicloud.scheduler.planner')`;
/** An applied recommendation whose migration.requested got no answer after this long is published again. */
const REPUBLISH_AFTER_MS = 10_000;

export function toRecommendationView(r: Recommendation): RecommendationView {
  return {
    id: r.id,
    kind: r.kind,
    vmId: r.vmId,
    sourceHostId: r.sourceHostId,
    targetHostId: r.targetHostId,
    reason: r.reason,
    gapBefore: r.gapBefore,
    gapAfter: r.gapAfter,
    state: r.state,
    migrationId: r.migrationId,
    createdAt: r.createdAt.toISOString(),
  };
}

/**
 * The migration planner (Watcher-style audits in the scheduler, which knows placements and load). Every
 * PLANNER_INTERVAL_S one replica at a time (session advisory lock) runs a round: open recommendations that no
 * longer hold expire, the goals (hot spots, balance, consolidation) propose new ones, stored in
 * scheduler.recommendations. Manual automation lists them (applied or dismissed by id); automatic applies each
 * at once. Applying publishes `migration.requested` (origin planner, to the recommended target); the scheduler
 * then holds capacity there as for any migration. The round also moves the maintenance drains on.
 */
@Injectable()
export class PlannerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger(PlannerService.name);
  private readonly model: LoadModel;
  private readonly round: PlannerRound;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  constructor(
    private readonly db: DataSource,
    @Inject(Bus) private readonly bus: Bus,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
    @Inject(PLANNER) placement: Planner,
    private readonly cache: HostCache,
    private readonly repo: PlannerRepository,
    private readonly maintenance: MaintenanceService,
  ) {
    // The least-loaded policy's score, with its configured weights.
    const policy = placement.policyFor({ policy: 'least-loaded' } as PlacementRequest) as WeighedPolicy;
    this.model = new LoadModel(cfg.filters.loadCaps, policy);
    this.round = new PlannerRound(placement, this.model, cfg.planner.cpuSource);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.cfg.planner.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const qr = this.db.createQueryRunner();
    try {
      await qr.connect();
      const [{ ok }] = await qr.query(`SELECT pg_try_advisory_lock(${PLANNER_LOCK}) AS ok`);
      if (!ok) return;
      try {
        await this.runRound();
        await this.maintenance.tick();
      } finally {
        await qr.query(`SELECT pg_advisory_unlock(${PLANNER_LOCK})`);
      }
    } catch (err) {
      this.log.warn({ msg: 'planner round failed', err: String((err as Error)?.message ?? err) });
    } finally {
      this.running = false;
      await qr.release().catch(() => undefined);
    }
  }

  /** One round: expire, propose, and (automatic) apply. */
  async runRound(): Promise<{ proposed: number; expired: number; applied: number }> {
    const settings = await this.settings();
    await this.cache.view(true);
    const hosts = this.cache.snapshot();
    const m = this.db.manager;
    const perHost = await this.repo.plannerHosts(m);
    const vmCpu = new Map<string, number>();
    for (const h of perHost) for (const [vmId, cpu] of Object.entries(h.vmCpu)) vmCpu.set(vmId, Number(cpu));
    const open = await this.repo.list(m, 'open');
    const hotRounds = new Map(perHost.map((h) => [h.hostId, h.hotRounds]));
    const r = this.round.run(
      {
        hosts,
        vms: (await this.repo.activeVms(m)).map((v) => plannerVm(v, vmCpu)),
        holds: await this.repo.openHolds(m),
        vmCpuSum: new Map(perHost.filter((h) => h.vmCpuSum !== null).map((h) => [h.hostId, h.vmCpuSum as number])),
        open: open.map((p) => ({ ...p })),
        cooldown: await this.repo.inCooldown(m, this.cfg.planner.cooldownMs),
        hotRounds,
        consolidationBusy: await this.repo.consolidationBusy(m),
      },
      { balanceThreshold: this.cfg.planner.balanceThreshold, hotSpotRounds: this.cfg.planner.hotSpotRounds, consolidation: settings.consolidation },
    );
    const created = await this.db.transaction(async (tx) => {
      await this.repo.storeHotRounds(tx, changedHotRounds(hotRounds, r.hotRounds));
      for (const e of r.expire) await this.repo.close(tx, e.id, 'expired', e.why);
      const out: Recommendation[] = [];
      for (const p of r.proposals) {
        const rec = await this.repo.insert(tx, { id: randomUUID(), ...p });
        if (rec) out.push(rec);
      }
      return out;
    });
    for (const e of r.expire) this.log.log({ msg: 'recommendation expired', id: e.id, why: e.why });
    for (const c of created) this.log.log({ msg: 'migration recommended', id: c.id, kind: c.kind, vmId: c.vmId, sourceHostId: c.sourceHostId, targetHostId: c.targetHostId, reason: c.reason });
    let applied = 0;
    if (settings.automation === 'automatic') {
      for (const id of [...r.keep, ...created.map((c) => c.id)]) {
        if (await this.apply(id, 'applied automatically (automation level automatic)').catch(() => null)) applied++;
      }
    }
    for (const u of await this.repo.unanswered(m, REPUBLISH_AFTER_MS)) await this.requestMigration(u);
    return { proposed: created.length, expired: r.expire.length, applied };
  }

  async list(state?: RecommendationState): Promise<RecommendationView[]> {
    return (await this.repo.list(this.db.manager, state)).map(toRecommendationView);
  }

  /** Starts the recommended migration. 404: unknown id; 409: not open (applied, dismissed or expired). */
  async apply(id: string, why = 'applied by request'): Promise<RecommendationView> {
    const rec = await this.db.transaction(async (m) => {
      const r = await this.repo.get(m, id, true);
      if (!r) throw new RpcError(404, `recommendation ${id} not found`);
      if (r.state !== 'open') throw new RpcError(409, `recommendation ${id} is ${r.state}, not open`);
      return (await this.repo.close(m, id, 'applied', why, randomUUID())) as Recommendation;
    });
    await this.requestMigration(rec);
    this.log.log({ msg: 'recommendation applied', id, migrationId: rec.migrationId, vmId: rec.vmId, why });
    return toRecommendationView(rec);
  }

  async dismiss(id: string): Promise<RecommendationView> {
    const rec = await this.db.transaction(async (m) => {
      const r = await this.repo.get(m, id, true);
      if (!r) throw new RpcError(404, `recommendation ${id} not found`);
      if (r.state !== 'open') throw new RpcError(409, `recommendation ${id} is ${r.state}, not open`);
      return (await this.repo.close(m, id, 'dismissed', 'dismissed by request')) as Recommendation;
    });
    return toRecommendationView(rec);
  }

  /** The stored settings, else the environment's. */
  async settings(): Promise<StoredSettings> {
    return (await this.repo.settings(this.db.manager)) ?? { automation: this.cfg.planner.automation, consolidation: this.cfg.planner.consolidation };
  }

  async settingsView(): Promise<PlannerSettingsView> {
    const s = await this.settings();
    const p = this.cfg.planner;
    return {
      automation: s.automation,
      consolidation: s.consolidation,
      balanceThreshold: p.balanceThreshold,
      hotSpotRounds: p.hotSpotRounds,
      cooldownSeconds: p.cooldownMs / 1000,
      intervalSeconds: p.intervalMs / 1000,
    };
  }

  /** Changes the automation level and/or consolidation at run time (kept in scheduler.planner_settings). */
  async setSettings(r: PlannerSettingsRequest): Promise<PlannerSettingsView> {
    await this.db.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.planner-settings'))`);
      const cur = (await this.repo.settings(m)) ?? { automation: this.cfg.planner.automation, consolidation: this.cfg.planner.consolidation };
      await this.repo.saveSettings(m, { automation: r.automation ?? cur.automation, consolidation: r.consolidation ?? cur.consolidation });
    });
    const view = await this.settingsView();
    this.log.log({ msg: 'planner settings changed', automation: view.automation, consolidation: view.consolidation });
    return view;
  }

  /** migration.requested for an applied recommendation; the same migration id always gets the same event id. */
  private async requestMigration(r: Recommendation): Promise<void> {
    const migrationId = r.migrationId as string;
    await this.bus.publish(Subjects.MigrationRequested, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.MigrationRequested, migrationId),
      occurredAt: r.updatedAt.toISOString(),
      migrationId,
      vmId: r.vmId,
      sourceHostId: r.sourceHostId,
      targetHostId: r.targetHostId,
      // The migrator moves the VM cold when it finds it stopped.
      mode: 'live',
      storage: 'copy',
      strategy: 'auto',
      origin: 'planner',
      reason: `planner recommendation ${r.id}: ${r.reason}`.slice(0, 2000),
    });
  }
}
