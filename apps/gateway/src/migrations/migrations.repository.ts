import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { MigrationState } from '@minicloud/contracts';
import { MigrationRow } from '../db/migration.entities';
import { OPEN_MIGRATION_STATES } from './migration-rules';
import type { MigrationProjection } from './migration-projection';

export interface MigrationListFilter {
  vmId?: string;
  state?: MigrationState;
  limit: number;
  offset: number;
}

/** SQL of gateway.migrations. */
@Injectable()
export class MigrationsRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  private manager(m?: EntityManager | null): EntityManager {
    return m ?? this.db.manager;
  }

  async insert(row: MigrationRow, m?: EntityManager): Promise<void> {
    await this.manager(m).getRepository(MigrationRow).insert(row);
  }

  /** Inserts unless a migration with this id is already there (events may repeat what the gateway stored). */
  async insertIfAbsent(m: EntityManager, row: MigrationRow): Promise<void> {
    await m.getRepository(MigrationRow).createQueryBuilder().insert().into(MigrationRow).values(row).orIgnore().execute();
  }

  /** Undoes an insert whose migration.requested could not be published (only while nothing else touched it). */
  async removeUnpublished(id: string): Promise<void> {
    await this.db.getRepository(MigrationRow).delete({ id, state: 'requested' });
  }

  find(id: string): Promise<MigrationRow | null> {
    return this.db.getRepository(MigrationRow).findOneBy({ id });
  }

  lock(m: EntityManager, id: string): Promise<MigrationRow | null> {
    return m.getRepository(MigrationRow).createQueryBuilder('mg').setLock('pessimistic_write').where('mg.id = :id', { id }).getOne();
  }

  /** The VM's newest unfinished migration (requested, planned or running), if any. */
  findOpenForVm(vmId: string, m?: EntityManager): Promise<MigrationRow | null> {
    return this.manager(m).getRepository(MigrationRow).createQueryBuilder('mg')
      .where('mg.vm_id = :vmId', { vmId }).andWhere('mg.state IN (:...open)', { open: [...OPEN_MIGRATION_STATES] })
      .orderBy('mg.requested_at', 'DESC').getOne();
  }

  async list(f: MigrationListFilter): Promise<{ items: MigrationRow[]; total: number }> {
    const qb = this.db.getRepository(MigrationRow).createQueryBuilder('mg');
    if (f.vmId) qb.andWhere('mg.vm_id = :vmId', { vmId: f.vmId });
    if (f.state) qb.andWhere('mg.state = :state', { state: f.state });
    qb.orderBy('mg.requested_at', 'DESC').addOrderBy('mg.id', 'DESC').take(f.limit).skip(f.offset);
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  async update(m: EntityManager, id: string, patch: Partial<MigrationProjection>): Promise<void> {
    await m.getRepository(MigrationRow).update({ id }, { ...patch, updatedAt: new Date() });
  }
}
