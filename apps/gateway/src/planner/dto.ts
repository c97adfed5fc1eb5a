import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsIn, IsOptional } from 'class-validator';
import { AutomationLevel, AutomationLevels, RecommendationKinds, RecommendationView } from '@minicloud/contracts';

/** The states of a recommendation (RecommendationView['state'] in libs/contracts/src/planner.ts). */
export const RecommendationStates: readonly RecommendationView['state'][] = ['open', 'applied', 'dismissed', 'expired'];

const oneOf = (field: string, values: readonly string[]) => ({ message: `${field} must be one of: ${values.join(', ')}` });

/** GET /v1/migrations/recommendations?state= */
export class ListRecommendationsQuery {
  @ApiPropertyOptional({ enum: RecommendationStates, description: 'Only recommendations in this state (default: every state)' })
  @IsOptional() @IsIn(RecommendationStates as string[], oneOf('state', RecommendationStates))
  state?: RecommendationView['state'];
}

/** PATCH /v1/scheduler/planner. Both fields optional; unknown fields are refused (400). */
export class UpdatePlannerSettingsDto {
  @ApiPropertyOptional({ enum: AutomationLevels, description: 'manual: recommendations are only listed and applied by id; automatic: the planner starts them at once' })
  @IsOptional() @IsIn(AutomationLevels as unknown as string[], oneOf('automation', AutomationLevels))
  automation?: AutomationLevel;

  @ApiPropertyOptional({ description: 'Consolidation (emptying lightly loaded hosts) is opt-in' })
  @IsOptional() @IsBoolean({ message: 'consolidation must be true or false' })
  consolidation?: boolean;
}

// ---- Swagger shapes of the planner's views (libs/contracts/src/planner.ts) ------------------------------------

export class RecommendationViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: RecommendationKinds, description: 'Why the planner wants the VM moved' }) kind: string;
  @ApiProperty({ format: 'uuid' }) vmId: string;
  @ApiProperty({ format: 'uuid' }) sourceHostId: string;
  @ApiProperty({ format: 'uuid' }) targetHostId: string;
  @ApiProperty({ description: 'One sentence with the numbers (scores before/after, caps, rounds)' }) reason: string;
  @ApiProperty({ nullable: true, type: Number, description: 'Load score gap between the two hosts before the move' }) gapBefore: number | null;
  @ApiProperty({ nullable: true, type: Number, description: 'Predicted gap after the move' }) gapAfter: number | null;
  @ApiProperty({ enum: RecommendationStates }) state: string;
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'The migration it became, once applied' }) migrationId: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class RecommendationListDto {
  @ApiProperty({ type: [RecommendationViewDto] }) items: RecommendationViewDto[];
  @ApiProperty() total: number;
}

export class PlannerSettingsViewDto {
  @ApiProperty({ enum: AutomationLevels }) automation: string;
  @ApiProperty({ description: 'Consolidation (empty lightly loaded hosts) is on' }) consolidation: boolean;
  @ApiProperty({ description: 'Balance threshold on the least-loaded score (0..1)' }) balanceThreshold: number;
  @ApiProperty({ description: 'Rounds above a cap before a host is a hot spot' }) hotSpotRounds: number;
  @ApiProperty({ description: 'A VM moved by the planner is not moved again for this long (s)' }) cooldownSeconds: number;
  @ApiProperty({ description: 'How often the planner runs (s)' }) intervalSeconds: number;
}

export class BlockedVmDto {
  @ApiProperty({ format: 'uuid' }) vmId: string;
  @ApiProperty({ description: 'Why it cannot be placed elsewhere now' }) reason: string;
}

export class TimedOutMoveDto {
  @ApiProperty({ format: 'uuid' }) vmId: string;
  @ApiProperty({ format: 'uuid' }) migrationId: string;
  @ApiProperty({ description: 'The limit and how long it was open' }) reason: string;
}

export class HostMaintenanceViewDto {
  @ApiProperty({ format: 'uuid' }) hostId: string;
  @ApiProperty({ enum: ['draining', 'maintenance', 'up'], description: 'draining: VMs are being moved away; maintenance: empty, takes no VM; up: back in service' }) state: string;
  @ApiProperty({ description: 'VMs still on the host' }) remainingVms: number;
  @ApiProperty({ type: [String], description: 'Migrations planned for the drain' }) migrationIds: string[];
  @ApiProperty({ type: [BlockedVmDto], description: 'VMs that could not be placed elsewhere (the drain waits for room)' }) blocked: BlockedVmDto[];
  @ApiProperty({ type: [TimedOutMoveDto], description: 'Moves of this drain that never ended: the scheduler gave up after its migration timeout (the VM is requested again)' }) timedOut: TimedOutMoveDto[];
}
