import { Injectable, NotFoundException } from '@nestjs/common';
import { HostMaintenanceView, PlannerSettingsView, RecommendationView, Rpc, RpcSubject } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { toHttpError } from '../http/exceptions';
import { GatewayRepository, Page } from '../read-model/gateway.repository';
import { ListRecommendationsQuery, UpdatePlannerSettingsDto } from './dto';

/** How long the gateway waits for the scheduler's answer (then 504). */
export const PLANNER_TIMEOUT_MS = 15_000;

/**
 * The migration planner and host maintenance, answered by the scheduler over request/reply
 * (rpc.scheduler.recommendation.*, rpc.scheduler.planner.settings.*, rpc.scheduler.host.maintenance).
 * The scheduler's 404/409 pass through with its message; nobody answering is a 503, no answer in time a 504.
 */
@Injectable()
export class PlannerService {
  constructor(
    private readonly bus: Bus,
    private readonly repo: GatewayRepository,
  ) {}

  private async ask<T>(subject: RpcSubject, body: object): Promise<T> {
    try {
      return await this.bus.request<T>(subject, body, PLANNER_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err, 'scheduler');
    }
  }

  /** Newest first as the scheduler orders them; answered as { items, total } like every list of the API. */
  async recommendations(q: ListRecommendationsQuery): Promise<Page<RecommendationView>> {
    const reply = await this.ask<RecommendationView[] | { items: RecommendationView[] }>(Rpc.RecommendationList, q.state ? { state: q.state } : {});
    const items = Array.isArray(reply) ? reply : (reply?.items ?? []);
    return { items, total: items.length };
  }

  apply(id: string): Promise<RecommendationView> {
    return this.ask(Rpc.RecommendationApply, { id });
  }

  dismiss(id: string): Promise<RecommendationView> {
    return this.ask(Rpc.RecommendationDismiss, { id });
  }

  settings(): Promise<PlannerSettingsView> {
    return this.ask(Rpc.PlannerSettingsGet, {});
  }

  /** Only the fields given are sent (an absent field keeps its value). */
  updateSettings(dto: UpdatePlannerSettingsDto): Promise<PlannerSettingsView> {
    const body: Record<string, unknown> = {};
    if (dto.automation !== undefined) body.automation = dto.automation;
    if (dto.consolidation !== undefined) body.consolidation = dto.consolidation;
    return this.ask(Rpc.PlannerSettingsSet, body);
  }

  /**
   * Enter (drain, then maintenance) or exit maintenance. 404 when the host is not in the read model; the host's
   * own state in the read model changes only with host.state-changed (draining is shown in this view only).
   */
  async maintenance(hostId: string, action: 'enter' | 'exit'): Promise<HostMaintenanceView> {
    if (!(await this.repo.findHost(hostId))) throw new NotFoundException(`host ${hostId} not found`);
    return this.ask(Rpc.HostMaintenance, { hostId, action });
  }
}
