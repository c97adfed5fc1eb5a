import { parseTagFilters } from './tag-filter';

describe('parseTagFilters', () => {
  it('reads key=value and bare keys', () => {
    expect(parseTagFilters('team=web')).toEqual({ filters: [{ key: 'team', value: 'web' }] });
    expect(parseTagFilters(['team', 'env=prod=eu'])).toEqual({ filters: [{ key: 'team' }, { key: 'env', value: 'prod=eu' }] });
    expect(parseTagFilters('team=')).toEqual({ filters: [{ key: 'team', value: '' }] });
    expect(parseTagFilters(undefined)).toEqual({ filters: [] });
  });

  it('refuses bad keys', () => {
    expect(parseTagFilters('=web')).toEqual({ error: expect.stringMatching(/tag key ""/) });
    expect(parseTagFilters("te'am=x")).toEqual({ error: expect.stringMatching(/must be 1-63/) });
    expect(parseTagFilters(Array(21).fill('a'))).toEqual({ error: expect.stringMatching(/at most 20/) });
  });
});
