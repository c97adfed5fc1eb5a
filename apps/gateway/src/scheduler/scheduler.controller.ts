import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiConflictResponse, ApiCreatedResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { QueueView, ReservationView, Rpc } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { toHttpError } from '../http/exceptions';
import { uuidParam } from '../http/params';
import { ErrorDto } from '../vms/dto';
import { CreateReservationDto, ListReservationsQuery, QueueQuery } from './dto';

const TIMEOUT_MS = 15_000;

async function ask<T>(bus: Bus, subject: (typeof Rpc)[keyof typeof Rpc], body: object): Promise<T> {
  try {
    return await bus.request<T>(subject, body, TIMEOUT_MS);
  } catch (err) {
    throw toHttpError(err);
  }
}

/** The scheduler's pending queue, answered by the scheduler over request/reply. */
@ApiTags('scheduler')
@Controller('v1/scheduler')
export class SchedulerQueueController {
  constructor(private readonly bus: Bus) {}

  @Get('queue')
  @ApiOperation({ summary: 'Requests waiting for capacity, in the order they are served (aged priority, then arrival)' })
  @ApiOkResponse({ description: '{ total, agingStepSeconds, items: [{ position, vmId, name, priority, effectivePriority, waitedSeconds, deadline, reason, ... }] }' })
  queue(@Query() q: QueueQuery): Promise<QueueView> {
    return ask(this.bus, Rpc.SchedulerQueue, { limit: q.limit ?? 100 });
  }
}

/** Advance reservations: capacity guaranteed for a future window. */
@ApiTags('reservations')
@Controller('v1/reservations')
export class ReservationsController {
  constructor(private readonly bus: Bus) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Reserve capacity for a window; accepted only when the scheduler can guarantee it' })
  @ApiCreatedResponse({ description: 'The reservation with the slots it holds per host' })
  @ApiConflictResponse({ type: ErrorDto, description: 'The cluster cannot guarantee it' })
  create(@Body() dto: CreateReservationDto): Promise<ReservationView> {
    return ask(this.bus, Rpc.ReservationCreate, dto);
  }

  @Get()
  list(@Query() q: ListReservationsQuery): Promise<ReservationView[]> {
    return ask(this.bus, Rpc.ReservationList, q.state ? { state: q.state } : {});
  }

  @Get(':id')
  @ApiNotFoundResponse({ type: ErrorDto })
  get(@Param('id', uuidParam()) id: string): Promise<ReservationView> {
    return ask(this.bus, Rpc.ReservationGet, { id });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Cancel: frees what is still held; VMs already placed become ordinary VMs' })
  @ApiNotFoundResponse({ type: ErrorDto })
  @ApiConflictResponse({ type: ErrorDto })
  cancel(@Param('id', uuidParam()) id: string): Promise<ReservationView> {
    return ask(this.bus, Rpc.ReservationCancel, { id });
  }

  @Post(':id/cancel')
  @HttpCode(200)
  cancelPost(@Param('id', uuidParam()) id: string): Promise<ReservationView> {
    return ask(this.bus, Rpc.ReservationCancel, { id });
  }
}
