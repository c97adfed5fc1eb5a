import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { FlavorRow } from '../db/lifecycle.entities';
import { CreateFlavorDto } from './dto';
import { FlavorsRepository } from './flavors.repository';

export interface FlavorView {
  name: string;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  createdAt: string;
}

export function toFlavorView(r: FlavorRow): FlavorView {
  return { name: r.name, vcpus: r.vcpus, memoryMiB: r.memoryMiB, diskGiB: r.diskGiB, createdAt: new Date(r.createdAt).toISOString() };
}

/** Named VM sizes. A VM keeps its own size, so deleting a flavor changes no VM. */
@Injectable()
export class FlavorsService {
  constructor(private readonly repo: FlavorsRepository) {}

  async create(dto: CreateFlavorDto): Promise<FlavorView> {
    const row: FlavorRow = { name: dto.name, vcpus: dto.vcpus, memoryMiB: dto.memoryMiB, diskGiB: dto.diskGiB, createdAt: new Date() };
    if (!(await this.repo.insert(row))) throw new ConflictException(`flavor "${dto.name}" already exists`);
    return toFlavorView(row);
  }

  async list(limit = 100, offset = 0): Promise<{ items: FlavorView[]; total: number }> {
    const page = await this.repo.list(limit, offset);
    return { items: page.items.map(toFlavorView), total: page.total };
  }

  async get(name: string): Promise<FlavorView> {
    const row = await this.repo.find(name);
    if (!row) throw new NotFoundException(`flavor "${name}" not found`);
    return toFlavorView(row);
  }

  /** The flavor, or null when there is none of that name (for VM creation). */
  find(name: string): Promise<FlavorRow | null> {
    return this.repo.find(name);
  }

  async remove(name: string): Promise<void> {
    if (!(await this.repo.remove(name))) throw new NotFoundException(`flavor "${name}" not found`);
  }
}
