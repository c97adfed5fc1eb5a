import { ConflictException, HttpException, Injectable, NotFoundException } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { describeValidationErrors, HostRegisterRequest, HostView, Rpc } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import type { HostRow, VmRow } from '../db/entities';
import { toHttpError } from '../http/exceptions';
import { GatewayRepository } from '../read-model/gateway.repository';
import { toHostView } from '../views';
import { hostCapacity, HostCapacity } from './host-capacity';
import { mapLimited } from './import-pool';

/** Registrations of one import that run at once (each is an SSH discovery on the provisioner). */
export const IMPORT_CONCURRENCY = 4;
export const HOST_ADMIN_TIMEOUT_MS = 30_000;
/** Same as a single registration (SSH discovery). */
export const IMPORT_REGISTER_TIMEOUT_MS = 60_000;

export type HostDetail = HostView & HostCapacity;

export interface ImportResult {
  registered: HostView[];
  failed: { address: string; error: string; status: number }[];
}

/** Host administration: bulk import, enable/disable, removal; and the capacity each host view carries. */
@Injectable()
export class HostAdminService {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
  ) {}

  /** Capacity, allocation and VM count of each host, from the read model. */
  async capacities(rows: HostRow[]): Promise<Map<string, HostCapacity>> {
    const vms = await this.repo.vmsOnHosts(rows.map((h) => h.id));
    const byHost = new Map<string, VmRow[]>();
    for (const v of vms) byHost.set(v.hostId!, [...(byHost.get(v.hostId!) ?? []), v]);
    return new Map(rows.map((h) => [h.id, hostCapacity(h.facts, byHost.get(h.id) ?? [])]));
  }

  async detail(row: HostRow): Promise<HostDetail> {
    return { ...toHostView(row), ...(await this.capacities([row])).get(row.id)! };
  }

  /** Registers every entry through the provisioner, a few at a time; one failure never stops the others. */
  async import(entries: Record<string, unknown>[]): Promise<ImportResult> {
    const outcomes = await mapLimited(entries, IMPORT_CONCURRENCY, async (entry) => {
      const address = typeof entry.address === 'string' ? entry.address : String(entry.address ?? '');
      const req = plainToInstance(HostRegisterRequest, entry);
      const problems = await validate(req, { whitelist: true, forbidNonWhitelisted: true });
      if (problems.length) return { ok: false as const, address, error: describeValidationErrors(problems).join('; '), status: 400 };
      try {
        const body: Record<string, unknown> = { address: req.address };
        if (req.sshPort !== undefined) body.sshPort = req.sshPort;
        if (req.sshUser !== undefined) body.sshUser = req.sshUser;
        if (req.name !== undefined) body.name = req.name;
        const host = await this.bus.request<HostView>(Rpc.HostRegister, body, IMPORT_REGISTER_TIMEOUT_MS);
        await this.repo.upsertHost(null, host, new Date());
        return { ok: true as const, host };
      } catch (err) {
        const http = toHttpError(err);
        if (http instanceof HttpException) return { ok: false as const, address, error: errorMessage(http), status: http.getStatus() };
        return { ok: false as const, address, error: String((err as Error)?.message ?? err), status: 500 };
      }
    });
    const result: ImportResult = { registered: [], failed: [] };
    for (const o of outcomes) {
      if (o.ok) result.registered.push(o.host);
      else result.failed.push({ address: o.address, error: o.error, status: o.status });
    }
    return result;
  }

  /** Asks the provisioner to enable/disable the host, then shows the host with its new state. */
  async setAdminState(id: string, adminState: 'enabled' | 'disabled', reason?: string): Promise<HostDetail> {
    const row = await this.repo.findHost(id);
    if (!row) throw new NotFoundException(`host ${id} not found`);
    let reply: unknown;
    try {
      reply = await this.bus.request<unknown>(Rpc.HostAdminState, { hostId: id, adminState, ...(reason !== undefined ? { reason } : {}) }, HOST_ADMIN_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err);
    }
    if (isHostView(reply) && reply.id === id) {
      await this.repo.upsertHost(null, reply, new Date());
    } else {
      // The reply carries no view: record what was asked (host.state-changed will follow with the provisioner's view).
      const state = adminState === 'disabled' ? 'disabled' : row.state === 'disabled' ? 'up' : row.state;
      await this.repo.transaction((m) => this.repo.updateHost(m, id, { state, stateReason: adminState === 'disabled' ? reason ?? 'disabled by an administrator' : '', stateAt: new Date() }));
    }
    return this.detail((await this.repo.findHost(id))!);
  }

  /** 409 with the VM list while the read model has VMs on the host; else the provisioner removes it. */
  async remove(id: string): Promise<void> {
    const row = await this.repo.findHost(id);
    if (!row) throw new NotFoundException(`host ${id} not found`);
    const vms = await this.repo.vmsOnHosts([id]);
    if (vms.length) {
      throw new ConflictException({
        statusCode: 409,
        error: 'Conflict',
        message: `host ${row.name} still has ${vms.length} VM${vms.length === 1 ? '' : 's'}; delete or migrate them first`,
        vms: vms.map((v) => ({ id: v.id, name: v.name, status: v.status })),
      });
    }
    try {
      await this.bus.request<unknown>(Rpc.HostRemove, { hostId: id }, HOST_ADMIN_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err);
    }
    await this.repo.deleteHost(null, id);
  }
}

function isHostView(v: unknown): v is HostView {
  const o = v as Partial<HostView> | null;
  return !!o && typeof o === 'object' && typeof o.id === 'string' && typeof o.address === 'string' && typeof o.state === 'string' && !!o.facts;
}

function errorMessage(e: HttpException): string {
  const r = e.getResponse();
  if (typeof r === 'string') return r;
  const m = (r as { message?: unknown }).message;
  return Array.isArray(m) ? m.join('; ') : String(m ?? e.message);
}
