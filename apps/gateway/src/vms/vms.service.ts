import { BadRequestException, Injectable, Logger, NotFoundException, Optional, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { QueueView, Rpc, Subjects, VmConsoleReply } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { VmRow } from '../db/entities';
import { fieldError, toHttpError } from '../http/exceptions';
import { GatewayRepository, Page } from '../read-model/gateway.repository';
import { MetricsClient } from '../metrics/metrics.client';
import { toVmView, VmView } from '../views';
import { CreateVmDto, ListVmsQuery } from './dto';
import { OperationRow } from '../db/lifecycle.entities';
import { FlavorsRepository } from '../flavors/flavors.repository';
import { resolveSize } from '../flavors/flavor-resolution';
import { OperationsRepository } from '../operations/operations.repository';
import { OperationView, toOperationView } from '../operations/operation-view';
import { parseTagFilters } from './tag-filter';
import { MigrationsRepository } from '../migrations/migrations.repository';

/** POST /v1/vms answers the VM and its creation operation (finished when the VM runs or fails). */
export type AcceptedVm = VmView & { operation?: OperationView };

export const CONSOLE_TIMEOUT_MS = 15_000;
export const DEFAULT_CONSOLE_LINES = 100;
/** GET /v1/vms/:id of a queued VM asks the scheduler for its place in the queue (among the first this many). */
export const QUEUE_LOOKUP_LIMIT = 1000;
export const QUEUE_LOOKUP_TIMEOUT_MS = 2_000;

@Injectable()
export class VmsService {
  private readonly log = new Logger('VmsService');

  constructor(
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
    @Optional() private readonly metrics?: MetricsClient,
    @Optional() private readonly ops?: OperationsRepository,
    @Optional() private readonly flavors?: FlavorsRepository,
    @Optional() private readonly migrations?: MigrationsRepository,
  ) {}

  /**
   * Accepts a VM: resolves image and target host in the read model, stores the VM as `requested`
   * (generation 0), then publishes vm.requested. If the bus does not take the event, the row is removed again
   * and the client gets a 503: nothing is half-accepted.
   */
  async create(dto: CreateVmDto): Promise<AcceptedVm> {
    // Every reference problem in one 400: size (flavor XOR explicit sizes), image, target host.
    const flavorRow = dto.flavor !== undefined && this.flavors ? await this.flavors.find(dto.flavor) : null;
    const sized = resolveSize(dto, flavorRow);
    const problems = sized.ok ? [] : [...sized.errors];
    const image = await this.repo.resolveImage(dto.image);
    if (!image) problems.push({ field: 'image', reason: `unknown image "${dto.image}"` });
    let targetHostId: string | null = null;
    let targetHost = null;
    if (dto.targetHost !== undefined) {
      targetHost = await this.repo.resolveHost(dto.targetHost);
      if (!targetHost) problems.push({ field: 'targetHost', reason: `unknown host "${dto.targetHost}"` });
      else targetHostId = targetHost.id;
    }
    if (problems.length === 1) throw fieldError(problems[0].field, problems[0].reason);
    if (problems.length || !sized.ok || !image) {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: problems.map((p) => `${p.field}: ${p.reason}`).join('; '), errors: problems });
    }
    const size = sized.size;
    const now = new Date();
    const row: VmRow = {
      id: randomUUID(),
      name: dto.name,
      status: 'requested',
      generation: 0,
      hostId: null,
      targetHostId,
      vcpus: size.vcpus,
      memoryMiB: size.memoryMiB,
      diskGiB: size.diskGiB,
      imageId: image.id,
      imageName: image.name,
      tags: dto.tags ?? {},
      storage: dto.storage ?? 'local',
      reason: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.repo.insertVm(row);
    const op: OperationRow | null = this.ops ? { id: randomUUID(), vmId: row.id, action: 'create', status: 'pending', error: null, createdAt: now, updatedAt: now, finishedAt: null } : null;
    if (op) {
      try {
        await this.ops!.insert(op);
      } catch (err) {
        await this.repo.removeUnpublishedVm(row.id);
        throw err;
      }
    }
    try {
      await this.bus.publish(Subjects.VmRequested, {
        vmId: row.id,
        name: row.name,
        resources: { vcpus: row.vcpus, memoryMiB: row.memoryMiB, diskGiB: row.diskGiB },
        image: { id: image.id, name: image.name, checksum: image.checksum, ...(image.arch ? { arch: image.arch } : {}) },
        ...(targetHostId ? { targetHostId } : {}),
        ...(dto.sshKeys ? { sshKeys: dto.sshKeys } : {}),
        ...(dto.userData !== undefined ? { userData: dto.userData } : {}),
        ...(dto.tags ? { tags: dto.tags } : {}),
        ...(row.storage === 'shared' ? { storage: row.storage } : {}),
        ...(dto.priority !== undefined ? { priority: dto.priority } : {}),
        ...(dto.deadline !== undefined ? { deadline: dto.deadline } : {}),
        ...(dto.preemptible !== undefined ? { preemptible: dto.preemptible } : {}),
        ...(dto.group ? { group: { name: dto.group.name, policy: dto.group.policy } } : {}),
        ...(dto.policy ? { policy: dto.policy } : {}),
        ...(dto.reservationId ? { reservationId: dto.reservationId } : {}),
      });
    } catch (err) {
      this.log.warn({ msg: 'vm.requested not published; request withdrawn', vmId: row.id, err: String((err as Error)?.message ?? err) });
      if (op) await this.ops!.removePending(op.id);
      await this.repo.removeUnpublishedVm(row.id);
      throw new ServiceUnavailableException('the request could not be queued (message bus unavailable); nothing was created, try again');
    }
    return op ? { ...toVmView(row, null), operation: toOperationView(op) } : toVmView(row, null);
  }

  async list(q: ListVmsQuery): Promise<Page<VmView>> {
    const tags = parseTagFilters(q.tag);
    if ('error' in tags) throw fieldError('tag', tags.error);
    const page = await this.repo.listVms({ status: q.status, host: q.host, tags: tags.filters, limit: q.limit ?? 50, offset: q.offset ?? 0 });
    const hostIds = [...new Set(page.items.map((v) => v.hostId).filter((h): h is string => !!h))];
    const hosts = new Map((await this.repo.findHosts(hostIds)).map((h) => [h.id, h]));
    return { items: page.items.map((v) => toVmView(v, v.hostId ? hosts.get(v.hostId) : null)), total: page.total };
  }

  async get(id: string): Promise<VmView> {
    const row = await this.repo.findVm(id);
    if (!row) throw new NotFoundException(`vm ${id} not found`);
    const host = row.hostId ? await this.repo.findHost(row.hostId) : null;
    const view = toVmView(row, host);
    // The latest metrics round only for a VM that can have one (placed, not deleted).
    if (this.metrics && row.hostId && row.status !== 'deleted') view.metrics = (await this.metrics.latest([], [id])).vms[id] ?? null;
    const open = this.migrations ? await this.migrations.findOpenForVm(id) : null;
    if (open) view.migration = { id: open.id, state: open.state, mode: open.mode, stage: open.stage, sourceHostId: open.sourceHostId, targetHostId: open.targetHostId };
    if (view.scheduling?.state === 'queued') view.scheduling = { ...view.scheduling, ...(await this.queuePlace(id)) };
    return view;
  }

  /**
   * Where a queued VM stands in the scheduler's queue (rpc.scheduler.queue.list, its first QUEUE_LOOKUP_LIMIT
   * entries). Best effort: when the scheduler does not answer in time, or the VM is further back, both stay null.
   */
  private async queuePlace(vmId: string): Promise<{ position: number | null; effectivePriority: number | null }> {
    try {
      const q = await this.bus.request<QueueView>(Rpc.SchedulerQueue, { limit: QUEUE_LOOKUP_LIMIT }, QUEUE_LOOKUP_TIMEOUT_MS);
      const e = q.items.find((x) => x.vmId === vmId);
      return { position: e?.position ?? null, effectivePriority: e?.effectivePriority ?? null };
    } catch (err) {
      this.log.warn({ msg: 'queue position unknown: the scheduler did not answer', vmId, err: String((err as Error)?.message ?? err) });
      return { position: null, effectivePriority: null };
    }
  }

  /** The last lines of the VM's serial console, read by the provisioner on the VM's host. */
  async console(id: string, lines = DEFAULT_CONSOLE_LINES): Promise<{ lines: string[] }> {
    const row = await this.repo.findVm(id);
    if (!row) throw new NotFoundException(`vm ${id} not found`);
    try {
      const reply = await this.bus.request<VmConsoleReply>(Rpc.VmConsole, { vmId: id, lines }, CONSOLE_TIMEOUT_MS);
      return { lines: reply.lines };
    } catch (err) {
      throw toHttpError(err);
    }
  }
}
