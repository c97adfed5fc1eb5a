import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FlavorRow } from '../db/lifecycle.entities';

/** SQL of gateway.flavors. */
@Injectable()
export class FlavorsRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  /** false when a flavor of that name exists. */
  async insert(row: FlavorRow): Promise<boolean> {
    const rows: unknown[] = await this.db.query(
      `INSERT INTO gateway.flavors (name, vcpus, memory_mib, disk_gib, created_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO NOTHING RETURNING name`,
      [row.name, row.vcpus, row.memoryMiB, row.diskGiB, row.createdAt],
    );
    return rows.length === 1;
  }

  find(name: string): Promise<FlavorRow | null> {
    return this.db.getRepository(FlavorRow).findOneBy({ name });
  }

  async list(limit: number, offset: number): Promise<{ items: FlavorRow[]; total: number }> {
    const [items, total] = await this.db.getRepository(FlavorRow).findAndCount({ order: { vcpus: 'ASC', memoryMiB: 'ASC', name: 'ASC' }, take: limit, skip: offset });
    return { items, total };
  }

  async remove(name: string): Promise<boolean> {
    const r = await this.db.getRepository(FlavorRow).delete({ name });
    return (r.affected ?? 0) > 0;
  }
}
