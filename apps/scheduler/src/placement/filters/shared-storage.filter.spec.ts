import { explainNoValidHost, runFilters } from '../filter-chain';
import { host, ID, request } from '../test-utils/hosts';
import { defaultFilters } from './index';
import { SharedStorageFilter } from './shared-storage.filter';

describe('SharedStorageFilter (VMs on the shared datastore)', () => {
  const f = new SharedStorageFilter();

  it('keeps only hosts with the shared datastore for a shared VM', () => {
    expect(f.passes(host({ sharedStorage: true }), request({ storage: 'shared' }))).toBe(true);
    expect(f.passes(host({ sharedStorage: false }), request({ storage: 'shared' }))).toBe(false);
    expect(f.passes(host(), request({ storage: 'shared' }))).toBe(false);
  });

  it('does not restrict local VMs (explicit or by default)', () => {
    expect(f.appliesTo(request())).toBe(false);
    expect(f.passes(host(), request())).toBe(true);
    expect(f.passes(host({ sharedStorage: false }), request({ storage: 'local' }))).toBe(true);
  });

  it('is part of the default chain and explains what it removed', () => {
    const hosts = [host({ id: ID(1), name: 'a', sharedStorage: true }), host({ id: ID(2), name: 'b' }), host({ id: ID(3), name: 'c' })];
    const r = runFilters(hosts, request({ storage: 'shared' }), defaultFilters());
    expect(r.passed.map((h) => h.name)).toEqual(['a']);
    const none = runFilters(hosts.slice(1), request({ storage: 'shared' }), defaultFilters());
    expect(explainNoValidHost(2, none, request({ storage: 'shared' }))).toEqual({
      reason: "no valid host among 2 hosts: 2 had no shared datastore (the VM's disk is on shared storage)",
      removedByFilter: { 'shared-storage': 2 },
    });
  });
});
