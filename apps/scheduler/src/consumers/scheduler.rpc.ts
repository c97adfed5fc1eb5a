import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  HostMaintenanceRequest,
  PlannerSettingsRequest,
  RecommendationIdRequest,
  RecommendationListRequest,
  ReservationCreateRequest,
  ReservationIdRequest,
  ReservationListRequest,
  Rpc,
  SchedulerQueueRequest,
  VmStartClaimRequest,
} from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { RPC_QUEUE } from '../scheduler.constants';
import { DecisionStats } from '../services/decision-stats';
import { MaintenanceService } from '../services/maintenance.service';
import { PlannerService } from '../services/planner.service';
import { QueueService } from '../services/queue.service';
import { ReservationService } from '../services/reservation.service';
import { StartClaimService } from '../services/start-claim.service';
import { DECISION_STATS } from '../services/tokens';

/** The scheduler's request/reply API (the gateway's /v1/scheduler/queue, /v1/reservations, planner and host maintenance ask here). */
@Injectable()
export class SchedulerRpc implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(Bus) private readonly bus: Bus,
    private readonly queue: QueueService,
    private readonly reservations: ReservationService,
    private readonly planner: PlannerService,
    private readonly maintenance: MaintenanceService,
    private readonly startClaim: StartClaimService,
    @Inject(DECISION_STATS) private readonly stats: DecisionStats,
  ) {}

  onApplicationBootstrap(): void {
    this.bus.serve(Rpc.SchedulerQueue, SchedulerQueueRequest, RPC_QUEUE, (r) => this.queue.view(r.limit ?? 100));
    this.bus.serve(Rpc.ReservationCreate, ReservationCreateRequest, RPC_QUEUE, (r) => this.reservations.create(r));
    this.bus.serve(Rpc.ReservationList, ReservationListRequest, RPC_QUEUE, (r) => this.reservations.list(r.state));
    this.bus.serve(Rpc.ReservationGet, ReservationIdRequest, RPC_QUEUE, (r) => this.reservations.get(r.id));
    this.bus.serve(Rpc.ReservationCancel, ReservationIdRequest, RPC_QUEUE, (r) => this.reservations.cancel(r.id));
    // The migration planner and host maintenance (docs/scheduler.md, "Planner and maintenance").
    this.bus.serve(Rpc.RecommendationList, RecommendationListRequest, RPC_QUEUE, (r) => this.planner.list(r.state));
    this.bus.serve(Rpc.RecommendationApply, RecommendationIdRequest, RPC_QUEUE, (r) => this.planner.apply(r.id));
    this.bus.serve(Rpc.RecommendationDismiss, RecommendationIdRequest, RPC_QUEUE, (r) => this.planner.dismiss(r.id));
    this.bus.serve(Rpc.PlannerSettingsGet, PlannerSettingsRequest, RPC_QUEUE, () => this.planner.settingsView());
    this.bus.serve(Rpc.PlannerSettingsSet, PlannerSettingsRequest, RPC_QUEUE, (r) => this.planner.setSettings(r));
    this.bus.serve(Rpc.HostMaintenance, HostMaintenanceRequest, RPC_QUEUE, (r) => this.maintenance.request(r));
    // No VM runs without a claim: the gateway asks before a start (docs/scheduler.md, "Restarting a preempted VM").
    this.bus.serve(Rpc.VmStartClaim, VmStartClaimRequest, RPC_QUEUE, (r) => this.startClaim.claimForStart(r));
  }

  /** One log line with this replica's decision latencies (the benchmark reads it). */
  onApplicationShutdown(): void {
    // Written directly (not through the level-filtered logger): the benchmark runs with LOG_LEVEL=warn.
    process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'scheduler', context: 'SchedulerRpc', msg: 'decision stats', ...this.stats.summary() }) + '\n');
    this.stats.close();
  }
}
