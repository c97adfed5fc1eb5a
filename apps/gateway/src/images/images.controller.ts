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
import { ImageListDto, ImageViewDto, RegisterImageDto } from './dto';
import { ImagesService } from './images.service';

@ApiTags('images')
@Controller('v1/images')
export class ImagesController {
  constructor(private readonly images: ImagesService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a VM image (a qcow2/raw file on the controller)' })
  @ApiCreatedResponse({ type: ImageViewDto })
  @ApiBadRequestResponse({ type: ErrorDto })
  @ApiUnprocessableEntityResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto })
  @ApiServiceUnavailableResponse({ type: ErrorDto, description: 'No provisioner is answering' })
  register(@Body() dto: RegisterImageDto) {
    return this.images.register(dto);
  }

  @Get()
  @ApiOkResponse({ type: ImageListDto })
  list(@Query() q: ListQuery) {
    return this.images.list(q.limit, q.offset);
  }

  @Get(':id')
  @ApiOkResponse({ type: ImageViewDto })
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string) {
    return this.images.get(id);
  }
}
