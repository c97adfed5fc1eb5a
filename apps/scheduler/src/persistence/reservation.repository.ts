import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { ReservationState, ReservationView } from '@minicloud/contracts';
import { Hold } from '../placement/reservations';
import { rowsOf } from './sql';

export interface Reservation {
  id: string;
  name: string;
  state: ReservationState;
  start: Date;
  end: Date;
  count: number;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  stopVmsAtEnd: boolean;
  createdAt: Date;
}

interface Raw {
  id: string;
  name: string;
  state: ReservationState;
  start_at: Date;
  end_at: Date;
  count: number;
  vcpus: number;
  memory_mib: number;
  disk_gib: number;
  stop_vms_at_end: boolean;
  created_at: Date;
}

const toReservation = (r: Raw): Reservation => ({
  id: r.id,
  name: r.name,
  state: r.state,
  start: new Date(r.start_at),
  end: new Date(r.end_at),
  count: r.count,
  vcpus: r.vcpus,
  memoryMiB: r.memory_mib,
  diskGiB: r.disk_gib,
  stopVmsAtEnd: r.stop_vms_at_end,
  createdAt: new Date(r.created_at),
});

export interface SlotRow {
  reservationId: string;
  hostId: string;
  slots: number;
  used: number;
}

/** scheduler.reservations and scheduler.reservation_hosts (slots held per host). */
@Injectable()
export class ReservationRepository {
  /** Serialises everything that changes what reservations hold (create, consume, open, end, cancel). */
  async lock(m: EntityManager): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.reservations'))`);
  }

  async insert(m: EntityManager, r: Omit<Reservation, 'createdAt' | 'state'>, slots: Map<string, number>): Promise<void> {
    await m.query(
      `INSERT INTO scheduler.reservations (id, name, state, start_at, end_at, count, vcpus, memory_mib, disk_gib, stop_vms_at_end)
       VALUES ($1, $2, 'accepted', $3, $4, $5, $6, $7, $8, $9)`,
      [r.id, r.name, r.start, r.end, r.count, r.vcpus, r.memoryMiB, r.diskGiB, r.stopVmsAtEnd],
    );
    for (const [hostId, n] of slots) {
      await m.query(`INSERT INTO scheduler.reservation_hosts (reservation_id, host_id, slots) VALUES ($1, $2, $3)`, [r.id, hostId, n]);
    }
  }

  async get(m: EntityManager, id: string): Promise<Reservation | null> {
    const rows = await rowsOf<Raw>(m, `SELECT * FROM scheduler.reservations WHERE id = $1`, [id]);
    return rows.length ? toReservation(rows[0]) : null;
  }

  async list(m: EntityManager, state?: ReservationState): Promise<Reservation[]> {
    const rows = await rowsOf<Raw>(m, `SELECT * FROM scheduler.reservations ${state ? 'WHERE state = $1' : ''} ORDER BY start_at, id`, state ? [state] : []);
    return rows.map(toReservation);
  }

  async setState(m: EntityManager, id: string, state: ReservationState): Promise<void> {
    const col = state === 'active' ? ', opened_at = now()' : state === 'ended' || state === 'cancelled' ? ', ended_at = now()' : '';
    await m.query(`UPDATE scheduler.reservations SET state = $2${col} WHERE id = $1`, [id, state]);
  }

  async slots(m: EntityManager, reservationId: string): Promise<SlotRow[]> {
    const rows = await rowsOf<{ reservation_id: string; host_id: string; slots: number; used: number }>(m,
      `SELECT * FROM scheduler.reservation_hosts WHERE reservation_id = $1 ORDER BY host_id`,
      [reservationId],
    );
    return rows.map((r) => ({ reservationId: r.reservation_id, hostId: r.host_id, slots: r.slots, used: r.used }));
  }

  async useSlot(m: EntityManager, reservationId: string, hostId: string, delta: 1 | -1): Promise<void> {
    await m.query(
      `UPDATE scheduler.reservation_hosts SET used = GREATEST(0, LEAST(slots, used + $3)) WHERE reservation_id = $1 AND host_id = $2`,
      [reservationId, hostId, delta],
    );
  }

  /** What reservations that are still open (accepted or active) hold on each host: remaining (unused) slots × flavor. */
  async holdsByHost(m: EntityManager, hostIds?: string[]): Promise<Map<string, Hold[]>> {
    const rows = await rowsOf<{ host_id: string; start_at: Date; end_at: Date; stop_vms_at_end: boolean; remaining: number; vcpus: number; memory_mib: number; disk_gib: number }>(m,
      `SELECT rh.host_id, r.start_at, r.end_at, r.stop_vms_at_end, rh.slots - rh.used AS remaining, r.vcpus, r.memory_mib, r.disk_gib
       FROM scheduler.reservation_hosts rh JOIN scheduler.reservations r ON r.id = rh.reservation_id
       WHERE r.state IN ('accepted', 'active') AND rh.slots > rh.used ${hostIds ? 'AND rh.host_id = ANY($1::uuid[])' : ''}`,
      hostIds ? [hostIds] : [],
    );
    const out = new Map<string, Hold[]>();
    for (const r of rows) {
      const h: Hold = {
        start: new Date(r.start_at).getTime(),
        // VMs of a reservation that does not stop them at its end may run on for ever: hold without end.
        end: r.stop_vms_at_end ? new Date(r.end_at).getTime() : Infinity,
        vcpus: r.remaining * r.vcpus,
        memoryMiB: r.remaining * r.memory_mib,
        diskGiB: r.remaining * r.disk_gib,
      };
      out.set(r.host_id, [...(out.get(r.host_id) ?? []), h]);
    }
    return out;
  }

  /** Reservations to open (window started) or to end (window over), as of `now`. */
  async due(m: EntityManager, now: Date): Promise<{ open: Reservation[]; end: Reservation[] }> {
    const rows = await rowsOf<Raw>(m, `SELECT * FROM scheduler.reservations WHERE state IN ('accepted', 'active') AND (start_at <= $1 OR end_at <= $1)`, [now]);
    const all = rows.map(toReservation);
    return {
      end: all.filter((r) => r.end.getTime() <= now.getTime()),
      open: all.filter((r) => r.state === 'accepted' && r.start.getTime() <= now.getTime() && r.end.getTime() > now.getTime()),
    };
  }

  async view(m: EntityManager, r: Reservation): Promise<ReservationView> {
    const slots = await this.slots(m, r.id);
    return {
      id: r.id,
      name: r.name,
      state: r.state,
      start: r.start.toISOString(),
      end: r.end.toISOString(),
      count: r.count,
      flavor: { vcpus: r.vcpus, memoryMiB: r.memoryMiB, diskGiB: r.diskGiB },
      stopVmsAtEnd: r.stopVmsAtEnd,
      hosts: slots.map((s) => ({ hostId: s.hostId, slots: s.slots, used: s.used })),
      createdAt: r.createdAt.toISOString(),
    };
  }
}
