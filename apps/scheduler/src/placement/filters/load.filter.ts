import { HostView } from '../types';
import { HostFilter } from './host-filter';

export interface LoadCaps {
  /** A host whose measured CPU use is above this takes no new VM (default 80). */
  maxCpuPercent: number;
  /** Likewise for memory use (default 85). */
  maxMemoryPercent: number;
}

export const DEFAULT_LOAD_CAPS: LoadCaps = { maxCpuPercent: 80, maxMemoryPercent: 85 };

/** Load caps on the latest host.metrics; a value the collector could not read does not remove the host. */
export class LoadFilter implements HostFilter {
  readonly name = 'load';

  constructor(private readonly caps: LoadCaps = DEFAULT_LOAD_CAPS) {}

  private cpuOver(h: HostView): boolean {
    return h.cpuPercent != null && h.cpuPercent > this.caps.maxCpuPercent;
  }

  private memOver(h: HostView): boolean {
    return h.memoryPercent != null && h.memoryPercent > this.caps.maxMemoryPercent;
  }

  passes(host: HostView): boolean {
    return !this.cpuOver(host) && !this.memOver(host);
  }

  describeRemoved(removed: HostView[]): string {
    const cpu = removed.filter((h) => this.cpuOver(h)).length;
    const mem = removed.filter((h) => this.memOver(h)).length;
    const parts: string[] = [];
    if (cpu) parts.push(`${cpu} CPU > ${this.caps.maxCpuPercent} %`);
    if (mem) parts.push(`${mem} memory > ${this.caps.maxMemoryPercent} %`);
    return `${removed.length} ${removed.length === 1 ? 'was' : 'were'} too loaded (${parts.join(', ')})`;
  }
}
