import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { SshPool, SshTarget } from '@minicloud/ssh';
import { HypervisorDriver, LibvirtDriver } from '@minicloud/hypervisor';

export interface HostConnection {
  address: string;
  sshPort: number;
  sshUser: string;
  /** Pinned key; absent only while registering (known_hosts decides then). */
  hostKey?: string;
}

export const DRIVER_FACTORY = Symbol('DRIVER_FACTORY');
/** host → its hypervisor driver (one SSH connection per host, shared by all drivers of that host). */
export type DriverFactory = (host: HostConnection) => HypervisorDriver;

export function sshTarget(h: HostConnection): SshTarget {
  return { address: h.address, port: h.sshPort, user: h.sshUser, hostKey: h.hostKey };
}

@Injectable()
export class SshPoolCloser implements OnApplicationShutdown {
  constructor(@Inject(SshPool) private readonly pool: SshPool) {}
  async onApplicationShutdown() {
    await this.pool.close();
  }
}

export const hypervisorProviders: Provider[] = [
  { provide: SshPool, useFactory: () => new SshPool() },
  SshPoolCloser,
  {
    provide: DRIVER_FACTORY,
    inject: [SshPool],
    useFactory: (pool: SshPool): DriverFactory => (host) => new LibvirtDriver(pool.bind(sshTarget(host))),
  },
];
