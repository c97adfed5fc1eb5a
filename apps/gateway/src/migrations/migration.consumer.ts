import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { firstDelivery } from '@minicloud/database';
import { Bus } from '@minicloud/messaging';
import {
  MigrationCompletedEvent,
  MigrationFailedEvent,
  MigrationPlannedEvent,
  MigrationProgressEvent,
  MigrationRequestedEvent,
  MigrationStartedEvent,
  Subjects,
} from '@minicloud/contracts';
import { SCHEMA } from '../db/entities';
import { MigrationRow } from '../db/migration.entities';
import { durableFor } from '../read-model/events.consumer';
import { GatewayRepository } from '../read-model/gateway.repository';
import { applyMigrationChange, MigrationChange } from './migration-projection';
import { MigrationsRepository } from './migrations.repository';

/** A migration.requested / migration.planned as a new read-model row (state requested; the plan is applied after). */
export function rowFromRequest(e: MigrationRequestedEvent | MigrationPlannedEvent): MigrationRow {
  const at = new Date(e.occurredAt);
  return {
    id: e.migrationId,
    vmId: e.vmId,
    state: 'requested',
    origin: e.origin,
    mode: e.mode,
    storage: e.storage,
    requestedStrategy: e.strategy,
    strategy: null,
    strategyReason: null,
    sourceHostId: e.sourceHostId,
    targetHostId: e.targetHostId ?? null,
    maxDowntimeMs: e.maxDowntimeMs ?? null,
    bandwidthMiBs: e.bandwidthMiBs ?? null,
    reason: e.reason,
    stage: null,
    progress: null,
    progressAt: null,
    predictions: null,
    dirtyRateMiBs: null,
    result: null,
    stages: [],
    vmHostId: null,
    error: null,
    plannedAt: null,
    startedAt: null,
    finishedAt: null,
    requestedAt: at,
    updatedAt: new Date(),
  };
}

/** Deliveries of started/completed/failed while their migration is unknown (backoff 0.5 s doubling to 30 s: ~3 min). */
export const WAIT_FOR_REQUEST_DELIVERIES = 12;

/** Thrown (and retried by the bus) while an event's migration is not in the read model yet. */
export class MigrationNotYetKnown extends Error {}

/**
 * Applies migration.* events to gateway.migrations. Each call is one transaction with the inbox row (progress
 * excepted: it is telemetry, applied latest-wins by occurredAt, so a repeat is a no-op anyway); the rules of
 * applyMigrationChange keep the state moving forward whatever order the subjects' consumers deliver in.
 */
@Injectable()
export class MigrationProjector {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly migrations: MigrationsRepository,
  ) {}

  /** Inserts the migration unless it is there (the gateway stores its own requests before publishing them). */
  requested(consumer: string, e: MigrationRequestedEvent): Promise<void> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.migrations.insertIfAbsent(m, rowFromRequest(e));
    });
  }

  /** The plan may be the first the gateway hears of a migration (the planner's): insert, then apply. */
  planned(consumer: string, e: MigrationPlannedEvent): Promise<void> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.migrations.insertIfAbsent(m, rowFromRequest(e));
      await this.apply(m, e.migrationId, { kind: 'planned', at: e.occurredAt, targetHostId: e.targetHostId, reason: e.reason, storage: e.storage }, true);
    });
  }

  started(consumer: string, e: MigrationStartedEvent): Promise<void> {
    return this.inboxed(consumer, e.eventId, e.migrationId, {
      kind: 'started',
      at: e.occurredAt,
      targetHostId: e.targetHostId,
      strategy: e.strategy,
      strategyReason: e.strategyReason,
      ...(e.predictions ? { predictions: e.predictions.map((p) => ({ ...p })) } : {}),
      ...(e.dirtyRateMiBs !== undefined ? { dirtyRateMiBs: e.dirtyRateMiBs } : {}),
    });
  }

  completed(consumer: string, e: MigrationCompletedEvent): Promise<void> {
    return this.inboxed(consumer, e.eventId, e.migrationId, {
      kind: 'completed',
      at: e.occurredAt,
      targetHostId: e.targetHostId,
      ...(e.strategy ? { strategy: e.strategy } : {}),
      result: {
        totalTimeMs: e.totalTimeMs,
        downtimeMs: e.downtimeMs ?? null,
        dataTransferredBytes: e.dataTransferredBytes ?? null,
        iterations: e.iterations ?? null,
        compressedBytes: e.compressedBytes ?? null,
        compressionCacheMisses: e.compressionCacheMisses ?? null,
        postcopyRequests: e.postcopyRequests ?? null,
        probeMs: e.probeMs ?? null,
        predictedTotalTimeMs: e.predictedTotalTimeMs ?? null,
        predictedDowntimeMs: e.predictedDowntimeMs ?? null,
        forced: e.forced === true,
      },
      ...(e.stages ? { stages: e.stages.map((s) => ({ stage: s.stage, at: s.at })) } : {}),
    });
  }

  failed(consumer: string, e: MigrationFailedEvent): Promise<void> {
    return this.inboxed(consumer, e.eventId, e.migrationId, {
      kind: 'failed',
      at: e.occurredAt,
      reason: e.reason,
      vmHostId: e.vmHostId,
      ...(e.targetHostId ? { targetHostId: e.targetHostId } : {}),
      cancelled: e.cancelled === true,
    });
  }

  /** Latest progress only; ignored for an unknown or finished migration (the next report comes a second later). */
  progress(e: MigrationProgressEvent): Promise<void> {
    return this.repo.transaction(async (m) => {
      await this.apply(m, e.migrationId, {
        kind: 'progress',
        at: e.occurredAt,
        ...(e.stage ? { stage: e.stage } : {}),
        progress: {
          memoryProcessedBytes: e.memoryProcessedBytes,
          memoryRemainingBytes: e.memoryRemainingBytes,
          memoryTotalBytes: e.memoryTotalBytes,
          dataTransferredBytes: e.dataTransferredBytes ?? null,
          iteration: e.iteration ?? null,
          dirtyRatePagesPerSec: e.dirtyRatePagesPerSec ?? null,
          expectedDowntimeMs: e.expectedDowntimeMs ?? null,
          elapsedMs: e.elapsedMs ?? null,
        },
      }, false);
    });
  }

  private inboxed(consumer: string, eventId: string, migrationId: string, change: MigrationChange): Promise<void> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, eventId))) return;
      await this.apply(m, migrationId, change, true);
    });
  }

  /**
   * Locks the migration and applies the change. An unknown migration is retried when `mustExist` (its request
   * or plan is on the bus and arrives through another consumer; the transaction, inbox row included, rolls back).
   */
  private async apply(m: EntityManager, id: string, change: MigrationChange, mustExist: boolean): Promise<void> {
    const row = await this.migrations.lock(m, id);
    if (!row) {
      if (mustExist) throw new MigrationNotYetKnown(`migration ${id} is not in the gateway read model yet (its request or plan has not been applied)`);
      return;
    }
    const patch = applyMigrationChange(row, change);
    if (patch) await this.migrations.update(m, id, patch);
  }
}

/** One durable consumer per subject (nats-server 2.9: one filter subject each): gateway-migration-<event>. */
@Injectable()
export class MigrationEventsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly projector: MigrationProjector,
  ) {}

  async onApplicationBootstrap() {
    const p = this.projector;
    const d = durableFor;
    await this.bus.consume(Subjects.MigrationRequested, { durable: d(Subjects.MigrationRequested) }, (e) => p.requested(d(Subjects.MigrationRequested), e));
    await this.bus.consume(Subjects.MigrationPlanned, { durable: d(Subjects.MigrationPlanned) }, (e) => p.planned(d(Subjects.MigrationPlanned), e));
    // These may overtake the request or plan (another consumer): retried with backoff for about three minutes.
    const patient = { maxDeliver: WAIT_FOR_REQUEST_DELIVERIES };
    await this.bus.consume(Subjects.MigrationStarted, { durable: d(Subjects.MigrationStarted), ...patient }, (e) => p.started(d(Subjects.MigrationStarted), e));
    await this.bus.consume(Subjects.MigrationCompleted, { durable: d(Subjects.MigrationCompleted), ...patient }, (e) => p.completed(d(Subjects.MigrationCompleted), e));
    await this.bus.consume(Subjects.MigrationFailed, { durable: d(Subjects.MigrationFailed), ...patient }, (e) => p.failed(d(Subjects.MigrationFailed), e));
    // Progress is telemetry: one at a time keeps "latest wins" cheap; a report that fails twice is skipped.
    await this.bus.consume(Subjects.MigrationProgress, { durable: d(Subjects.MigrationProgress), concurrency: 1, maxDeliver: 2 }, (e) => p.progress(e));
  }
}
