import { Injectable, NotFoundException } from '@nestjs/common';
import { ImageView, Rpc } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { toHttpError } from '../http/exceptions';
import { GatewayRepository, Page } from '../read-model/gateway.repository';
import { GatewayImageView, toImageView } from '../views';
import { RegisterImageDto } from './dto';

/** Registration checksums (and inspects) the image file on the controller: allow for large files. */
export const IMAGE_REGISTER_TIMEOUT_MS = 120_000;

@Injectable()
export class ImagesService {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
  ) {}

  async register(dto: RegisterImageDto): Promise<ImageView> {
    const body: Record<string, unknown> = { name: dto.name, path: dto.path };
    for (const k of ['kernelPath', 'initrdPath', 'cmdline'] as const) if (dto[k] !== undefined) body[k] = dto[k];
    let image: ImageView;
    try {
      image = await this.bus.request<ImageView>(Rpc.ImageRegister, body, IMAGE_REGISTER_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err);
    }
    await this.repo.upsertImage(null, image);
    return image;
  }

  async list(limit = 100, offset = 0): Promise<Page<GatewayImageView>> {
    const page = await this.repo.listImages(limit, offset);
    return { items: page.items.map(toImageView), total: page.total };
  }

  async get(id: string): Promise<GatewayImageView> {
    const row = await this.repo.findImage(id);
    if (!row) throw new NotFoundException(`image ${id} not found`);
    return toImageView(row);
  }
}
