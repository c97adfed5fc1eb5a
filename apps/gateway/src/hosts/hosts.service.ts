import { Injectable, NotFoundException, Optional } from '@nestjs/common';
import { HostLatestMetrics, HostView, Rpc } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { toHttpError } from '../http/exceptions';
import { GatewayRepository, Page } from '../read-model/gateway.repository';
import { MetricsClient } from '../metrics/metrics.client';
import { HostListItem, toHostView } from '../views';
import { RegisterHostDto } from './dto';
import { HostAdminService, HostDetail } from './host-admin.service';

/** Discovery runs over SSH on the provisioner (connect, facts, libvirt checks): it can take a while. */
export const HOST_REGISTER_TIMEOUT_MS = 60_000;

@Injectable()
export class HostsService {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
    @Optional() private readonly metrics?: MetricsClient,
    @Optional() private readonly admin?: HostAdminService,
  ) {}

  async register(dto: RegisterHostDto): Promise<HostView> {
    let host: HostView;
    try {
      host = await this.bus.request<HostView>(Rpc.HostRegister, requestBody(dto), HOST_REGISTER_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err);
    }
    // The reply is the provisioner's committed view: store it now so GET answers at once (host.registered follows).
    await this.repo.upsertHost(null, host, new Date());
    return host;
  }

  /** Each host with its latest metrics round inlined (null when the collector has none or does not answer). */
  async list(limit = 100, offset = 0): Promise<Page<HostListItem>> {
    const page = await this.repo.listHosts(limit, offset);
    const latest: Record<string, HostLatestMetrics> = this.metrics ? (await this.metrics.latest(page.items.map((h) => h.id), [])).hosts : {};
    const capacity = this.admin ? await this.admin.capacities(page.items) : new Map();
    return { items: page.items.map((h) => ({ ...toHostView(h), ...capacity.get(h.id), metrics: latest[h.id] ?? null })), total: page.total };
  }

  /** The host with capacity, allocated, free and vmCount from the read model. */
  async get(id: string): Promise<HostView | HostDetail> {
    const row = await this.repo.findHost(id);
    if (!row) throw new NotFoundException(`host ${id} not found`);
    return this.admin ? this.admin.detail(row) : toHostView(row);
  }
}

/** Only the fields the contract knows, without undefined holes. */
function requestBody(dto: RegisterHostDto): Record<string, unknown> {
  const out: Record<string, unknown> = { address: dto.address };
  if (dto.sshPort !== undefined) out.sshPort = dto.sshPort;
  if (dto.sshUser !== undefined) out.sshUser = dto.sshUser;
  if (dto.name !== undefined) out.name = dto.name;
  return out;
}
