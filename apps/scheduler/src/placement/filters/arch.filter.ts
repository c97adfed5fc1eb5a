import { HostView, PlacementRequest } from '../types';
import { HostFilter } from './host-filter';

/** Image/arch compatibility: when the image names its architecture, only hosts of that architecture remain. */
export class ArchFilter implements HostFilter {
  readonly name = 'arch';

  appliesTo(req: PlacementRequest): boolean {
    return !!req.arch;
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    return !req.arch || host.arch === req.arch;
  }

  describeRemoved(removed: HostView[], req: PlacementRequest): string {
    const byArch = new Map<string, number>();
    for (const h of removed) byArch.set(h.arch, (byArch.get(h.arch) ?? 0) + 1);
    const parts = [...byArch.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([a, n]) => `${n} ${a}`);
    return `${removed.length} had another architecture than the image's ${req.arch} (${parts.join(', ')})`;
  }
}
