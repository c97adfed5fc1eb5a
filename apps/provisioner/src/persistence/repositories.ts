import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, Not } from 'typeorm';
import { firstDelivery } from '@minicloud/database';
import { SCHEMA } from '../provisioner.constants';
import { HostEntity, HostImageEntity, ImageEntity, OperationEntity, UnknownDomainEntity, VmEntity } from './entities';

/** Thin data access for the provisioner's own schema. Methods take an optional manager to join a transaction. */
@Injectable()
export class ProvisionerRepository {
  constructor(readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  private m(m?: EntityManager): EntityManager {
    return m ?? this.ds.manager;
  }

  findHost(id: string, m?: EntityManager) {
    return this.m(m).findOneBy(HostEntity, { id });
  }

  findHostByAddress(address: string, sshPort: number, m?: EntityManager) {
    return this.m(m).findOneBy(HostEntity, { address, sshPort });
  }

  saveHost(h: HostEntity, m?: EntityManager) {
    return this.m(m).save(HostEntity, h);
  }

  findImage(id: string, m?: EntityManager) {
    return this.m(m).findOneBy(ImageEntity, { id });
  }

  findImageByName(name: string, m?: EntityManager) {
    return this.m(m).findOneBy(ImageEntity, { name });
  }

  saveImage(i: ImageEntity, m?: EntityManager) {
    return this.m(m).save(ImageEntity, i);
  }

  async cachedChecksums(hostId: string, m?: EntityManager): Promise<Set<string>> {
    const rows = await this.m(m).findBy(HostImageEntity, { hostId });
    return new Set(rows.map((r) => r.checksum));
  }

  async recordHostImages(hostId: string, files: { checksum: string; remotePath: string }[], m?: EntityManager): Promise<void> {
    for (const f of files) {
      await this.m(m).query(
        `INSERT INTO ${SCHEMA}.host_images (host_id, checksum, remote_path, uploaded_at) VALUES ($1, $2, $3, now())
         ON CONFLICT (host_id, checksum) DO UPDATE SET remote_path = EXCLUDED.remote_path, uploaded_at = now()`,
        [hostId, f.checksum, f.remotePath],
      );
    }
  }

  async forgetHostImages(hostId: string, checksums: string[], m?: EntityManager): Promise<void> {
    if (!checksums.length) return;
    await this.m(m).query(`DELETE FROM ${SCHEMA}.host_images WHERE host_id = $1 AND checksum = ANY($2)`, [hostId, checksums]);
  }

  findVm(id: string, m?: EntityManager) {
    return this.m(m).findOneBy(VmEntity, { id });
  }

  saveVm(v: VmEntity, m?: EntityManager) {
    return this.m(m).save(VmEntity, v);
  }

  /** Records (or clears) the host a migration of the VM was prepared for; nothing else of the row changes. */
  async setMigrationTarget(vmId: string, hostId: string | null, m?: EntityManager): Promise<void> {
    await this.m(m).update(VmEntity, { id: vmId }, { migrationTargetHostId: hostId });
  }

  /** VMs (not on this host) whose migration onto this host was prepared or runs. */
  vmsMigratingOnto(hostId: string, m?: EntityManager) {
    return this.m(m).findBy(VmEntity, { migrationTargetHostId: hostId, hostId: Not(hostId) });
  }

  listHosts(m?: EntityManager) {
    return this.m(m).find(HostEntity, { order: { createdAt: 'ASC' } });
  }

  /** Every VM recorded on a host, whatever its state. */
  vmsOfHost(hostId: string, m?: EntityManager) {
    return this.m(m).findBy(VmEntity, { hostId });
  }

  /** VMs on a host that still exist (anything but deleted). */
  liveVmsOfHost(hostId: string, m?: EntityManager) {
    return this.m(m).find(VmEntity, { where: { hostId, state: Not('deleted') }, order: { createdAt: 'ASC' } });
  }

  vmsInStates(states: string[], m?: EntityManager) {
    return this.m(m).findBy(VmEntity, { state: In(states) as never });
  }

  /** Removes a host with its cache records and unknown-domain reports. */
  async deleteHost(hostId: string, m: EntityManager): Promise<void> {
    await m.delete(HostImageEntity, { hostId });
    await m.delete(UnknownDomainEntity, { hostId });
    await m.delete(HostEntity, { id: hostId });
  }

  findOperation(operationId: string, m?: EntityManager) {
    return this.m(m).findOneBy(OperationEntity, { operationId });
  }

  /** Was the VM deleted (successfully) before the provisioner ever built it? Then a late vm.scheduled is ignored. */
  async deletedBeforeBuild(vmId: string, m?: EntityManager): Promise<boolean> {
    return (await this.m(m).countBy(OperationEntity, { vmId, action: 'delete', status: 'succeeded' })) > 0;
  }

  saveOperation(o: OperationEntity, m?: EntityManager) {
    return this.m(m).save(OperationEntity, o);
  }

  /**
   * Replaces a host's unknown-domain report with what was seen now; returns the domains seen for the first time.
   */
  replaceUnknownDomains(hostId: string, seen: { name: string; uuid: string; state: string }[]): Promise<string[]> {
    return this.transaction(async (tx) => {
      // The host row is share-locked so it cannot be removed under us; a host removed already gets no report.
      const host: unknown[] = await tx.query(`SELECT 1 FROM ${SCHEMA}.hosts WHERE id = $1 FOR SHARE`, [hostId]);
      if (!host.length) return [];
      const before = new Set((await tx.findBy(UnknownDomainEntity, { hostId })).map((r) => r.domainName));
      const names = seen.map((d) => d.name);
      if (names.length) await tx.delete(UnknownDomainEntity, { hostId, domainName: Not(In(names)) });
      else await tx.delete(UnknownDomainEntity, { hostId });
      for (const d of seen) {
        await tx.query(
          // Only while the host is still registered (it may be removed while a reconciliation runs).
          `INSERT INTO ${SCHEMA}.unknown_domains (host_id, domain_name, uuid, state, first_seen_at, last_seen_at)
           SELECT $1, $2, $3, $4, now(), now() WHERE EXISTS (SELECT 1 FROM ${SCHEMA}.hosts WHERE id = $1)
           ON CONFLICT (host_id, domain_name) DO UPDATE SET uuid = EXCLUDED.uuid, state = EXCLUDED.state, last_seen_at = now()`,
          [hostId, d.name, d.uuid, d.state],
        );
      }
      return names.filter((n) => !before.has(n));
    });
  }

  listUnknownDomains(hostId?: string, m?: EntityManager) {
    return this.m(m).find(UnknownDomainEntity, { where: hostId ? { hostId } : {}, order: { firstSeenAt: 'ASC' } });
  }

  async inboxHas(consumer: string, eventId: string, m?: EntityManager): Promise<boolean> {
    const rows: unknown[] = await this.m(m).query(`SELECT 1 FROM ${SCHEMA}.inbox WHERE consumer = $1 AND event_id = $2`, [consumer, eventId]);
    return rows.length > 0;
  }

  recordInbox(consumer: string, eventId: string, m: EntityManager): Promise<boolean> {
    return firstDelivery(m, SCHEMA, consumer, eventId);
  }
}
