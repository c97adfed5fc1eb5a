import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsObject, IsOptional, IsString, MaxLength } from 'class-validator';
import { HostViewDto } from './dto';

export const MAX_IMPORT_HOSTS = 500;

export class ImportHostEntryDto {
  @ApiProperty({ example: '10.254.7.12' }) address: string;
  @ApiPropertyOptional({ example: 22 }) sshPort?: number;
  @ApiPropertyOptional({ example: 'root' }) sshUser?: string;
  @ApiPropertyOptional({ example: 'hv2' }) name?: string;
}

/**
 * Entries are checked one by one (HostRegisterRequest) by the service, so one bad line is reported in `failed`
 * and the others are still registered.
 */
export class ImportHostsDto {
  @ApiProperty({ type: [ImportHostEntryDto], maxItems: MAX_IMPORT_HOSTS })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_IMPORT_HOSTS, { message: `hosts must have at most ${MAX_IMPORT_HOSTS} entries` })
  @IsObject({ each: true, message: 'each hosts entry must be an object' })
  hosts: Record<string, unknown>[];
}

export class ImportFailureDto {
  @ApiProperty() address: string;
  @ApiProperty() error: string;
  @ApiProperty({ description: 'HTTP status the single registration would have answered' }) status: number;
}

export class ImportResultDto {
  @ApiProperty({ type: [HostViewDto] }) registered: HostViewDto[];
  @ApiProperty({ type: [ImportFailureDto] }) failed: ImportFailureDto[];
}

export class DisableHostDto {
  @ApiPropertyOptional({ example: 'disk replacement', maxLength: 500 })
  @IsOptional() @IsString() @MaxLength(500)
  reason?: string;
}

export class HostVmRefDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() status: string;
}

export class HostHasVmsDto {
  @ApiProperty() statusCode: number;
  @ApiProperty() error: string;
  @ApiProperty() message: string;
  @ApiProperty({ type: [HostVmRefDto] }) vms: HostVmRefDto[];
}

export class ResourcesDto {
  @ApiProperty() vcpus: number;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
}

/** GET /v1/hosts/{id} (and each GET /v1/hosts item): the host with its capacity from the read model. */
export class HostDetailDto extends HostViewDto {
  @ApiProperty({ type: ResourcesDto, description: "From the host's facts" }) capacity: ResourcesDto;
  @ApiProperty({ type: ResourcesDto, description: 'Sum of the VMs on the host that are neither deleted nor failed' }) allocated: ResourcesDto;
  @ApiProperty({ type: ResourcesDto, description: 'capacity - allocated (never below 0)' }) free: ResourcesDto;
  @ApiProperty({ description: 'VMs counted in allocated' }) vmCount: number;
}
