import { Platform, sleep } from './platform';
import { LabHost, onHost, virsh } from './lab';

/** The lab guest's console counter lines (`minicloud-counter N`, one per second). */
export const counters = (text: string) => [...text.matchAll(/minicloud-counter (\d+)/g)].map((m) => Number(m[1]));

export const finished = (m: { state: string }) => ['completed', 'failed', 'cancelled'].includes(m.state);

/**
 * What end-to-end tests do with the lab's guests through the platform: boot one on a host, read its console, type on
 * it, ask libvirt directly what a host has, follow a migration through the API. `hosts` are the platform's host views.
 */
export class Guests {
  constructor(
    private readonly p: Platform,
    private readonly hosts: { id: string; address: string }[],
    private readonly created: string[],
  ) {}

  labHost(hostId: string): LabHost {
    const h = this.hosts.find((x) => x.id === hostId);
    if (!h) throw new Error(`unknown host ${hostId}`);
    return this.p.lab.hosts.find((l) => l.address === h.address)!;
  }

  other(hostId: string) {
    return this.hosts.find((h) => h.id !== hostId)!;
  }

  consoleLog(host: LabHost, vmId: string): Promise<string> {
    return onHost(this.p.lab, host, ['cat', `/var/lib/minicloud/vms/${vmId}/console.log`]).catch(() => '');
  }

  domState(host: LabHost, vmId: string): Promise<string> {
    return virsh(this.p.lab, host, 'domstate', `mc-${vmId}`).then((s) => s.trim(), () => 'absent');
  }

  exists(host: LabHost, path: string): Promise<boolean> {
    return onHost(this.p.lab, host, ['test', '-e', path]).then(() => true, () => false);
  }

  /** Types a line on the guest's serial console (qemu reads the pty only while it is held open: keep it 1.5 s). */
  consoleSend(host: LabHost, vmId: string, text: string): Promise<string> {
    return onHost(this.p.lab, host, ['sh', '-c', 'p=$(virsh -q -c qemu:///system ttyconsole "$1") && (printf "%s\\n" "$2"; sleep 1.5) > "$p"', 'sh', `mc-${vmId}`, text]);
  }

  /** Creates a 256 MiB VM on `hostId` through the API (`extra`: more create fields) and waits until its guest counts on the console. */
  async bootedVm(name: string, hostId: string, extra: Record<string, unknown> = {}): Promise<string> {
    const r = await this.p.api('POST', '/v1/vms', { name, vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab', targetHost: hostId, ...extra });
    if (r.status !== 202) throw new Error(`creating ${name}: ${r.status} ${JSON.stringify(r.body)}`);
    this.created.push(r.body.id);
    const vm = await this.p.waitForVm(r.body.id, (v) => v.status === 'running' || v.status === 'failed');
    if (vm.status !== 'running') throw new Error(`${name} did not start: ${JSON.stringify(vm)}`);
    const h = this.labHost(hostId);
    const end = Date.now() + 90_000;
    while (counters(await this.consoleLog(h, vm.id)).length < 2) {
      if (Date.now() > end) throw new Error(`guest ${vm.id} did not boot: ${(await this.consoleLog(h, vm.id)).slice(-500)}`);
      await sleep(1000);
    }
    return vm.id;
  }

  /** While migration `migrationId` runs: the last counter the guest printed on `host` (the source) before it ended. */
  async lastSourceCounter(host: LabHost, vmId: string, migrationId: string): Promise<number> {
    let last = 0;
    for (;;) {
      const c = counters(await this.consoleLog(host, vmId));
      if (c.length) last = Math.max(last, c[c.length - 1]);
      if (finished((await this.p.api('GET', `/v1/migrations/${migrationId}`)).body)) return last;
      await sleep(200);
    }
  }

  /** The guest on `host` counts on, one by one, from right after `from`: no reboot, no gap. */
  async countsOnFrom(host: LabHost, vmId: string, from: number): Promise<void> {
    // Two counters after `from`, waited for up to 30 s: a TCG guest that was just switched over (and may still be
    // running a memory dirtier) can take a few seconds to print again on a loaded machine.
    const end = Date.now() + 30_000;
    let log = '';
    let seq: number[] = [];
    for (;;) {
      await sleep(1000);
      log = await this.consoleLog(host, vmId);
      const c = counters(log).filter((n) => n > from - 5);
      const first = c.findIndex((n) => n > from);
      seq = first < 0 ? [] : c.slice(first);
      if (seq.length >= 2 || Date.now() > end) break;
    }
    if (seq.length < 2) throw new Error(`guest ${vmId} did not count on after ${from} on ${host.name}; its console ends with: ${log.slice(-800)}`);
    expect(seq[0]).toBeLessThanOrEqual(from + 3); // picked up where the source stopped (≤ 3 s of polling slack)
    for (let i = 1; i < seq.length; i++) expect(seq[i]).toBe(seq[i - 1] + 1);
  }

  /** Polls GET /v1/migrations/:id until `done` says yes. */
  async waitMigration(id: string, done: (m: any) => boolean, timeoutMs = 180_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < end) {
      const r = await this.p.api('GET', `/v1/migrations/${id}`);
      last = r.body;
      if (r.status === 200 && done(last)) return last;
      await sleep(300);
    }
    throw new Error(`migration ${id} did not get there in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }
}
