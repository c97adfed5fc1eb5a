import { Body, Controller, Delete, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { ErrorDto } from '../vms/dto';
import { DisableHostDto, HostDetailDto, HostHasVmsDto, ImportHostsDto, ImportResultDto } from './host-admin.dto';
import { HostAdminService } from './host-admin.service';


@ApiTags('hosts')
@Controller('v1/hosts')
export class HostAdminController {
  constructor(private readonly admin: HostAdminService) {}

  @Post('import')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Register many hosts (at most 500)',
    description: 'Each entry is registered like POST /v1/hosts, a few at a time. 200 with what was registered and what failed (with the status a single registration would have answered): one bad entry does not stop the rest.',
  })
  @ApiOkResponse({ type: ImportResultDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  import(@Body() dto: ImportHostsDto) {
    return this.admin.import(dto.hosts);
  }

  @Post(':id/disable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Disable a host: the scheduler places no new VM on it; its VMs keep running' })
  @ApiOkResponse({ type: HostDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'No provisioner is answering' })
  disable(@Param('id', uuidParam()) id: string, @Body() dto: DisableHostDto) {
    return this.admin.setAdminState(id, 'disabled', dto?.reason);
  }

  @Post(':id/enable')
  @HttpCode(200)
  @ApiOperation({ summary: 'Enable a disabled host again' })
  @ApiOkResponse({ type: HostDetailDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  enable(@Param('id', uuidParam()) id: string) {
    return this.admin.setAdminState(id, 'enabled');
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a host that runs no VM' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: HostHasVmsDto, description: 'The host still has VMs (listed in `vms`)' })
  async remove(@Param('id', uuidParam()) id: string): Promise<void> {
    await this.admin.remove(id);
  }
}
