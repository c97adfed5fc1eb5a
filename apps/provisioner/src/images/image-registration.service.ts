import { randomUUID } from 'crypto';
import { Injectable } from '@nestjs/common';
import { ImageRegisterRequest, ImageView, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { JsonLogger } from '@minicloud/telemetry';
import { ImageEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { DEFAULT_KERNEL_CMDLINE } from '../provisioner.constants';
import { toImageView } from '../views';
import { inspectImage } from './image-inspector';

const log = new JsonLogger('provisioner');

/**
 * Registers an image file that lives on the controller. Format and virtual size come from qemu-img, the
 * checksum (the hosts' cache key) is the file's sha256. Kernel/initrd: given explicitly, or found beside the
 * image as <stem>.vmlinuz / <stem>.initrd; a direct-kernel-boot image without a cmdline gets
 * "console=ttyS0 root=/dev/vda rw".
 *
 * A name is registered once: registering the same name with the same files again returns the existing image
 * (and republishes image.registered); the same name with different files is a 409.
 */
@Injectable()
export class ImageRegistrationService {
  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
  ) {}

  async register(req: ImageRegisterRequest): Promise<ImageView> {
    const found = await inspectImage(req);
    const cmdline = req.cmdline ?? (found.kernel ? DEFAULT_KERNEL_CMDLINE : undefined);
    const existing = await this.repo.findImageByName(req.name);
    let image: ImageEntity;
    if (existing) {
      const same =
        existing.checksum === found.disk.checksum &&
        (existing.kernelChecksum ?? undefined) === found.kernel?.checksum &&
        (existing.initrdChecksum ?? undefined) === found.initrd?.checksum &&
        (existing.cmdline ?? undefined) === cmdline;
      if (!same) {
        throw new RpcError(409, `image name ${req.name} is already registered with different files or cmdline (checksum ${existing.checksum}); choose another name`);
      }
      image = existing;
    } else {
      image = await this.repo.saveImage(
        Object.assign(new ImageEntity(), {
          id: randomUUID(),
          name: req.name,
          path: found.disk.path,
          format: found.disk.format,
          checksum: found.disk.checksum,
          sizeBytes: found.disk.sizeBytes,
          virtualSizeBytes: found.disk.virtualSizeBytes,
          arch: found.arch,
          kernelPath: found.kernel?.path ?? null,
          kernelChecksum: found.kernel?.checksum ?? null,
          initrdPath: found.initrd?.path ?? null,
          initrdChecksum: found.initrd?.checksum ?? null,
          cmdline: cmdline ?? null,
        }),
      );
    }
    await this.bus.publish(Subjects.ImageRegistered, {
      imageId: image.id,
      name: image.name,
      format: image.format,
      checksum: image.checksum,
      sizeBytes: image.sizeBytes,
      virtualSizeBytes: image.virtualSizeBytes,
      arch: image.arch,
      ...(image.kernelChecksum ? { kernelChecksum: image.kernelChecksum } : {}),
      ...(image.initrdChecksum ? { initrdChecksum: image.initrdChecksum } : {}),
    });
    log.log({ msg: existing ? 'image registered again (unchanged)' : 'image registered', imageId: image.id, name: image.name, checksum: image.checksum }, 'ImageRegistration');
    return toImageView(image);
  }
}
