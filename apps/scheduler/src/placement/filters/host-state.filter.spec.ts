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

  it('is named "state" in removedByFilter', () => {
    expect(f.name).toBe('state');
  });
});
