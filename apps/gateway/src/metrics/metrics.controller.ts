import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { GatewayRepository } from '../read-model/gateway.repository';
import { ErrorDto } from '../vms/dto';
import { MetricsQuery, MetricsSeriesDto } from './dto';
import { MetricsClient } from './metrics.client';

/** Metrics history of hosts and VMs, answered by the metrics-collector over request/reply. */
@ApiTags('metrics')
@Controller('v1')
export class MetricsController {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly metrics: MetricsClient,
  ) {}

  @Get('hosts/:id/metrics')
  @ApiOperation({ summary: "A host's metrics history", description: 'Raw rounds for steps under a minute (kept 24 h by default), 1-minute rollups otherwise (kept 30 days).' })
  @ApiOkResponse({ type: MetricsSeriesDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'No metrics-collector is answering' })
  async host(@Param('id', uuidParam()) id: string, @Query() q: MetricsQuery) {
    if (!(await this.repo.findHost(id))) throw new NotFoundException(`host ${id} not found`);
    return this.metrics.series('host', id, q);
  }

  @Get('vms/:id/metrics')
  @ApiOperation({ summary: "A VM's metrics history" })
  @ApiOkResponse({ type: MetricsSeriesDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'No metrics-collector is answering' })
  async vm(@Param('id', uuidParam()) id: string, @Query() q: MetricsQuery) {
    if (!(await this.repo.findVm(id))) throw new NotFoundException(`vm ${id} not found`);
    return this.metrics.series('vm', id, q);
  }
}
