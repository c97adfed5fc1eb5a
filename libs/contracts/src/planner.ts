import { IsBoolean, IsIn, IsOptional, IsUUID } from 'class-validator';

/** Why the planner wants a VM moved. */
export const RecommendationKinds = ['balance', 'hot-spot', 'consolidation', 'maintenance'] as const;
export type RecommendationKind = (typeof RecommendationKinds)[number];

/** manual: plans are only listed (GET /v1/migrations/recommendations) and applied by id; automatic: started at once. */
export const AutomationLevels = ['manual', 'automatic'] as const;
export type AutomationLevel = (typeof AutomationLevels)[number];

/** A migration the planner proposes (or started, in automatic mode). */
export interface RecommendationView {
  id: string;
  kind: RecommendationKind;
  vmId: string;
  sourceHostId: string;
  targetHostId: string;
  /** One sentence with the numbers (scores before/after, caps, rounds). */
  reason: string;
  /** Load score gap between the two hosts before and (predicted) after the move. */
  gapBefore: number | null;
  gapAfter: number | null;
  state: 'open' | 'applied' | 'dismissed' | 'expired';
  /** The migration it became, once applied (by a user, or automatically). */
  migrationId: string | null;
  createdAt: string;
}

export interface PlannerSettingsView {
  automation: AutomationLevel;
  /** Consolidation (empty lightly loaded hosts) is opt-in. */
  consolidation: boolean;
  /** Balance threshold on the least-loaded score (0..1). */
  balanceThreshold: number;
  /** Rounds above a cap before a host is a hot spot. */
  hotSpotRounds: number;
  /** A VM moved by the planner is not moved again for this long (s). */
  cooldownSeconds: number;
  intervalSeconds: number;
}

export class RecommendationListRequest {
  @IsOptional() @IsIn(['open', 'applied', 'dismissed', 'expired'])
  state?: RecommendationView['state'];
}

export class RecommendationIdRequest {
  @IsUUID()
  id!: string;
}

export class PlannerSettingsRequest {
  @IsOptional() @IsIn(AutomationLevels as unknown as string[])
  automation?: AutomationLevel;

  @IsOptional() @IsBoolean()
  consolidation?: boolean;
}

/** Maintenance of a host: enter drains it (every VM migrated away within the limits), then it is `maintenance`. */
export class HostMaintenanceRequest {
  @IsUUID()
  hostId!: string;

  @IsIn(['enter', 'exit'])
  action!: 'enter' | 'exit';
}

export interface HostMaintenanceView {
  hostId: string;
  /** draining: VMs are being moved away; maintenance: empty, takes no VM; up: back in service. */
  state: 'draining' | 'maintenance' | 'up';
  /** VMs still on the host. */
  remainingVms: number;
  /** Migrations planned for the drain. */
  migrationIds: string[];
  /** VMs that could not be placed elsewhere (the drain waits for room), with the reason. */
  blocked: { vmId: string; reason: string }[];
  /**
   * Moves of this drain that never ended (no migration.completed/failed within the scheduler's migration
   * timeout): the scheduler gave up, released the target's hold and asked the migrator to cancel. The VM is
   * requested again on the next round while it is still on the host.
   */
  timedOut: { vmId: string; migrationId: string; reason: string }[];
}
