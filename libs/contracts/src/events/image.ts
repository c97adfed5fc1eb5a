import { IsIn, IsInt, IsOptional, IsString, IsUUID, Matches, MaxLength, Min } from 'class-validator';
import { BusEvent } from './base';
import { NAME_PATTERN, NAME_RULE } from './vm';

export const ImageFormats = ['qcow2', 'raw'] as const;
export type ImageFormat = (typeof ImageFormats)[number];

export class ImageRegisteredEvent extends BusEvent {
  @IsUUID()
  imageId!: string;

  @Matches(NAME_PATTERN, { message: `name ${NAME_RULE}` })
  name!: string;

  @IsIn(ImageFormats as unknown as string[])
  format!: ImageFormat;

  @Matches(/^[a-f0-9]{64}$/)
  checksum!: string;

  @IsInt() @Min(0)
  sizeBytes!: number;

  @IsInt() @Min(0)
  virtualSizeBytes!: number;

  @IsString() @MaxLength(32)
  arch!: string;

  /** Direct kernel boot (like OpenStack's kernel_id / ramdisk_id): present when the image boots that way. */
  @IsOptional() @IsString()
  kernelChecksum?: string;

  @IsOptional() @IsString()
  initrdChecksum?: string;
}
