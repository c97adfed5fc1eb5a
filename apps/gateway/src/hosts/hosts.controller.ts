import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { ErrorDto, ListQuery } from '../vms/dto';
import { HostListDto, HostViewDto, RegisterHostDto } from './dto';
import { HostsService } from './hosts.service';
import { HostDetailDto } from './host-admin.dto';

@ApiTags('hosts')
@Controller('v1/hosts')
export class HostsController {
  constructor(private readonly hosts: HostsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a hypervisor host', description: 'The provisioner connects over SSH (pinned host key), checks libvirt/QEMU and records its facts. Can take some seconds.' })
  @ApiCreatedResponse({ type: HostViewDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiUnprocessableEntityResponse({ type: ErrorDto, description: 'Unreachable, host key mismatch, or not a libvirt host' })
  @ApiConflictResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'No provisioner is answering' })
  register(@Body() dto: RegisterHostDto) {
    return this.hosts.register(dto);
  }

  @Get()
  @ApiOkResponse({ type: HostListDto })
  list(@Query() q: ListQuery) {
    return this.hosts.list(q.limit, q.offset);
  }

  @Get(':id')
  @ApiOkResponse({ type: HostDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string) {
    return this.hosts.get(id);
  }
}
