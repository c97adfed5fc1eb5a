import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiGatewayTimeoutResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { ErrorDto } from '../vms/dto';
import { HostMaintenanceViewDto, ListRecommendationsQuery, PlannerSettingsViewDto, RecommendationListDto, RecommendationViewDto, UpdatePlannerSettingsDto } from './dto';
import { PlannerService } from './planner.service';

type Res = { setHeader(k: string, v: string): void };

const NO_SCHEDULER = { type: ErrorDto, description: 'No scheduler is answering; nothing was changed' };
const SCHEDULER_LATE = { type: ErrorDto, description: 'The scheduler did not answer in time' };

/**
 * The planner's recommendations. Registered before MigrationsController (planner.providers.ts, app.module.ts) so
 * that GET /v1/migrations/recommendations is not taken for GET /v1/migrations/:id.
 */
@ApiTags('migrations')
@Controller('v1/migrations/recommendations')
export class RecommendationsController {
  constructor(private readonly planner: PlannerService) {}

  @Get()
  @ApiOperation({ summary: 'Migrations the planner proposes (balance, hot spots, consolidation, maintenance drains), optionally in one state (?state=)' })
  @ApiOkResponse({ type: RecommendationListDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  list(@Query() q: ListRecommendationsQuery) {
    return this.planner.recommendations(q);
  }

  @Post(':id/apply')
  @HttpCode(202)
  @ApiOperation({ summary: 'Start the recommended migration', description: 'Accepted: the recommendation is applied and its migration requested; follow the migration at Location.' })
  @ApiAcceptedResponse({ type: RecommendationViewDto, description: 'The recommendation, state applied, with migrationId' })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Not open any more (applied, dismissed, expired) or no longer possible' })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  async apply(@Param('id', uuidParam()) id: string, @Res({ passthrough: true }) res: Res) {
    const view = await this.planner.apply(id);
    if (view.migrationId) res.setHeader('Location', `/v1/migrations/${view.migrationId}`);
    return view;
  }

  @Post(':id/dismiss')
  @HttpCode(200)
  @ApiOperation({ summary: 'Dismiss a recommendation (nothing is moved)' })
  @ApiOkResponse({ type: RecommendationViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Not open any more' })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  dismiss(@Param('id', uuidParam()) id: string) {
    return this.planner.dismiss(id);
  }
}

/** The planner's settings (automation level, consolidation), kept by the scheduler. */
@ApiTags('scheduler')
@Controller('v1/scheduler/planner')
export class PlannerSettingsController {
  constructor(private readonly planner: PlannerService) {}

  @Get()
  @ApiOperation({ summary: "The planner's settings" })
  @ApiOkResponse({ type: PlannerSettingsViewDto })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  get() {
    return this.planner.settings();
  }

  @Patch()
  @ApiOperation({ summary: 'Change the automation level and/or consolidation', description: 'Fields left out keep their value; unknown fields are refused (400). Answers the new settings.' })
  @ApiOkResponse({ type: PlannerSettingsViewDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  update(@Body() dto: UpdatePlannerSettingsDto) {
    return this.planner.updateSettings(dto);
  }
}

/** Host maintenance: drain a host (its VMs are migrated away), then it takes no VM until it exits maintenance. */
@ApiTags('hosts')
@Controller('v1/hosts')
export class HostMaintenanceController {
  constructor(private readonly planner: PlannerService) {}

  @Post(':id/maintenance')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Put a host into maintenance',
    description:
      'Accepted: the scheduler plans a migration for every VM on the host (draining); once it is empty the host is `maintenance` ' +
      '(GET /v1/hosts/:id shows it, from host.state-changed). The answer is the drain: remaining VMs, planned migrations, VMs that cannot be placed yet.',
  })
  @ApiAcceptedResponse({ type: HostMaintenanceViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'The scheduler refused (e.g. the host is down)' })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  async enter(@Param('id', uuidParam()) id: string, @Res({ passthrough: true }) res: Res) {
    const view = await this.planner.maintenance(id, 'enter');
    res.setHeader('Location', `/v1/hosts/${id}`);
    return view;
  }

  @Post(':id/maintenance/exit')
  @HttpCode(200)
  @ApiOperation({ summary: 'Take a host out of maintenance (a drain in progress stops); it takes VMs again' })
  @ApiOkResponse({ type: HostMaintenanceViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'The scheduler refused' })
  @ApiServiceUnavailableResponse(NO_SCHEDULER)
  @ApiGatewayTimeoutResponse(SCHEDULER_LATE)
  exit(@Param('id', uuidParam()) id: string) {
    return this.planner.maintenance(id, 'exit');
  }
}
