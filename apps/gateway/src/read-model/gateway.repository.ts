import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { isUUID } from 'class-validator';
import { DataSource, EntityManager } from 'typeorm';
import type { HostView, ImageView, VmState } from '@minicloud/contracts';
import { HostRow, ImageRow, VmRow } from '../db/entities';

export interface VmListFilter {
  status?: VmState;
  /** Host id or name. */
  host?: string;
  /** All must match: `value` undefined = the key is present with any value. */
  tags?: { key: string; value?: string }[];
  limit: number;
  offset: number;
}

export interface Page<T> {
  items: T[];
  total: number;
}

/** All SQL of the gateway's read model (schema `gateway`); nothing else touches its tables. */
@Injectable()
export class GatewayRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  // --- VMs ---------------------------------------------------------------------------------------------

  async insertVm(row: VmRow): Promise<void> {
    await this.db.getRepository(VmRow).insert(row);
  }

  /** Undoes an insert whose vm.requested could not be published (only while still untouched by events). */
  async removeUnpublishedVm(id: string): Promise<void> {
    await this.db.getRepository(VmRow).delete({ id, generation: 0, status: 'requested' });
  }

  findVm(id: string): Promise<VmRow | null> {
    return this.db.getRepository(VmRow).findOneBy({ id });
  }

  async listVms(f: VmListFilter): Promise<Page<VmRow>> {
    const qb = this.db.getRepository(VmRow).createQueryBuilder('vm');
    if (f.status) qb.andWhere('vm.status = :status', { status: f.status });
    else qb.andWhere(`vm.status <> 'deleted'`);
    if (f.host) {
      if (isUUID(f.host)) qb.andWhere('vm.host_id = :host', { host: f.host });
      else qb.andWhere('vm.host_id IN (SELECT h.id FROM gateway.hosts h WHERE h.name = :host)', { host: f.host });
    }
    (f.tags ?? []).forEach((t, i) => {
      if (t.value === undefined) qb.andWhere(`jsonb_exists(vm.tags, :tagKey${i})`, { [`tagKey${i}`]: t.key });
      else qb.andWhere(`vm.tags @> CAST(:tagPair${i} AS jsonb)`, { [`tagPair${i}`]: JSON.stringify({ [t.key]: t.value }) });
    });
    qb.orderBy('vm.created_at', 'DESC').addOrderBy('vm.id', 'DESC').take(f.limit).skip(f.offset);
    const [items, total] = await qb.getManyAndCount();
    return { items, total };
  }

  /** Locks the VM row for the projector (events of one VM are applied one at a time). */
  lockVm(m: EntityManager, id: string): Promise<VmRow | null> {
    return m.getRepository(VmRow).createQueryBuilder('vm').setLock('pessimistic_write').where('vm.id = :id', { id }).getOne();
  }

  async updateVm(m: EntityManager, id: string, patch: Partial<VmRow>): Promise<void> {
    await m.getRepository(VmRow).update({ id }, { ...patch, updatedAt: new Date() });
  }

  // --- hosts -------------------------------------------------------------------------------------------

  findHost(id: string): Promise<HostRow | null> {
    return this.db.getRepository(HostRow).findOneBy({ id });
  }

  findHosts(ids: string[]): Promise<HostRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.getRepository(HostRow).createQueryBuilder('h').where('h.id IN (:...ids)', { ids }).getMany();
  }

  /** By id when `ref` is a UUID, else by name (the most recently registered host of that name). */
  async resolveHost(ref: string): Promise<HostRow | null> {
    if (isUUID(ref)) return this.findHost(ref);
    return this.db.getRepository(HostRow).findOne({ where: { name: ref }, order: { registeredAt: 'DESC' } });
  }

  async listHosts(limit: number, offset: number): Promise<Page<HostRow>> {
    const [items, total] = await this.db.getRepository(HostRow).findAndCount({ order: { name: 'ASC', id: 'ASC' }, take: limit, skip: offset });
    return { items, total };
  }

  /** Upserts a host from a registration reply or host.registered (both carry the full view). */
  async upsertHost(m: EntityManager | null, h: Omit<HostView, 'registeredAt'> & { registeredAt?: string }, stateAt: Date | null): Promise<void> {
    const now = new Date();
    await (m ?? this.db.manager).query(
      `INSERT INTO gateway.hosts (id, name, address, ssh_port, ssh_user, state, state_reason, state_at, facts, registered_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, address = EXCLUDED.address, ssh_port = EXCLUDED.ssh_port,
         ssh_user = EXCLUDED.ssh_user, facts = EXCLUDED.facts, updated_at = EXCLUDED.updated_at,
         state = CASE WHEN gateway.hosts.state_at IS NULL OR EXCLUDED.state_at IS NULL OR EXCLUDED.state_at >= gateway.hosts.state_at
                      THEN EXCLUDED.state ELSE gateway.hosts.state END,
         state_reason = CASE WHEN gateway.hosts.state_at IS NULL OR EXCLUDED.state_at IS NULL OR EXCLUDED.state_at >= gateway.hosts.state_at
                      THEN EXCLUDED.state_reason ELSE gateway.hosts.state_reason END,
         state_at = GREATEST(gateway.hosts.state_at, EXCLUDED.state_at)`,
      [h.id, h.name, h.address, h.sshPort, h.sshUser, h.state, h.stateReason ?? '', stateAt, JSON.stringify(h.facts), h.registeredAt ?? now, now],
    );
  }

  lockHost(m: EntityManager, id: string): Promise<HostRow | null> {
    return m.getRepository(HostRow).createQueryBuilder('h').setLock('pessimistic_write').where('h.id = :id', { id }).getOne();
  }

  async updateHost(m: EntityManager, id: string, patch: Partial<HostRow>): Promise<void> {
    await m.getRepository(HostRow).update({ id }, { ...patch, updatedAt: new Date() });
  }

  /** The non-deleted VMs placed on these hosts (for capacity and the remove check). */
  vmsOnHosts(ids: string[]): Promise<VmRow[]> {
    if (!ids.length) return Promise.resolve([]);
    return this.db.getRepository(VmRow).createQueryBuilder('vm')
      .where('vm.host_id IN (:...ids)', { ids }).andWhere(`vm.status <> 'deleted'`)
      .orderBy('vm.created_at', 'ASC').addOrderBy('vm.id', 'ASC').getMany();
  }

  /** Drops a removed host from the read model; true when it was there. */
  async deleteHost(m: EntityManager | null, id: string): Promise<boolean> {
    const r = await (m ?? this.db.manager).getRepository(HostRow).delete({ id });
    return (r.affected ?? 0) > 0;
  }

  // --- images ------------------------------------------------------------------------------------------

  findImage(id: string): Promise<ImageRow | null> {
    return this.db.getRepository(ImageRow).findOneBy({ id });
  }

  /** By id when `ref` is a UUID, else by name (the most recently registered image of that name). */
  async resolveImage(ref: string): Promise<ImageRow | null> {
    if (isUUID(ref)) return this.findImage(ref);
    return this.db.getRepository(ImageRow).findOne({ where: { name: ref }, order: { registeredAt: 'DESC' } });
  }

  async listImages(limit: number, offset: number): Promise<Page<ImageRow>> {
    const [items, total] = await this.db.getRepository(ImageRow).findAndCount({ order: { name: 'ASC', registeredAt: 'DESC' }, take: limit, skip: offset });
    return { items, total };
  }

  /**
   * Upserts an image from a registration reply (has the path) or image.registered (has no path, so an
   * existing path is kept).
   */
  async upsertImage(m: EntityManager | null, i: Omit<ImageView, 'path' | 'registeredAt'> & { path?: string | null; registeredAt?: string }): Promise<void> {
    const now = new Date();
    await (m ?? this.db.manager).query(
      `INSERT INTO gateway.images (id, name, path, format, checksum, size_bytes, virtual_size_bytes, arch, kernel_path, initrd_path, cmdline, registered_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, path = COALESCE(EXCLUDED.path, gateway.images.path),
         format = EXCLUDED.format, checksum = EXCLUDED.checksum, size_bytes = EXCLUDED.size_bytes,
         virtual_size_bytes = EXCLUDED.virtual_size_bytes, arch = EXCLUDED.arch,
         kernel_path = COALESCE(EXCLUDED.kernel_path, gateway.images.kernel_path),
         initrd_path = COALESCE(EXCLUDED.initrd_path, gateway.images.initrd_path),
         cmdline = COALESCE(EXCLUDED.cmdline, gateway.images.cmdline), updated_at = EXCLUDED.updated_at`,
      [i.id, i.name, i.path ?? null, i.format, i.checksum, i.sizeBytes, i.virtualSizeBytes, i.arch, i.kernelPath ?? null, i.initrdPath ?? null, i.cmdline ?? null, i.registeredAt ?? now, now],
    );
  }
}
