import { host } from '../test-utils/hosts';
import { HostStateFilter } from './host-state.filter';

describe('HostStateFilter', () => {
  const f = new HostStateFilter();

  it('keeps only hosts that are up', () => {
    expect(f.passes(host({ state: 'up' }))).toBe(true);
    for (const state of ['down', 'disabled', 'maintenance'] as const) expect(f.passes(host({ state }))).toBe(false);
  });

  it('explains the states it removed', () => {
    expect(f.describeRemoved([host({ state: 'down' }), host({ state: 'maintenance' }), host({ state: 'down' })])).toBe(
      '3 were not up (2 down, 1 maintenance)',
    );
    expect(f.describeRemoved([host({ state: 'disabled' })])).toBe('1 was not up (1 disabled)');
  });

  it('removes a host draining or in maintenance by a maintenance request, whatever its liveness state says', () => {
    expect(f.passes(host({ state: 'up', maintenance: 'draining' }))).toBe(false);
    expect(f.passes(host({ state: 'up', maintenance: 'maintenance' }))).toBe(false);
    expect(f.passes(host({ state: 'up', maintenance: null }))).toBe(true);
    expect(f.describeRemoved([host({ state: 'up', maintenance: 'draining' }), host({ state: 'down' })])).toBe('2 were not up (1 down, 1 draining)');
  });

  it('is named "state" in removedByFilter', () => {
    expect(f.name).toBe('state');
  });
});
