import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ReservationCreateRequest, ReservationIdRequest, ReservationListRequest, Rpc, SchedulerQueueRequest } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { RPC_QUEUE } from '../scheduler.constants';
import { DecisionStats } from '../services/decision-stats';
import { QueueService } from '../services/queue.service';
import { ReservationService } from '../services/reservation.service';
import { DECISION_STATS } from '../services/tokens';

/** The scheduler's request/reply API (the gateway's /v1/scheduler/queue and /v1/reservations ask here). */
@Injectable()
export class SchedulerRpc implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(Bus) private readonly bus: Bus,
    private readonly queue: QueueService,
    private readonly reservations: ReservationService,
    @Inject(DECISION_STATS) private readonly stats: DecisionStats,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve(Rpc.SchedulerQueue, SchedulerQueueRequest, RPC_QUEUE, (r) => this.queue.view(r.limit ?? 100));
    this.bus.serve(Rpc.ReservationCreate, ReservationCreateRequest, RPC_QUEUE, (r) => this.reservations.create(r));
    this.bus.serve(Rpc.ReservationList, ReservationListRequest, RPC_QUEUE, (r) => this.reservations.list(r.state));
    this.bus.serve(Rpc.ReservationGet, ReservationIdRequest, RPC_QUEUE, (r) => this.reservations.get(r.id));
    this.bus.serve(Rpc.ReservationCancel, ReservationIdRequest, RPC_QUEUE, (r) => this.reservations.cancel(r.id));
  }

  /** One log line with this replica's decision latencies (the benchmark reads it). */
  onApplicationShutdown(): void {
    // Written directly (not through the level-filtered logger): the benchmark runs with LOG_LEVEL=warn.
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'scheduler', context: 'SchedulerRpc', msg: 'decision stats', ...this.stats.summary() }) + '\n');
  }
}
