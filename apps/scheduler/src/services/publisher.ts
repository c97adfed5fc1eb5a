import { Inject, Injectable } from '@nestjs/common';
import { EventOf, MigrationStorageKind, SCHEMA_VERSION, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { Claim, MigrationHold, MigrationRefusal, PreemptionRecord, ScheduleFailure } from '../persistence';
import { decisionEventId } from './event-ids';
import { SCHEDULER_CONFIG } from './tokens';
import { SchedulerConfig } from './config';

export type VmRequested = EventOf<typeof Subjects.VmRequested>;
export type MigrationRequested = EventOf<typeof Subjects.MigrationRequested>;

/** The migration that moves a preempted VM away: live, the default strategy and downtime limit of the migrator. */
export function preemptionMigration(h: MigrationHold, storage: MigrationStorageKind): MigrationRequested {
  return {
    schemaVersion: SCHEMA_VERSION,
    eventId: decisionEventId(Subjects.MigrationRequested, h.migrationId),
    occurredAt: h.createdAt.toISOString(),
    migrationId: h.migrationId,
    vmId: h.vmId,
    sourceHostId: h.sourceHostId,
    targetHostId: h.targetHostId,
    mode: 'live',
    storage,
    strategy: 'auto',
    origin: 'preemption',
    reason: h.reason.slice(0, 2000),
  };
}

/**
 * Publishes the scheduler's decisions with event ids derived from the decision (VM, kind, attempt), so a
 * decision published again after a crash or a redelivery is dropped as a duplicate everywhere.
 */
@Injectable()
export class DecisionPublisher {
  constructor(
    @Inject(Bus) private readonly bus: Bus,
    @Inject(SCHEDULER_CONFIG) private readonly cfg: SchedulerConfig,
  ) {}

  async scheduled(req: VmRequested, c: Claim, attempt = 1): Promise<void> {
    await this.bus.publish(Subjects.VmScheduled, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.VmScheduled, req.vmId, attempt),
      occurredAt: c.createdAt.toISOString(),
      vmId: req.vmId,
      name: req.name,
      hostId: c.hostId as string,
      resources: { vcpus: c.vcpus, memoryMiB: c.memoryMiB, diskGiB: c.diskGiB },
      image: { id: req.image.id, name: req.image.name, checksum: req.image.checksum, ...(req.image.arch ? { arch: req.image.arch } : {}) },
      sshKeys: req.sshKeys,
      userData: req.userData,
      ...(req.storage ? { storage: req.storage } : {}),
      reason: c.reason.slice(0, 2000),
      attempt,
      maxAttempts: this.cfg.maxBuildAttempts,
    });
  }

  async failed(vmId: string, f: ScheduleFailure): Promise<void> {
    await this.bus.publish(Subjects.VmScheduleFailed, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.VmScheduleFailed, vmId),
      occurredAt: f.createdAt.toISOString(),
      vmId,
      reason: f.reason.slice(0, 4000),
      removedByFilter: f.removedByFilter,
    });
  }

  async queued(req: VmRequested, reason: string, removedByFilter: Record<string, number>, enqueuedAt: Date): Promise<void> {
    await this.bus.publish(Subjects.VmQueued, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.VmQueued, req.vmId),
      occurredAt: enqueuedAt.toISOString(),
      vmId: req.vmId,
      priority: req.priority ?? 4,
      ...(req.deadline ? { deadline: req.deadline } : {}),
      reason: reason.slice(0, 4000),
      removedByFilter,
    });
  }

  /**
   * The event id derives from the recorded preemption's id (else from `key`), so each preemption has its own and a
   * repeat of the same one is dropped as a duplicate. Action `migrate` publishes the
   * migration that moves the VM too (migration.planned, origin `preemption`: its capacity on the target is the
   * claim's, already moved), after the preemption itself.
   */
  async preempted(p: PreemptionRecord, key: string): Promise<void> {
    await this.bus.publish(Subjects.VmPreemptRequested, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.VmPreemptRequested, p.vmId, p.id !== undefined ? `preemption-${p.id}` : key),
      occurredAt: new Date().toISOString(),
      vmId: p.vmId,
      hostId: p.hostId,
      action: p.action,
      ...(p.targetHostId ? { targetHostId: p.targetHostId } : {}),
      ...(p.migration ? { migrationId: p.migration.hold.migrationId } : {}),
      ...(p.preemptedByVmId ? { preemptedByVmId: p.preemptedByVmId } : {}),
      ...(p.reservationId ? { reservationId: p.reservationId } : {}),
      reason: p.reason.slice(0, 2000),
    });
    if (p.migration) await this.migrationPlanned(preemptionMigration(p.migration.hold, p.migration.storage), p.migration.hold);
  }

  /** Capacity is held on the target: the migrator may start. Same event id for the same migration. */
  async migrationPlanned(e: MigrationRequested, h: MigrationHold): Promise<void> {
    await this.bus.publish(Subjects.MigrationPlanned, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.MigrationPlanned, e.migrationId),
      occurredAt: h.createdAt.toISOString(),
      migrationId: e.migrationId,
      vmId: h.vmId,
      sourceHostId: h.sourceHostId,
      targetHostId: h.targetHostId,
      mode: e.mode,
      storage: e.storage,
      strategy: e.strategy,
      ...(e.maxDowntimeMs !== undefined ? { maxDowntimeMs: e.maxDowntimeMs } : {}),
      ...(e.bandwidthMiBs !== undefined ? { bandwidthMiBs: e.bandwidthMiBs } : {}),
      memoryMiB: h.memoryMiB,
      vcpus: h.vcpus,
      origin: e.origin,
      reason: h.reason.slice(0, 2000),
    });
  }

  /** The scheduler refused the migration (nothing was held). Same event id for the same migration. */
  async migrationRefused(e: MigrationRequested, r: MigrationRefusal): Promise<void> {
    await this.bus.publish(Subjects.MigrationFailed, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId(Subjects.MigrationFailed, e.migrationId),
      occurredAt: r.createdAt.toISOString(),
      migrationId: e.migrationId,
      vmId: e.vmId,
      sourceHostId: e.sourceHostId,
      ...(e.targetHostId ? { targetHostId: e.targetHostId } : {}),
      reason: r.reason.slice(0, 4000),
      vmHostId: r.vmHostId,
    });
  }

  /**
   * The scheduler gave up on a migration that never ended (its hold timed out): a migrator still running it must
   * abort it. Same event id for the same migration.
   */
  async migrationTimedOut(migrationId: string): Promise<void> {
    await this.bus.publish(Subjects.MigrationControl, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId('migration.timed-out', migrationId),
      occurredAt: new Date().toISOString(),
      migrationId,
      action: 'cancel',
    });
  }

  /** A VM the scheduler gave up on after its placement (build retries exhausted): generation continues the provisioner's. */
  async vmFailed(vmId: string, generation: number, reason: string): Promise<void> {
    await this.bus.publish(Subjects.VmStateChanged, {
      schemaVersion: SCHEMA_VERSION,
      eventId: decisionEventId('vm.failed', vmId, generation),
      occurredAt: new Date().toISOString(),
      vmId,
      state: 'failed',
      previousState: 'requested',
      reason: reason.slice(0, 4000),
      generation,
    });
  }
}
