import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { ErrorDto } from '../vms/dto';
import { ListMigrationsQuery, MigrateVmDto, MigrationListDto, MigrationViewDto } from './dto';
import { MigrationsService } from './migrations.service';

type Res = { setHeader(k: string, v: string): void };

@ApiTags('migrations')
@Controller('v1/vms')
export class VmMigrateController {
  constructor(private readonly migrations: MigrationsService) {}

  @Post(':id/migrate')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Move a VM to another host (live or cold)',
    description:
      'Accepted: the scheduler reserves capacity on the target (or chooses one), then the migrator moves the VM; follow the migration at Location. ' +
      '409 when the VM is not running (live) / stopped (cold), has no host, already runs on the target, the target is not up, or another migration of the VM is unfinished.',
  })
  @ApiAcceptedResponse({ type: MigrationViewDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Invalid body (field-level reasons) or unknown targetHost' })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: '{ statusCode, error, message, state? | hostState? | migrationId? }' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'The request could not be queued; nothing was created' })
  async migrate(@Param('id', uuidParam()) id: string, @Body() dto: MigrateVmDto, @Res({ passthrough: true }) res: Res) {
    const view = await this.migrations.request(id, dto);
    res.setHeader('Location', `/v1/migrations/${view.id}`);
    return view;
  }
}

@ApiTags('migrations')
@Controller('v1/migrations')
export class MigrationsController {
  constructor(private readonly migrations: MigrationsService) {}

  @Get()
  @ApiOperation({ summary: 'List migrations (newest first), optionally of one VM (?vm=) and/or in one state (?state=)' })
  @ApiOkResponse({ type: MigrationListDto })
  list(@Query() q: ListMigrationsQuery) {
    return this.migrations.list(q);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One migration: requested → planned → running (progress) → completed (result) | failed | cancelled' })
  @ApiOkResponse({ type: MigrationViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string) {
    return this.migrations.get(id);
  }

  @Post(':id/cancel')
  @HttpCode(202)
  @ApiOperation({ summary: 'Cancel a migration', description: 'Accepted: the migrator aborts it; the VM stays on (or returns to) its source host and the migration ends cancelled.' })
  @ApiAcceptedResponse({ type: MigrationViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Already completed, failed or cancelled (body has `state`)' })
  cancel(@Param('id', uuidParam()) id: string) {
    return this.migrations.control(id, 'cancel');
  }

  @Post(':id/force-complete')
  @HttpCode(202)
  @ApiOperation({ summary: 'Force a live migration to switch over now', description: 'Accepted: the migrator pauses the guest and copies what is left (stop-and-copy), accepting a longer downtime.' })
  @ApiAcceptedResponse({ type: MigrationViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Already completed, failed or cancelled (body has `state`)' })
  forceComplete(@Param('id', uuidParam()) id: string) {
    return this.migrations.control(id, 'force-complete');
  }
}
