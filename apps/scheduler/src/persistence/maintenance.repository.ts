import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { HostState } from '@minicloud/contracts';
import { rowsOf } from './sql';

export type MaintenanceRecordState = 'draining' | 'maintenance' | 'up';

/** A host's maintenance record (scheduler.host_maintenance), beside `hosts.maintenance` which the filters read. */
export interface MaintenanceRecord {
  hostId: string;
  state: MaintenanceRecordState;
  /** The host's state when the drain began (host.state-changed's previousState). */
  previousState: HostState;
  /** Bumped by every enter: the drain's migrations are those of this epoch. */
  epoch: number;
  since: Date;
  changedAt: Date;
  /** host.state-changed for `state` is published (maintenance, or up after an exit). */
  announced: boolean;
}

interface Row {
  host_id: string;
  state: MaintenanceRecordState;
  previous_state: HostState;
  epoch: number;
  since: Date;
  changed_at: Date;
  announced: boolean;
}

const toRecord = (r: Row): MaintenanceRecord => ({
  hostId: r.host_id,
  state: r.state,
  previousState: r.previous_state,
  epoch: r.epoch,
  since: new Date(r.since),
  changedAt: new Date(r.changed_at),
  announced: r.announced,
});

export interface DrainMove {
  migrationId: string;
  vmId: string;
  createdAt: Date;
  /** The scheduler's answer: an open or settled hold, or a refusal; none yet = in flight. */
  holdOpen: boolean;
  holdOutcome: string | null;
  /** Why the hold was settled that way, when recorded (a timeout says how long it was open). */
  holdReason: string | null;
  refusal: string | null;
}

/** scheduler.host_maintenance, maintenance_moves, maintenance_blocked and the `maintenance` column of hosts. */
@Injectable()
export class MaintenanceRepository {
  /** Serialises every maintenance step of one host (enter, exit, drain rounds) across replicas. */
  async lockHost(m: EntityManager, hostId: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('minicloud.scheduler.maintenance'), hashtext($1::text))`, [hostId]);
  }

  async get(m: EntityManager, hostId: string): Promise<MaintenanceRecord | null> {
    const rows = await rowsOf<Row>(m, `SELECT * FROM scheduler.host_maintenance WHERE host_id = $1`, [hostId]);
    return rows.length ? toRecord(rows[0]) : null;
  }

  async list(m: EntityManager): Promise<MaintenanceRecord[]> {
    return (await rowsOf<Row>(m, `SELECT * FROM scheduler.host_maintenance ORDER BY host_id`)).map(toRecord);
  }

  /** Starts a drain (a new epoch) and takes the host out of placement at once. */
  async enter(m: EntityManager, hostId: string, previousState: HostState): Promise<MaintenanceRecord> {
    await m.query(`UPDATE scheduler.hosts SET maintenance = 'draining', generation = generation + 1, updated_at = now() WHERE id = $1`, [hostId]);
    const rows = await rowsOf<Row>(m,
      `INSERT INTO scheduler.host_maintenance (host_id, state, previous_state) VALUES ($1, 'draining', $2)
       ON CONFLICT (host_id) DO UPDATE SET state = 'draining', previous_state = EXCLUDED.previous_state,
         epoch = host_maintenance.epoch + 1, since = now(), changed_at = now(), announced = false
       RETURNING *`,
      [hostId, previousState],
    );
    await m.query(`DELETE FROM scheduler.maintenance_blocked WHERE host_id = $1`, [hostId]);
    return toRecord(rows[0]);
  }

  /** The drain is over: the host is in maintenance (still takes no VM); to be announced. */
  async drained(m: EntityManager, hostId: string): Promise<MaintenanceRecord> {
    await m.query(`UPDATE scheduler.hosts SET maintenance = 'maintenance', generation = generation + 1, updated_at = now() WHERE id = $1`, [hostId]);
    await m.query(`DELETE FROM scheduler.maintenance_blocked WHERE host_id = $1`, [hostId]);
    const rows = await rowsOf<Row>(m,
      `UPDATE scheduler.host_maintenance SET state = 'maintenance', changed_at = now(), announced = false WHERE host_id = $1 RETURNING *`,
      [hostId],
    );
    return toRecord(rows[0]);
  }

  /**
   * Back in service: takes VMs again at once (a `maintenance` state set by our own announcement becomes `up`
   * at the same moment as the announcement of the exit).
   */
  async exit(m: EntityManager, hostId: string): Promise<MaintenanceRecord> {
    const rows = await rowsOf<Row>(m,
      `UPDATE scheduler.host_maintenance SET state = 'up', changed_at = now(), announced = false,
         previous_state = CASE WHEN state = 'maintenance' THEN 'maintenance' ELSE previous_state END
       WHERE host_id = $1 RETURNING *`,
      [hostId],
    );
    const rec = toRecord(rows[0]);
    await m.query(
      `UPDATE scheduler.hosts SET maintenance = NULL,
         state = CASE WHEN state = 'maintenance' AND state_at <= $2 THEN 'up' ELSE state END,
         state_at = CASE WHEN state = 'maintenance' AND state_at <= $2 THEN $2 ELSE state_at END,
         generation = generation + 1, updated_at = now()
       WHERE id = $1`,
      [hostId, rec.changedAt],
    );
    await m.query(`DELETE FROM scheduler.maintenance_blocked WHERE host_id = $1`, [hostId]);
    return rec;
  }

  async markAnnounced(m: EntityManager, hostId: string, state: MaintenanceRecordState, epoch: number): Promise<void> {
    await m.query(`UPDATE scheduler.host_maintenance SET announced = true WHERE host_id = $1 AND state = $2 AND epoch = $3`, [hostId, state, epoch]);
  }

  async addMove(m: EntityManager, hostId: string, epoch: number, vmId: string, migrationId: string): Promise<void> {
    await m.query(`INSERT INTO scheduler.maintenance_moves (migration_id, host_id, epoch, vm_id) VALUES ($1, $2, $3, $4)`, [migrationId, hostId, epoch, vmId]);
  }

  /** The drain's migrations of this epoch, oldest first, with the scheduler's answer to each. */
  async moves(m: EntityManager, hostId: string, epoch: number): Promise<DrainMove[]> {
    const rows = await rowsOf<{ migration_id: string; vm_id: string; created_at: Date; settled_at: Date | null; outcome: string | null; settle_reason: string | null; has_hold: boolean; refusal: string | null }>(m,
      `SELECT mv.migration_id, mv.vm_id, mv.created_at, h.settled_at, h.outcome, h.settle_reason, h.migration_id IS NOT NULL AS has_hold, f.reason AS refusal
         FROM scheduler.maintenance_moves mv
         LEFT JOIN scheduler.migration_holds h ON h.migration_id = mv.migration_id
         LEFT JOIN scheduler.migration_refusals f ON f.migration_id = mv.migration_id
        WHERE mv.host_id = $1 AND mv.epoch = $2 ORDER BY mv.created_at, mv.migration_id`,
      [hostId, epoch],
    );
    return rows.map((r) => ({
      migrationId: r.migration_id,
      vmId: r.vm_id,
      createdAt: new Date(r.created_at),
      holdOpen: r.has_hold && r.settled_at === null,
      holdOutcome: r.outcome,
      holdReason: r.settle_reason,
      refusal: r.refusal,
    }));
  }

  async setBlocked(m: EntityManager, hostId: string, blocked: { vmId: string; reason: string }[]): Promise<void> {
    await m.query(`DELETE FROM scheduler.maintenance_blocked WHERE host_id = $1`, [hostId]);
    for (const b of blocked) {
      await m.query(`INSERT INTO scheduler.maintenance_blocked (host_id, vm_id, reason) VALUES ($1, $2, $3)`, [hostId, b.vmId, b.reason.slice(0, 2000)]);
    }
  }

  async blocked(m: EntityManager, hostId: string): Promise<{ vmId: string; reason: string }[]> {
    const rows = await rowsOf<{ vm_id: string; reason: string }>(m, `SELECT vm_id, reason FROM scheduler.maintenance_blocked WHERE host_id = $1 ORDER BY vm_id`, [hostId]);
    return rows.map((r) => ({ vmId: r.vm_id, reason: r.reason }));
  }

  /** Open holds of VMs leaving the host. */
  async outgoing(m: EntityManager, hostId: string): Promise<number> {
    const rows = await rowsOf<{ n: number }>(m, `SELECT count(*)::int AS n FROM scheduler.migration_holds WHERE source_host_id = $1 AND settled_at IS NULL`, [hostId]);
    return rows[0].n;
  }
}
