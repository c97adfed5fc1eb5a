import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { OperationStatus } from '@minicloud/contracts';
import { OperationRow } from '../db/lifecycle.entities';

/** SQL of gateway.operations. */
@Injectable()
export class OperationsRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  async insert(row: OperationRow, m?: EntityManager): Promise<void> {
    await (m ?? this.db.manager).getRepository(OperationRow).insert(row);
  }

  /** Undoes an insert whose event could not be published. */
  async removePending(id: string): Promise<void> {
    await this.db.getRepository(OperationRow).delete({ id, status: 'pending' });
  }

  find(id: string): Promise<OperationRow | null> {
    return this.db.getRepository(OperationRow).findOneBy({ id });
  }

  async list(vmId: string | undefined, limit: number, offset: number): Promise<{ items: OperationRow[]; total: number }> {
    const [items, total] = await this.db.getRepository(OperationRow).findAndCount({
      where: vmId ? { vmId } : {},
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
      skip: offset,
    });
    return { items, total };
  }

  lock(m: EntityManager, id: string): Promise<OperationRow | null> {
    return m.getRepository(OperationRow).createQueryBuilder('op').setLock('pessimistic_write').where('op.id = :id', { id }).getOne();
  }

  /** Moves an unfinished operation on; finished ones never change. Returns whether a row changed. */
  async advance(m: EntityManager, id: string, status: OperationStatus, error: string | null): Promise<boolean> {
    const finished = status === 'succeeded' || status === 'failed';
    const rows: unknown[] = await m.query(
      `UPDATE gateway.operations SET status = $2, error = $3, updated_at = now(), finished_at = CASE WHEN $4 THEN now() ELSE NULL END
       WHERE id = $1 AND status IN ('pending', 'running') AND NOT (status = 'running' AND $2 = 'pending') RETURNING id`,
      [id, status, error, finished],
    );
    return rowCount(rows) > 0;
  }

  /** The VM's pending lifecycle actions (not its creation). */
  findPendingActions(m: EntityManager, vmId: string): Promise<OperationRow[]> {
    return m.getRepository(OperationRow).createQueryBuilder('op').setLock('pessimistic_write')
      .where('op.vm_id = :vmId', { vmId }).andWhere(`op.action <> 'create'`).andWhere(`op.status = 'pending'`).getMany();
  }

  /** The VM's creation operation, if still unfinished. */
  findOpenCreate(m: EntityManager, vmId: string): Promise<OperationRow | null> {
    return m.getRepository(OperationRow).createQueryBuilder('op').setLock('pessimistic_write')
      .where('op.vm_id = :vmId', { vmId }).andWhere(`op.action = 'create'`).andWhere(`op.status IN ('pending', 'running')`).getOne();
  }
}

/** pg's UPDATE ... RETURNING answers [rows, count] through TypeORM's query(). */
function rowCount(result: unknown): number {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[1];
  return Array.isArray(result) ? result.length : 0;
}
