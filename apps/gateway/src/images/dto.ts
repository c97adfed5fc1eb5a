import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ImageFormats, ImageRegisterRequest } from '@minicloud/contracts';

/** The validation rules are the contract's (ImageRegisterRequest); this class only adds the OpenAPI description. */
export class RegisterImageDto extends ImageRegisterRequest {
  @ApiProperty({ example: 'minicloud-lab' })
  declare name: string;

  @ApiProperty({ example: '/var/lib/minicloud-images/lab.qcow2', description: 'Absolute path of the image file on the controller' })
  declare path: string;

  @ApiPropertyOptional({ description: 'Direct kernel boot: kernel file on the controller' })
  declare kernelPath?: string;

  @ApiPropertyOptional()
  declare initrdPath?: string;

  @ApiPropertyOptional({ example: 'console=ttyS0 root=/dev/vda' })
  declare cmdline?: string;
}

export class ImageViewDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty({ nullable: true, type: String }) path: string | null;
  @ApiProperty({ enum: ImageFormats }) format: string;
  @ApiProperty() checksum: string;
  @ApiProperty() sizeBytes: number;
  @ApiProperty() virtualSizeBytes: number;
  @ApiProperty() arch: string;
  @ApiPropertyOptional() kernelPath?: string;
  @ApiPropertyOptional() initrdPath?: string;
  @ApiPropertyOptional() cmdline?: string;
  @ApiProperty({ format: 'date-time' }) registeredAt: string;
}

export class ImageListDto {
  @ApiProperty({ type: [ImageViewDto] }) items: ImageViewDto[];
  @ApiProperty() total: number;
}
