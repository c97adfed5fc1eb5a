import { ConflictException, Injectable, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { MigrationControlAction, MigrationView, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { MigrationRow } from '../db/migration.entities';
import { fieldError } from '../http/exceptions';
import { GatewayRepository, Page } from '../read-model/gateway.repository';
import { ListMigrationsQuery, MigrateVmDto } from './dto';
import { controlRefusal, defaultMigrationStorage, migrationRefusal } from './migration-rules';
import { toMigrationView } from './migration-view';
import { MigrationsRepository } from './migrations.repository';

/** The reason recorded for a migration a client asked for through the API. */
export const MANUAL_REASON = 'requested by a client';

/** Live and cold migrations through the API: checked against the read model, recorded, handed to the scheduler. */
@Injectable()
export class MigrationsService {
  private readonly log = new Logger('MigrationsService');

  constructor(
    private readonly migrations: MigrationsRepository,
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
  ) {}

  /**
   * POST /v1/vms/:id/migrate. 404 for an unknown VM, 400 for an unknown target host, 409 when the migration
   * cannot happen now (see migrationRefusal). The check and the insert run with the VM row locked, so two
   * concurrent requests for one VM cannot both pass. Then migration.requested is published; if the bus does not
   * take it, the migration is removed again and the client gets a 503 (nothing half-accepted).
   */
  async request(vmId: string, dto: MigrateVmDto): Promise<MigrationView> {
    if (!(await this.repo.findVm(vmId))) throw new NotFoundException(`vm ${vmId} not found`);
    let target = null;
    if (dto.targetHost !== undefined) {
      target = await this.repo.resolveHost(dto.targetHost);
      if (!target) throw fieldError('targetHost', `unknown host "${dto.targetHost}"`);
    }
    const mode = dto.mode ?? 'live';
    const row = await this.repo.transaction(async (m) => {
      const vm = await this.repo.lockVm(m, vmId);
      if (!vm) throw new NotFoundException(`vm ${vmId} not found`);
      const open = await this.migrations.findOpenForVm(vmId, m);
      const storage = dto.storage ?? defaultMigrationStorage(vm.storage);
      const refusal = migrationRefusal({
        mode,
        storage,
        vm: { id: vm.id, name: vm.name, status: vm.status, hostId: vm.hostId, storage: vm.storage },
        target: target ? { id: target.id, name: target.name, state: target.state } : null,
        open: open ? { id: open.id, state: open.state } : null,
      });
      if (refusal) throw new ConflictException(refusal);
      const now = new Date();
      const r: MigrationRow = {
        id: randomUUID(),
        vmId,
        state: 'requested',
        origin: 'manual',
        mode,
        storage,
        requestedStrategy: dto.strategy ?? 'auto',
        strategy: null,
        strategyReason: null,
        sourceHostId: vm.hostId!,
        targetHostId: target?.id ?? null,
        maxDowntimeMs: dto.maxDowntimeMs ?? null,
        bandwidthMiBs: dto.bandwidthMiBs ?? null,
        reason: MANUAL_REASON,
        stage: null,
        progress: null,
        progressAt: null,
        predictions: null,
        dirtyRateMiBs: null,
        result: null,
        stages: [],
        vmHostId: null,
        error: null,
        plannedAt: null,
        startedAt: null,
        finishedAt: null,
        requestedAt: now,
        updatedAt: now,
      };
      await this.migrations.insert(r, m);
      return r;
    });
    try {
      await this.bus.publish(Subjects.MigrationRequested, {
        migrationId: row.id,
        vmId,
        sourceHostId: row.sourceHostId,
        ...(row.targetHostId ? { targetHostId: row.targetHostId } : {}),
        mode,
        storage: row.storage as 'copy' | 'shared',
        strategy: row.requestedStrategy as NonNullable<MigrateVmDto['strategy']>,
        ...(row.maxDowntimeMs !== null ? { maxDowntimeMs: row.maxDowntimeMs } : {}),
        ...(row.bandwidthMiBs !== null ? { bandwidthMiBs: row.bandwidthMiBs } : {}),
        origin: 'manual',
        reason: MANUAL_REASON,
      });
    } catch (err) {
      this.log.warn({ msg: 'migration.requested not published; request withdrawn', vmId, migrationId: row.id, err: String((err as Error)?.message ?? err) });
      await this.migrations.removeUnpublished(row.id);
      throw new ServiceUnavailableException('the migration could not be queued (message bus unavailable); nothing was changed, try again');
    }
    return toMigrationView(row);
  }

  async get(id: string): Promise<MigrationView> {
    const row = await this.migrations.find(id);
    if (!row) throw new NotFoundException(`migration ${id} not found`);
    return toMigrationView(row);
  }

  async list(q: ListMigrationsQuery): Promise<Page<MigrationView>> {
    const page = await this.migrations.list({ vmId: q.vm, state: q.state, limit: q.limit ?? 50, offset: q.offset ?? 0 });
    return { items: page.items.map(toMigrationView), total: page.total };
  }

  /**
   * Cancel or force-complete: 404 unknown, 409 once finished, else migration.control is published for the
   * migrator (the migration itself changes when the migrator reports back) and the current view is answered.
   */
  async control(id: string, action: MigrationControlAction): Promise<MigrationView> {
    const row = await this.migrations.find(id);
    if (!row) throw new NotFoundException(`migration ${id} not found`);
    const refusal = controlRefusal(action, row);
    if (refusal) throw new ConflictException(refusal);
    try {
      await this.bus.publish(Subjects.MigrationControl, { migrationId: id, action });
    } catch (err) {
      this.log.warn({ msg: 'migration.control not published', migrationId: id, action, err: String((err as Error)?.message ?? err) });
      throw new ServiceUnavailableException(`the ${action} could not be queued (message bus unavailable); try again`);
    }
    return toMigrationView(row);
  }
}
