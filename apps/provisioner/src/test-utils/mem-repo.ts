import type { HostEntity, ImageEntity, OperationEntity, UnknownDomainEntity, VmEntity } from '../persistence/entities';

/** The repository's contract for lifecycle, reconciliation and host administration, in memory. */
export class MemRepo {
  hosts = new Map<string, HostEntity>();
  vms = new Map<string, VmEntity>();
  ops = new Map<string, OperationEntity>();
  unknown = new Map<string, UnknownDomainEntity[]>();
  hostImages = new Map<string, string[]>();
  images = new Map<string, ImageEntity>();
  /** `<consumer>/<eventId>` rows of the inbox. */
  inbox = new Set<string>();
  async transaction<T>(fn: (m: unknown) => Promise<T>) {
    return fn(undefined);
  }
  async findHost(id: string) {
    const h = this.hosts.get(id);
    return h ? { ...h } : null;
  }
  async saveHost(h: HostEntity) {
    this.hosts.set(h.id, { ...h });
    return h;
  }
  async listHosts() {
    return [...this.hosts.values()];
  }
  async findVm(id: string) {
    const v = this.vms.get(id);
    return v ? { ...v } : null;
  }
  async saveVm(v: VmEntity) {
    this.vms.set(v.id, { ...v });
    return v;
  }
  async vmsOfHost(hostId: string) {
    return [...this.vms.values()].filter((v) => v.hostId === hostId).map((v) => ({ ...v }));
  }
  async liveVmsOfHost(hostId: string) {
    return (await this.vmsOfHost(hostId)).filter((v) => v.state !== 'deleted');
  }
  async vmsInStates(states: string[]) {
    return [...this.vms.values()].filter((v) => states.includes(v.state));
  }
  async deleteHost(hostId: string) {
    this.hosts.delete(hostId);
    this.unknown.delete(hostId);
    this.hostImages.delete(hostId);
  }
  async findOperation(id: string) {
    const o = this.ops.get(id);
    return o ? { ...o } : null;
  }
  async saveOperation(o: OperationEntity) {
    this.ops.set(o.operationId, { ...o });
    return o;
  }
  async deletedBeforeBuild(vmId: string) {
    return [...this.ops.values()].some((o) => o.vmId === vmId && o.action === 'delete' && o.status === 'succeeded');
  }
  async replaceUnknownDomains(hostId: string, seen: { name: string; uuid: string; state: string }[]) {
    const before = new Set((this.unknown.get(hostId) ?? []).map((d) => d.domainName));
    this.unknown.set(hostId, seen.map((d) => ({ hostId, domainName: d.name, uuid: d.uuid, state: d.state, firstSeenAt: new Date(), lastSeenAt: new Date() })));
    return seen.map((d) => d.name).filter((n) => !before.has(n));
  }
  async findImage(id: string) {
    return this.images.get(id) ?? null;
  }
  async cachedChecksums(hostId: string) {
    return new Set(this.hostImages.get(hostId) ?? []);
  }
  async recordHostImages(hostId: string, files: { checksum: string }[]) {
    this.hostImages.set(hostId, [...new Set([...(this.hostImages.get(hostId) ?? []), ...files.map((f) => f.checksum)])]);
  }
  async setMigrationTarget(vmId: string, hostId: string | null) {
    const v = this.vms.get(vmId);
    if (v) v.migrationTargetHostId = hostId;
  }
  async vmsMigratingOnto(hostId: string) {
    return [...this.vms.values()].filter((v) => v.migrationTargetHostId === hostId && v.hostId !== hostId).map((v) => ({ ...v }));
  }
  async inboxHas(consumer: string, eventId: string) {
    return this.inbox.has(`${consumer}/${eventId}`);
  }
  async recordInbox(consumer: string, eventId: string) {
    if (this.inbox.has(`${consumer}/${eventId}`)) return false;
    this.inbox.add(`${consumer}/${eventId}`);
    return true;
  }
}
