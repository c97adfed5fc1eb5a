import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiConflictResponse, ApiCreatedResponse, ApiNoContentResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { NAME_PATTERN } from '@minicloud/contracts';
import { fieldError } from '../http/exceptions';
import { ErrorDto, ListQuery } from '../vms/dto';
import { CreateFlavorDto, FlavorListDto, FlavorViewDto } from './dto';
import { FlavorsService } from './flavors.service';

function flavorName(name: string): string {
  if (!NAME_PATTERN.test(name)) throw fieldError('name', 'name must be a flavor name');
  return name;
}

@ApiTags('flavors')
@Controller('v1/flavors')
export class FlavorsController {
  constructor(private readonly flavors: FlavorsService) {}

  @Post()
  @ApiOperation({ summary: 'Define a flavor (a named VM size)' })
  @ApiCreatedResponse({ type: FlavorViewDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto, description: 'A flavor of that name exists' })
  create(@Body() dto: CreateFlavorDto) {
    return this.flavors.create(dto);
  }

  @Get()
  @ApiOkResponse({ type: FlavorListDto })
  list(@Query() q: ListQuery) {
    return this.flavors.list(q.limit ?? 100, q.offset ?? 0);
  }

  @Get(':name')
  @ApiOkResponse({ type: FlavorViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('name') name: string) {
    return this.flavors.get(flavorName(name));
  }

  @Delete(':name')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted (VMs created with it keep their size)' })
  @ApiNotFoundResponse({ type: ErrorDto })
  async remove(@Param('name') name: string): Promise<void> {
    await this.flavors.remove(flavorName(name));
  }
}
