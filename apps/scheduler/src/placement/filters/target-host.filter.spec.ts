import { host, ID, request } from '../test-utils/hosts';
import { TargetHostFilter } from './target-host.filter';

describe('TargetHostFilter', () => {
  const f = new TargetHostFilter();

  it('keeps every host when no target is asked for', () => {
    expect(f.passes(host({ id: ID(1) }), request())).toBe(true);
    expect(f.passes(host({ id: ID(2) }), request())).toBe(true);
  });

  it('keeps only the requested host', () => {
    const req = request({ targetHostId: ID(2) });
    expect(f.passes(host({ id: ID(1) }), req)).toBe(false);
    expect(f.passes(host({ id: ID(2) }), req)).toBe(true);
    expect(f.describeRemoved([host({ id: ID(1) })], req)).toBe(`1 was not the requested host ${ID(2)}`);
  });
});
