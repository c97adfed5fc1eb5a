import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { OperationStatuses } from '@minicloud/contracts';
import { VmViewDto } from '../vms/dto';

/** Actions a client may POST to /v1/vms/:id/actions (delete is DELETE /v1/vms/:id). */
export const RequestableActions = ['start', 'stop', 'force-stop', 'reboot', 'suspend', 'resume'] as const;
export type RequestableAction = (typeof RequestableActions)[number];

export class VmActionDto {
  @ApiProperty({ enum: RequestableActions, example: 'stop' })
  @IsIn(RequestableActions as unknown as string[], { message: `action must be one of: ${RequestableActions.join(', ')}` })
  action: RequestableAction;

  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 60, description: 'stop: seconds to wait for the guest before forcing it off' })
  @IsOptional() @IsInt() @Min(1) @Max(3600)
  stopTimeoutSec?: number;
}

export class ListOperationsQuery {
  @ApiPropertyOptional({ format: 'uuid', description: "Only this VM's operations" })
  @IsOptional() @IsUUID('all', { message: 'vm must be a UUID' })
  vm?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500)
  limit?: number;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  offset?: number;
}

export class OperationViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ format: 'uuid' }) vmId: string;
  @ApiProperty({ enum: ['create', 'start', 'stop', 'force-stop', 'reboot', 'suspend', 'resume', 'delete'] }) action: string;
  @ApiProperty({ enum: OperationStatuses }) status: string;
  @ApiProperty({ nullable: true, type: String, description: 'Why it failed' }) error: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) finishedAt: string | null;
}

export class OperationAcceptedDto {
  @ApiProperty({ type: OperationViewDto }) operation: OperationViewDto;
}

export class OperationListDto {
  @ApiProperty({ type: [OperationViewDto] }) items: OperationViewDto[];
  @ApiProperty() total: number;
}

/** POST /v1/vms: the VM and its creation operation. */
export class VmAcceptedDto extends VmViewDto {
  @ApiProperty({ type: OperationViewDto, description: 'The creation: succeeded when the VM runs, failed (with error) when it fails' }) operation: OperationViewDto;
}
