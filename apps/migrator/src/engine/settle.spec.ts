import { settle } from './settle';

describe('settle: where a VM is after a migration ended', () => {
  it('a finished migration: the target runs, the source domain is gone', () => {
    expect(settle('absent', 'running', true)).toMatchObject({ vmOn: 'target', cleanup: null, lost: false });
  });
  it('the source domain is still defined (but stopped) after the switch-over: the target wins, the source is cleaned', () => {
    expect(settle('shutoff', 'running', true)).toMatchObject({ vmOn: 'target', cleanup: 'source' });
  });
  it('a cancelled or failed pre-copy: the source runs, the paused incoming domain on the target is removed', () => {
    expect(settle('running', 'paused', false)).toMatchObject({ vmOn: 'source', cleanup: 'target', resume: false });
    expect(settle('running', 'absent', false)).toMatchObject({ vmOn: 'source', cleanup: null });
  });
  it('the source was paused for a stop-and-copy that failed: it is resumed', () => {
    expect(settle('paused', 'absent', false)).toMatchObject({ vmOn: 'source', cleanup: null, resume: true });
  });
  it('post-copy switched over (source paused, target running): the target wins', () => {
    expect(settle('paused', 'running', false)).toMatchObject({ vmOn: 'target', cleanup: 'source' });
  });
  it('both running: the source stays authoritative and the target copy goes', () => {
    const s = settle('running', 'running', false);
    expect(s).toMatchObject({ vmOn: 'source', cleanup: 'target' });
    expect(s.why).toContain('both hosts');
  });
  it('a cold move of a stopped VM: where the definition is', () => {
    expect(settle('absent', 'shutoff', true, false)).toMatchObject({ vmOn: 'target', cleanup: null });
    expect(settle('shutoff', 'absent', false, false)).toMatchObject({ vmOn: 'source', cleanup: null });
    expect(settle('shutoff', 'shutoff', false, false)).toMatchObject({ vmOn: 'source', cleanup: 'target' });
  });
  it('on neither host: lost, reported for an operator', () => {
    expect(settle('absent', 'absent', false)).toMatchObject({ lost: true, vmOn: 'source' });
  });
});
