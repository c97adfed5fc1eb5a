import { Injectable } from '@nestjs/common';

/** Work on one VM (build, lifecycle action, reconciliation) runs one piece after another in this process. */
@Injectable()
export class VmLocks {
  private readonly chains = new Map<string, Promise<unknown>>();

  run<T>(vmId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(vmId) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.chains.set(vmId, next);
    return next.finally(() => {
      if (this.chains.get(vmId) === next) this.chains.delete(vmId);
    });
  }
}
