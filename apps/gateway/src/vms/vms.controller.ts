import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiConflictResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { OperationAcceptedDto, VmAcceptedDto, VmActionDto } from '../operations/dto';
import { OperationsService } from '../operations/operations.service';
import { uuidParam } from '../http/params';
import { ConsoleDto, ConsoleQuery, CreateVmDto, ErrorDto, ListVmsQuery, VmListDto, VmViewDto } from './dto';
import { VmsService } from './vms.service';

@ApiTags('vms')
@Controller('v1/vms')
export class VmsController {
  constructor(
    private readonly vms: VmsService,
    private readonly ops: OperationsService,
  ) {}

  @Post(':id/actions')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Start, stop, force-stop, reboot, suspend or resume a VM',
    description: 'Accepted: the provisioner runs the action; follow the operation at Location. 409 (with the VM\'s `state`) when the state machine does not allow the action now.',
  })
  @ApiAcceptedResponse({ type: OperationAcceptedDto })
  @ApiConflictResponse({ type: ErrorDto, description: '{ statusCode, error, message: "cannot resume a VM that is running", state }' })
  @ApiNotFoundResponse({ type: ErrorDto })
  async action(@Param('id', uuidParam()) id: string, @Body() dto: VmActionDto, @Res({ passthrough: true }) res: { setHeader(k: string, v: string): void }) {
    const operation = await this.ops.request(id, dto.action, dto.stopTimeoutSec);
    res.setHeader('Location', `/v1/operations/${operation.id}`);
    return { operation };
  }

  @Delete(':id')
  @HttpCode(202)
  @ApiOperation({ summary: 'Delete a VM', description: 'Accepted: the VM goes deleting → deleted; follow the operation at Location.' })
  @ApiAcceptedResponse({ type: OperationAcceptedDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'Already deleted or deleting (body has `state`)' })
  @ApiNotFoundResponse({ type: ErrorDto })
  async remove(@Param('id', uuidParam()) id: string, @Res({ passthrough: true }) res: { setHeader(k: string, v: string): void }) {
    const operation = await this.ops.request(id, 'delete');
    res.setHeader('Location', `/v1/operations/${operation.id}`);
    return { operation };
  }

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Request a VM', description: 'Accepted: the VM is scheduled and provisioned asynchronously; follow its status at Location.' })
  @ApiAcceptedResponse({ type: VmAcceptedDto })
  @ApiBadRequestResponse({ type: ErrorDto, description: 'Invalid body (field-level reasons), unknown image, host or flavor' })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'The request could not be queued; nothing was created' })
  async create(@Body() dto: CreateVmDto, @Res({ passthrough: true }) res: { setHeader(k: string, v: string): void }) {
    const vm = await this.vms.create(dto);
    res.setHeader('Location', `/v1/vms/${vm.id}`);
    return vm;
  }

  @Get()
  @ApiOperation({ summary: 'List VMs (newest first; deleted ones only with status=deleted)' })
  @ApiOkResponse({ type: VmListDto })
  list(@Query() q: ListVmsQuery) {
    return this.vms.list(q);
  }

  @Get(':id')
  @ApiOkResponse({ type: VmViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string) {
    return this.vms.get(id);
  }

  @Get(':id/console')
  @ApiOperation({ summary: "The last lines of the VM's serial console" })
  @ApiOkResponse({ type: ConsoleDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  console(@Param('id', uuidParam()) id: string, @Query() q: ConsoleQuery) {
    return this.vms.console(id, q.lines);
  }
}
