import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { NAME_PATTERN, NAME_RULE } from '@minicloud/contracts';

export class CreateFlavorDto {
  @ApiProperty({ example: 'm1.xlarge', pattern: NAME_PATTERN.source })
  @IsString() @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name: string;

  @ApiProperty({ minimum: 1, maximum: 64, example: 8 })
  @IsInt() @Min(1) @Max(64)
  vcpus: number;

  @ApiProperty({ minimum: 64, maximum: 1024 * 1024, example: 16384 })
  @IsInt() @Min(64) @Max(1024 * 1024)
  memoryMiB: number;

  @ApiProperty({ minimum: 1, maximum: 16384, example: 40 })
  @IsInt() @Min(1) @Max(16384)
  diskGiB: number;
}

export class FlavorViewDto {
  @ApiProperty() name: string;
  @ApiProperty() vcpus: number;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

export class FlavorListDto {
  @ApiProperty({ type: [FlavorViewDto] }) items: FlavorViewDto[];
  @ApiProperty() total: number;
}
