import type { HostView, ImageView } from '@minicloud/contracts';
import type { HostEntity, ImageEntity } from './persistence/entities';

export function toHostView(h: HostEntity): HostView {
  return {
    id: h.id,
    name: h.name,
    address: h.address,
    sshPort: h.sshPort,
    sshUser: h.sshUser,
    state: h.state,
    stateReason: h.stateReason,
    facts: h.facts,
    registeredAt: new Date(h.createdAt).toISOString(),
  };
}

export function toImageView(i: ImageEntity): ImageView {
  return {
    id: i.id,
    name: i.name,
    path: i.path,
    format: i.format,
    checksum: i.checksum,
    sizeBytes: i.sizeBytes,
    virtualSizeBytes: i.virtualSizeBytes,
    arch: i.arch,
    ...(i.kernelPath ? { kernelPath: i.kernelPath } : {}),
    ...(i.initrdPath ? { initrdPath: i.initrdPath } : {}),
    ...(i.cmdline ? { cmdline: i.cmdline } : {}),
    registeredAt: new Date(i.createdAt).toISOString(),
  };
}
