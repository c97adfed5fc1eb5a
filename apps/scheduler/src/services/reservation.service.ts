import { Inject, Injectable, Logger, forwardRef } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { randomUUID } from 'crypto';
import { ReservationCreateRequest, ReservationState, ReservationView, SCHEMA_VERSION, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { capacityOf, allocatedOf } from '../placement/capacity';
import { maxOverlap, placeReservation } from '../placement/reservations';
import { HostView, PlacementRequest, Resources } from '../placement/types';
import { Claim, ClaimRepository, HOST_COLUMNS, HostRepository, PreemptionRecord, Reservation, ReservationRepository, toView, HostRow } from '../persistence';
import { rowsOf } from '../persistence/sql';
import { HostCache } from './host-cache.service';
import { DecisionPublisher, VmRequested } from './publisher';
import { SchedulingService } from './scheduling.service';
import { decisionEventId } from './event-ids';
import { acceptsVms } from '../placement/filters/host-state.filter';

const need = { vcpus: 'vcpus', memory: 'memoryMiB', disk: 'diskGiB' } as const;

/**
 * Advance reservations: accepted only when the cluster can guarantee every slot over the window (capacity minus
 * non-preemptible use minus other reservations), then held per host in `reserved_*` so non-preemptible VMs
 * cannot take it. Preemptible VMs may use it and are preempted when the window opens or a reserved VM arrives.
 */
@Injectable()
export class ReservationService {
  private readonly log = new Logger(ReservationService.name);

  constructor(
    private readonly db: DataSource,
    @Inject(Bus) private readonly bus: Bus,
    private readonly repo: ReservationRepository,
    private readonly hosts: HostRepository,
    private readonly claims: ClaimRepository,
    private readonly cache: HostCache,
    private readonly publisher: DecisionPublisher,
    @Inject(forwardRef(() => SchedulingService)) private readonly scheduling: SchedulingService,
  ) {}

  async create(r: ReservationCreateRequest): Promise<ReservationView> {
    const start = Date.parse(r.start);
    const end = Date.parse(r.end);
    if (!(end > start)) throw new RpcError(422, 'end must be after start');
    if (end <= Date.now()) throw new RpcError(422, 'the window is already over');
    const id = randomUUID();
    const view = await this.withDeadlockRetry(() =>
      this.db.transaction(async (m) => {
        await this.repo.lock(m);
        // Lock the hosts, so no claim changes what the check below saw before `reserved_*` is written.
        const hosts = (await rowsOf<HostRow>(m, `SELECT ${HOST_COLUMNS} FROM scheduler.hosts WHERE state = 'up' AND maintenance IS NULL ORDER BY id FOR UPDATE`)).map(toView);
        const holds = await this.repo.holdsByHost(m);
        const slots = placeReservation(hosts, holds, r.flavor, r.count, start, end);
        if (!slots) {
          throw new RpcError(409, `cannot guarantee ${r.count} × (${r.flavor.vcpus} vCPU, ${r.flavor.memoryMiB} MiB, ${r.flavor.diskGiB} GiB) over [${r.start}, ${r.end}): ` + `not enough capacity left by non-preemptible VMs and other reservations`);
        }
        const res = { id, name: r.name, start: new Date(start), end: new Date(end), count: r.count, vcpus: r.flavor.vcpus, memoryMiB: r.flavor.memoryMiB, diskGiB: r.flavor.diskGiB, stopVmsAtEnd: !!r.stopVmsAtEnd };
        await this.repo.insert(m, res, slots);
        await this.recomputeReserved(m, [...slots.keys()]);
        const saved = (await this.repo.get(m, id)) as Reservation;
        return this.repo.view(m, saved);
      }),
    );
    await this.announce(Subjects.ReservationCreated, view);
    this.log.log({ msg: 'reservation accepted', id, hosts: view.hosts.length });
    return view;
  }

  async get(id: string): Promise<ReservationView> {
    const r = await this.repo.get(this.db.manager, id);
    if (!r) throw new RpcError(404, `reservation ${id} not found`);
    return this.repo.view(this.db.manager, r);
  }

  async list(state?: ReservationState): Promise<ReservationView[]> {
    const rs = await this.repo.list(this.db.manager, state);
    return Promise.all(rs.map((r) => this.repo.view(this.db.manager, r)));
  }

  /** Cancelling frees what is still held; VMs already placed in it become ordinary VMs. */
  async cancel(id: string): Promise<ReservationView> {
    const view = await this.db.transaction(async (m) => {
      await this.repo.lock(m);
      const r = await this.repo.get(m, id);
      if (!r) throw new RpcError(404, `reservation ${id} not found`);
      if (r.state === 'ended' || r.state === 'cancelled') throw new RpcError(409, `reservation ${id} is already ${r.state}`);
      await this.repo.setState(m, id, 'cancelled');
      await this.claims.clearReservation(m, id);
      await this.recomputeReserved(m, (await this.repo.slots(m, id)).map((s) => s.hostId));
      return this.repo.view(m, { ...r, state: 'cancelled' });
    });
    await this.announce(Subjects.ReservationCancelled, view);
    this.scheduling.onCapacityFreed();
    return view;
  }

  /**
   * A VM created with a reservation id inside the window: it takes one of the reservation's slots, preempting
   * whatever preemptible VMs use that capacity meanwhile. null = not applicable (unknown or closed reservation,
   * outside the window, bigger than the flavor, no slot left): the VM is then placed like any other.
   */
  async placeInReservation(m: EntityManager, event: VmRequested, req: PlacementRequest): Promise<{ claim: Claim; preemptions: PreemptionRecord[] } | null> {
    const r = await this.repo.get(m, event.reservationId as string);
    const now = Date.now();
    if (!r || (r.state !== 'accepted' && r.state !== 'active') || now < r.start.getTime() || now >= r.end.getTime()) return null;
    if (req.vcpus > r.vcpus || req.memoryMiB > r.memoryMiB || req.diskGiB > r.diskGiB) return null;
    await this.repo.lock(m);
    const all = this.cache.snapshot();
    for (const slot of await this.repo.slots(m, r.id)) {
      if (slot.used >= slot.slots) continue;
      const host = await this.hosts.get(m, slot.hostId, true);
      if (!host || !acceptsVms(host)) continue;
      const preemptions = await this.makeRoom(m, host, req, `reserved VM ${req.vmId} of reservation ${r.name} (${r.id}) needs the room`, { reservationId: r.id }, all);
      if (!preemptions) continue;
      const after = await this.hosts.allocateFromReservation(m, host.id, req);
      if (!after) continue;
      await this.repo.useSlot(m, r.id, host.id, 1);
      await this.recomputeReserved(m, [host.id]);
      const reason = `reservation ${r.name} (${r.id}): slot on host ${host.name} (${host.id})` + (preemptions.length ? `; preempted ${preemptions.map((p) => p.vmId).join(', ')}` : '');
      const rows = await rowsOf<{ created_at: Date }>(m,
        `INSERT INTO scheduler.claims (vm_id, host_id, vcpus, memory_mib, disk_gib, reason, priority, preemptible, group_name, group_policy, reservation_id, policy, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7, false, $8, $9, $10, 'reservation', $11) ON CONFLICT (vm_id) DO NOTHING RETURNING created_at`,
        [req.vmId, host.id, req.vcpus, req.memoryMiB, req.diskGiB, reason, req.priority ?? 4, req.group?.name ?? null, req.group?.policy ?? null, r.id, JSON.stringify(event)],
      );
      if (!rows.length) throw new Error(`claim for VM ${req.vmId} appeared concurrently`);
      return { claim: { vmId: req.vmId, hostId: host.id, vcpus: req.vcpus, memoryMiB: req.memoryMiB, diskGiB: req.diskGiB, reason, createdAt: rows[0].created_at, releasedAt: null }, preemptions };
    }
    return null;
  }

  /**
   * Preempts preemptible VMs on `host` (lowest priority first, newest first) until `extra` fits under
   * total × ratio, or until allocated + reserved fits when `extra` is null (a window opening). Returns the
   * preemptions, or null when even preempting every preemptible VM would not make room / a VM is busy.
   */
  private async makeRoom(m: EntityManager, host: HostView, extra: PlacementRequest | null, why: string, by: { reservationId?: string }, all: HostView[]): Promise<PreemptionRecord[] | null> {
    const over = (h: HostView, freed: { vcpus: number; memoryMiB: number; diskGiB: number }) =>
      Resources.some((res) => {
        const k = need[res];
        const extraNeed = extra ? extra[k] : res === 'vcpus' ? h.reservedVcpus ?? 0 : res === 'memory' ? h.reservedMemoryMiB ?? 0 : h.reservedDiskGiB ?? 0;
        return allocatedOf(h, res) - freed[k] + extraNeed > capacityOf(h, res);
      });
    const freed = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };
    if (!over(host, freed)) return [];
    const pool = (await this.claims.preemptibleBelow(m, 0, host.id)).sort(
      (a, b) => (b.priority ?? 4) - (a.priority ?? 4) || b.createdAt.getTime() - a.createdAt.getTime(),
    );
    const victims: Claim[] = [];
    for (const c of pool) {
      if (!over(host, freed)) break;
      victims.push(c);
      freed.vcpus += c.vcpus;
      freed.memoryMiB += c.memoryMiB;
      freed.diskGiB += c.diskGiB;
    }
    if (over(host, freed)) return null;
    for (const v of victims) if (!(await this.claims.tryLockVm(m, v.vmId))) return null;
    const out: PreemptionRecord[] = [];
    for (const v of victims) out.push(await this.scheduling.evict(m, v.vmId, host, why, by, all));
    return out;
  }

  /** Sets each host's reserved_* to the most its open reservations hold at once from now on. */
  async recomputeReserved(m: EntityManager, hostIds: string[]): Promise<void> {
    if (!hostIds.length) return;
    const holds = await this.repo.holdsByHost(m, hostIds);
    for (const id of hostIds) await this.hosts.setReserved(m, id, maxOverlap(holds.get(id) ?? [], Date.now()));
  }

  /** A reservation's VM was deleted (or failed to build): its slot is free again while the reservation lasts. */
  async onClaimReleased(m: EntityManager, c: Claim): Promise<void> {
    if (!c.reservationId || !c.hostId) return;
    await this.repo.lock(m);
    const r = await this.repo.get(m, c.reservationId);
    if (!r || (r.state !== 'accepted' && r.state !== 'active')) return;
    await this.repo.useSlot(m, r.id, c.hostId, -1);
    await this.recomputeReserved(m, [c.hostId]);
  }

  /** Opens reservations whose window started (preempting what sits in their capacity) and ends those that are over. */
  async tick(): Promise<void> {
    const due = await this.repo.due(this.db.manager, new Date());
    for (const r of due.end) await this.finish(r.id);
    for (const r of due.open) await this.open(r.id);
  }

  private async open(id: string): Promise<void> {
    const out = await this.db.transaction(async (m) => {
      await this.repo.lock(m);
      const r = await this.repo.get(m, id);
      if (!r || r.state !== 'accepted') return null;
      const all = this.cache.snapshot();
      const pre: PreemptionRecord[] = [];
      for (const s of await this.repo.slots(m, id)) {
        const host = await this.hosts.get(m, s.hostId, true);
        if (!host) continue;
        const p = await this.makeRoom(m, host, null, `reservation ${r.name} (${r.id}) window opened`, { reservationId: r.id }, all);
        if (p === null) {
          this.log.warn({ msg: 'could not clear a reserved host yet (VM busy); retrying next tick', reservation: id, hostId: host.id });
          return 'retry';
        }
        pre.push(...p);
      }
      await this.repo.setState(m, id, 'active');
      return pre;
    });
    if (out === null || out === 'retry') return;
    for (const p of out) await this.publisher.preempted(p, `reservation-open:${id}`);
    this.log.log({ msg: 'reservation window opened', id, preempted: out.length });
  }

  private async finish(id: string): Promise<void> {
    const out = await this.db.transaction(async (m) => {
      await this.repo.lock(m);
      const r = await this.repo.get(m, id);
      if (!r || (r.state !== 'accepted' && r.state !== 'active')) return null;
      await this.repo.setState(m, id, 'ended');
      const pre: PreemptionRecord[] = [];
      if (r.stopVmsAtEnd) {
        for (const c of await this.claims.activeOfReservation(m, id)) {
          if (!(await this.claims.tryLockVm(m, c.vmId))) continue;
          const released = await this.claims.releaseActive(m, c.vmId, `reservation ${r.name} ended`);
          if (!released?.hostId) continue;
          await this.hosts.free(m, released.hostId, released.vcpus, released.memoryMiB, released.diskGiB, !!released.preemptible);
          const rec: PreemptionRecord = { vmId: c.vmId, hostId: released.hostId, action: 'stop', targetHostId: null, preemptedByVmId: null, reservationId: id, reason: `reservation ${r.name} (${id}) ended (stopVmsAtEnd)` };
          await m.query(`INSERT INTO scheduler.preemptions (vm_id, host_id, action, reservation_id, reason) VALUES ($1, $2, 'stop', $3, $4)`, [rec.vmId, rec.hostId, id, rec.reason]);
          pre.push(rec);
        }
      }
      await this.claims.clearReservation(m, id);
      await this.recomputeReserved(m, (await this.repo.slots(m, id)).map((s) => s.hostId));
      return { pre, view: await this.repo.view(m, { ...r, state: 'ended' }) };
    });
    if (!out) return;
    for (const p of out.pre) await this.publisher.preempted(p, `reservation-end:${id}`);
    await this.announce(Subjects.ReservationEnded, out.view);
    this.scheduling.onCapacityFreed();
    this.log.log({ msg: 'reservation ended', id, stopped: out.pre.length });
  }

  private async announce(subject: typeof Subjects.ReservationCreated | typeof Subjects.ReservationCancelled | typeof Subjects.ReservationEnded, v: ReservationView): Promise<void> {
    await this.bus.publish(subject, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(subject, v.id),
      occurredAt: new Date().toISOString(),
      reservationId: v.id,
      name: v.name,
      state: v.state,
      start: v.start,
      end: v.end,
      count: v.count,
      vcpus: v.flavor.vcpus,
      memoryMiB: v.flavor.memoryMiB,
      diskGiB: v.flavor.diskGiB,
      stopVmsAtEnd: v.stopVmsAtEnd,
    });
  }

  private async withDeadlockRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        if (i < 5 && /deadlock detected/i.test(String((err as Error)?.message))) continue;
        throw err;
      }
    }
  }
}
