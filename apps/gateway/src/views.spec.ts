import { toHostView, toImageView, toSchedulingView, toVmView } from './views';
import type { HostRow, ImageRow, VmRow } from './db/entities';

const HOST = '11111111-1111-4111-8111-111111111111';
const row = (over: Partial<VmRow> = {}): VmRow =>
  Object.assign(
    {
      id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      name: 'web-1',
      status: 'requested',
      generation: 0,
      hostId: null,
      targetHostId: null,
      vcpus: 2,
      memoryMiB: 512,
      diskGiB: 4,
      imageId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb',
      imageName: 'debian-12',
      tags: { team: 'web' },
      reason: null,
      createdAt: new Date('2025-01-01T00:00:00Z'),
      updatedAt: new Date('2025-01-01T00:00:05Z'),
    },
    over,
  ) as VmRow;

describe('toVmView', () => {
  it('shows a requested VM without host and without internals (generation, target host)', () => {
    const v = toVmView(row());
    expect(v).toEqual({
      id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa',
      name: 'web-1',
      status: 'requested',
      host: null,
      vcpus: 2,
      memoryMiB: 512,
      diskGiB: 4,
      image: { id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', name: 'debian-12' },
      storage: 'local',
      reason: null,
      tags: { team: 'web' },
      createdAt: '2025-01-01T00:00:00.000Z',
      updatedAt: '2025-01-01T00:00:05.000Z',
      hostState: null,
      hostReachable: null,
      metrics: null,
      migration: null,
      scheduling: null,
    });
    expect(v).not.toHaveProperty('generation');
    expect(toVmView(row({ storage: 'shared' })).storage).toBe('shared');
  });

  it('says a requested VM is queued (with how long it waited) and a stopped one preempted, only in those states', () => {
    const queued = { state: 'queued' as const, since: '2025-01-01T00:00:00.000Z', reason: 'no valid host among 1 hosts: 1 lacked memory', removedByFilter: { memory: 1 }, priority: 2, deadline: null };
    expect(toSchedulingView('requested', queued, Date.parse('2025-01-01T00:01:30Z'))).toEqual({ ...queued, waitedSeconds: 90, position: null, effectivePriority: null });
    expect(toVmView(row({ status: 'scheduled', scheduling: queued })).scheduling).toBeNull();
    const preempted = { state: 'preempted' as const, at: '2025-01-01T00:02:00.000Z', hostId: HOST, action: 'stop' as const, targetHostId: null, preemptedByVmId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', reservationId: null, reason: 'preempted by VM c' };
    expect(toVmView(row({ status: 'stopped', hostId: HOST, scheduling: preempted })).scheduling).toEqual(preempted);
    expect(toVmView(row({ status: 'running', hostId: HOST, scheduling: preempted })).scheduling).toBeNull();
  });

  it('names the host when the read model knows it, and still shows its id when it does not', () => {
    expect(toVmView(row({ status: 'running', hostId: HOST }), { id: HOST, name: 'hv1', address: '10.254.7.11' }).host).toEqual({
      id: HOST,
      name: 'hv1',
      address: '10.254.7.11',
    });
    expect(toVmView(row({ status: 'running', hostId: HOST }), null).host).toEqual({ id: HOST, name: null, address: null });
    // A host row for another host is never attached.
    expect(toVmView(row({ status: 'running', hostId: HOST }), { id: 'other', name: 'x', address: 'y' }).host?.name).toBeNull();
  });

  it("shows whether the VM's host is reachable (down = unreachable) from the hosts read model", () => {
    const running = row({ status: 'running', hostId: HOST });
    expect(toVmView(running, { id: HOST, name: 'hv1', address: '10.254.7.11', state: 'down' })).toMatchObject({ hostState: 'down', hostReachable: false });
    expect(toVmView(running, { id: HOST, name: 'hv1', address: '10.254.7.11', state: 'up' })).toMatchObject({ hostState: 'up', hostReachable: true });
    expect(toVmView(running, null)).toMatchObject({ hostState: null, hostReachable: null });
  });

  it('shows the reason only for a failed VM', () => {
    expect(toVmView(row({ status: 'failed', reason: 'no valid host among 2' })).reason).toBe('no valid host among 2');
    expect(toVmView(row({ status: 'running', reason: 'stale' })).reason).toBeNull();
  });
});

describe('toHostView / toImageView', () => {
  it('maps a host row to the HostView contract', () => {
    const facts = { cpus: 4, cpuModel: 'x', memoryMiB: 8192, diskGiB: 100, arch: 'x86_64', hypervisorVersion: '7', libvirtVersion: '9' };
    const h = { id: HOST, name: 'hv1', address: '10.254.7.11', sshPort: 22, sshUser: 'root', state: 'up', stateReason: '', stateAt: null, facts, registeredAt: new Date('2025-01-02T00:00:00Z'), updatedAt: new Date() } as HostRow;
    expect(toHostView(h)).toEqual({ id: HOST, name: 'hv1', address: '10.254.7.11', sshPort: 22, sshUser: 'root', state: 'up', stateReason: '', facts, registeredAt: '2025-01-02T00:00:00.000Z' });
  });

  it('maps an image row, sizes as numbers and optional boot paths only when set', () => {
    const i = { id: 'c', name: 'img', path: '/srv/img.qcow2', format: 'qcow2', checksum: 'a'.repeat(64), sizeBytes: '1048576' as unknown as number, virtualSizeBytes: 2147483648, arch: 'x86_64', kernelPath: null, initrdPath: null, cmdline: null, registeredAt: new Date('2025-01-03T00:00:00Z'), updatedAt: new Date() } as ImageRow;
    const v = toImageView(i);
    expect(v.sizeBytes).toBe(1048576);
    expect(v.virtualSizeBytes).toBe(2147483648);
    expect(v).not.toHaveProperty('kernelPath');
    expect(toImageView({ ...i, kernelPath: '/boot/vmlinuz', cmdline: 'console=ttyS0' } as ImageRow)).toMatchObject({ kernelPath: '/boot/vmlinuz', cmdline: 'console=ttyS0' });
  });
});
