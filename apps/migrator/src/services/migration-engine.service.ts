import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { EventBody, Rpc, Subjects, VmPrepareMigrationReply } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { SshPool } from '@minicloud/ssh';
import { MIGRATOR_CONFIG, MigratorConfig } from '../config/config';
import { Durables } from '../constants';
import { HostRef, LibvirtHostOps } from '../engine/host-ops';
import { admit } from '../engine/limits';
import { MigrationRunner, RunnerDeps } from '../engine/runner';
import { MigrationRecord } from '../persistence/entities';
import { MigrationsRepository } from '../persistence/migrations.repository';

/**
 * The migrator's engine on every replica: records planned migrations, starts them within the concurrency limits
 * (one replica admits at a time), runs each with a MigrationRunner, keeps a heartbeat, and settles migrations
 * whose owner stopped (a killed or restarted migrator) by asking both hosts.
 */
@Injectable()
export class MigrationEngineService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('MigrationEngine');
  /** This process, as the owner of the migrations it runs. */
  readonly owner = `migrator-${process.pid}-${randomUUID().slice(0, 8)}`;
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly repo: MigrationsRepository,
    private readonly pool: SshPool,
    @Inject(MIGRATOR_CONFIG) private readonly cfg: MigratorConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.consume(Subjects.MigrationPlanned, { durable: Durables.migrationPlanned }, async (e) => {
      const fresh = await this.repo.transaction(async (m) => (await this.repo.firstDelivery(m, Durables.migrationPlanned, e.eventId)) && this.repo.insertPlanned(m, e));
      if (fresh) {
        this.log.log({ msg: 'migration planned', migrationId: e.migrationId, vmId: e.vmId, from: e.sourceHostId, to: e.targetHostId });
        void this.tick();
      }
    });
    await this.bus.consume(Subjects.MigrationControl, { durable: Durables.migrationControl }, async (e) => {
      await this.repo.transaction(async (m) => {
        if (await this.repo.firstDelivery(m, Durables.migrationControl, e.eventId)) await this.repo.recordControl(m, e.migrationId, e.action);
      });
      this.log.log({ msg: 'migration control recorded', migrationId: e.migrationId, action: e.action });
      void this.tick();
    });
    this.timer = setInterval(() => void this.tick(), this.cfg.pollMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // Running migrations keep going on the hosts; another replica (or this one restarted) settles them.
  }

  /** Migrations running in this process (tests and health use it). */
  runningHere(): string[] {
    return [...this.active.keys()];
  }

  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      for (const rec of await this.repo.takeOverStale(this.owner, this.cfg.staleAfterS, new Set(this.active.keys()))) {
        this.start(rec, true);
      }
      const admitted = await this.repo.admit(this.owner, (planned, running) => {
        const slots = (r: MigrationRecord) => ({ id: r.id, sourceHostId: r.sourceHostId, targetHostId: r.targetHostId ?? r.sourceHostId, rec: r });
        return admit(planned.map(slots), running.map(slots), { maxPerHost: this.cfg.maxPerHost, maxInCluster: this.cfg.maxInCluster }).map((x) => x.rec);
      });
      for (const rec of admitted) this.start(rec, false);
    } catch (err) {
      this.log.warn({ msg: 'migration tick failed', err: String((err as Error)?.message ?? err) });
    } finally {
      this.ticking = false;
    }
  }

  private start(rec: MigrationRecord, recovering: boolean): void {
    if (this.active.has(rec.id)) return;
    const runner = new MigrationRunner(this.deps(), rec);
    const p = (recovering ? runner.recover() : runner.run())
      .catch((err) => this.log.error({ msg: 'migration runner crashed', migrationId: rec.id, err: String((err as Error)?.stack ?? err) }))
      .finally(() => {
        this.active.delete(rec.id);
        void this.tick();
      });
    this.active.set(rec.id, p);
  }

  private deps(): RunnerDeps {
    const ops = (h: HostRef) => new LibvirtHostOps(this.pool.bind({ address: h.address, port: h.sshPort, user: h.sshUser }));
    return {
      cfg: this.cfg,
      host: (id) => this.repo.host(id),
      ops,
      prepare: async (vmId, targetHostId, storage) => {
        await this.bus.request<VmPrepareMigrationReply>(Rpc.VmPrepareMigration, { vmId, targetHostId, storage }, 600_000);
      },
      history: (s, t, vmId) => this.repo.migrationHistory(s, t, vmId),
      update: (id, patch) => this.repo.update(id, patch),
      heartbeat: (id) => this.repo.heartbeat(id, this.owner),
      publishStarted: async (e) => void (await this.bus.publish(Subjects.MigrationStarted, e)),
      publishProgress: async (e) => void (await this.bus.publish(Subjects.MigrationProgress, e)),
      publishCompleted: async (e) => void (await this.bus.publish(Subjects.MigrationCompleted, e)),
      publishFailed: async (e: EventBody<typeof Subjects.MigrationFailed>) => void (await this.bus.publish(Subjects.MigrationFailed, e)),
      log: (level, msg, extra) => this.log[level]({ msg, ...extra }),
    };
  }
}
