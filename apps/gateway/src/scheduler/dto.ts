import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { NAME_PATTERN, NAME_RULE, ReservationState, ReservationStates } from '@minicloud/contracts';

export class QueueQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;
}

export class ReservationFlavorDto {
  @ApiProperty({ minimum: 1, maximum: 64 }) @IsInt() @Min(1) @Max(64) vcpus: number;
  @ApiProperty({ minimum: 64, maximum: 1024 * 1024 }) @IsInt() @Min(64) @Max(1024 * 1024) memoryMiB: number;
  @ApiProperty({ minimum: 1, maximum: 16384 }) @IsInt() @Min(1) @Max(16384) diskGiB: number;
}

export class CreateReservationDto {
  @ApiProperty({ example: 'batch-night', pattern: NAME_PATTERN.source })
  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiProperty({ format: 'date-time', description: 'Window start (inclusive)' })
  @IsISO8601({ strict: true })
  start: string;

  @ApiProperty({ format: 'date-time', description: 'Window end (exclusive)' })
  @IsISO8601({ strict: true })
  end: string;

  @ApiProperty({ minimum: 1, maximum: 1000, description: 'How many VMs of `flavor` are guaranteed' })
  @IsInt() @Min(1) @Max(1000)
  count: number;

  @ApiProperty({ type: ReservationFlavorDto })
  @ValidateNested() @Type(() => ReservationFlavorDto)
  flavor: ReservationFlavorDto;

  @ApiPropertyOptional({ default: false, description: "Stop the reservation's VMs when the window ends (else they become ordinary VMs)" })
  @IsOptional() @IsBoolean()
  stopVmsAtEnd?: boolean;
}

export class ListReservationsQuery {
  @ApiPropertyOptional({ enum: ReservationStates })
  @IsOptional() @IsIn(ReservationStates as unknown as string[], { message: `state must be one of: ${ReservationStates.join(', ')}` })
  state?: ReservationState;
}
