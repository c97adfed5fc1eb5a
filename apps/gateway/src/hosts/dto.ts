import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { HostRegisterRequest, HostStates } from '@minicloud/contracts';
import { HostLatestMetricsDto } from '../metrics/dto';

/** The validation rules are the contract's (HostRegisterRequest); this class only adds the OpenAPI description. */
export class RegisterHostDto extends HostRegisterRequest {
  @ApiProperty({ example: '10.254.7.11', description: 'Host name or IP address the provisioner reaches over SSH' })
  declare address: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 65535, default: 22 })
  declare sshPort?: number;

  @ApiPropertyOptional({ example: 'root' })
  declare sshUser?: string;

  @ApiPropertyOptional({ example: 'hv1', description: 'Defaults to what the provisioner picks (the host name)' })
  declare name?: string;
}

export class HostFactsDto {
  @ApiProperty() cpus: number;
  @ApiProperty() cpuModel: string;
  @ApiProperty() memoryMiB: number;
  @ApiProperty() diskGiB: number;
  @ApiProperty() arch: string;
  @ApiProperty() hypervisorVersion: string;
  @ApiProperty() libvirtVersion: string;
  @ApiPropertyOptional({ description: 'The host mounts the shared datastore (VMs with storage "shared" may run here); absent: no' })
  sharedStorage?: boolean;
}

export class HostViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() address: string;
  @ApiProperty() sshPort: number;
  @ApiProperty() sshUser: string;
  @ApiProperty({ enum: HostStates }) state: string;
  @ApiProperty() stateReason: string;
  @ApiProperty({ type: HostFactsDto }) facts: HostFactsDto;
  @ApiProperty({ format: 'date-time' }) registeredAt: string;
}

export class HostListItemDto extends HostViewDto {
  @ApiProperty({ type: HostLatestMetricsDto, nullable: true, description: 'Latest metrics round (null when none is known)' }) metrics: HostLatestMetricsDto | null;
}

export class HostListDto {
  @ApiProperty({ type: [HostListItemDto] }) items: HostListItemDto[];
  @ApiProperty() total: number;
}
