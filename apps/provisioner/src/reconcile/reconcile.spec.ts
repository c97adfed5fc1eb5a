import { diffHost, ObservedDomain } from './reconcile';

const A = '0a000000-0000-4000-8000-000000000001';
const B = '0b000000-0000-4000-8000-000000000002';
const C = '0c000000-0000-4000-8000-000000000003';
const D = '0d000000-0000-4000-8000-000000000004';
const dom = (uuid: string, state: ObservedDomain['state']): ObservedDomain => ({ uuid, name: `mc-${uuid}`, state });

describe('diffHost', () => {
  it('fails VMs whose domain disappeared, naming the domain and the host', () => {
    const d = diffHost('lab-h1', [{ id: A, state: 'running' }, { id: B, state: 'stopped' }, { id: C, state: 'suspended' }], []);
    expect(d.changes).toEqual([
      { vmId: A, from: 'running', to: 'failed', reason: `domain mc-${A} disappeared from host lab-h1` },
      { vmId: B, from: 'stopped', to: 'failed', reason: `domain mc-${B} disappeared from host lab-h1` },
      { vmId: C, from: 'suspended', to: 'failed', reason: `domain mc-${C} disappeared from host lab-h1` },
    ]);
    expect(d.unknown).toEqual([]);
  });

  it('follows power changes made outside minicloud', () => {
    const d = diffHost(
      'h',
      [{ id: A, state: 'running' }, { id: B, state: 'stopped' }, { id: C, state: 'suspended' }, { id: D, state: 'running' }],
      [dom(A, 'shutoff'), dom(B, 'running'), dom(C, 'running'), dom(D, 'paused')],
    );
    expect(d.changes).toEqual([
      { vmId: A, from: 'running', to: 'stopped', reason: 'stopped outside minicloud' },
      { vmId: B, from: 'stopped', to: 'running', reason: 'started outside minicloud' },
      { vmId: C, from: 'suspended', to: 'running', reason: 'resumed outside minicloud' },
      { vmId: D, from: 'running', to: 'suspended', reason: 'suspended outside minicloud' },
    ]);
  });

  it('leaves matching VMs, VMs in flight and deleted VMs alone', () => {
    const d = diffHost(
      'h',
      [{ id: A, state: 'running' }, { id: B, state: 'provisioning' }, { id: C, state: 'stopping' }, { id: D, state: 'deleted' }],
      [dom(A, 'blocked'), dom(C, 'shutoff')],
    );
    expect(d.changes).toEqual([]);
    expect(d.unknown).toEqual([]);
  });

  it('reports unknown mc-* domains (and those of deleted VMs) but not foreign domains or migrations in flight', () => {
    const stray = '0e000000-0000-4000-8000-000000000005';
    const d = diffHost(
      'h',
      [{ id: A, state: 'running' }, { id: D, state: 'deleted' }],
      [dom(A, 'running'), dom(D, 'shutoff'), dom(stray, 'running'), { uuid: B, name: 'smoke-vm', state: 'running' }, dom(C, 'running')],
      new Set([C]),
    );
    expect(d.unknown.map((u) => u.name)).toEqual([`mc-${D}`, `mc-${stray}`]);
    expect(d.changes).toEqual([]);
  });

  it('brings a failed VM back when its domain is running, but not a stopped leftover of a failed build', () => {
    expect(diffHost('h', [{ id: A, state: 'failed' }], [dom(A, 'running')]).changes).toEqual([
      { vmId: A, from: 'failed', to: 'running', reason: `domain mc-${A} found running on host h` },
    ]);
    expect(diffHost('h', [{ id: A, state: 'failed' }], [dom(A, 'shutoff')]).changes).toEqual([]);
    expect(diffHost('h', [{ id: A, state: 'failed' }], []).changes).toEqual([]);
  });
});
