import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { uuidParam } from '../http/params';
import { ErrorDto } from '../vms/dto';
import { ListOperationsQuery, OperationListDto, OperationViewDto } from './dto';
import { OperationsService } from './operations.service';

@ApiTags('operations')
@Controller('v1/operations')
export class OperationsController {
  constructor(private readonly ops: OperationsService) {}

  @Get()
  @ApiOperation({ summary: 'List operations (newest first), optionally of one VM (?vm=<id>)' })
  @ApiOkResponse({ type: OperationListDto })
  list(@Query() q: ListOperationsQuery) {
    return this.ops.list(q.vm, q.limit ?? 50, q.offset ?? 0);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One operation: pending → running → succeeded | failed (with error)' })
  @ApiOkResponse({ type: OperationViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string) {
    return this.ops.get(id);
  }
}
