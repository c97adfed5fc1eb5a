import { LivenessTracker } from './liveness';

const H = '00000000-0000-4000-8000-000000000001';

describe('LivenessTracker', () => {
  it('takes an up host down at the third missed round in a row, with the reason', () => {
    const t = new LivenessTracker(3);
    t.setState(H, 'up');
    expect(t.miss(H, 'connection refused')).toBeUndefined();
    expect(t.miss(H, 'connection refused')).toBeUndefined();
    expect(t.miss(H, 'timed out')).toEqual({
      hostId: H,
      state: 'down',
      previousState: 'up',
      reason: 'missed 3 metrics collection rounds in a row; last: timed out',
    });
    expect(t.state(H)).toBe('down');
    // Further misses do not announce it again.
    expect(t.miss(H, 'timed out')).toBeUndefined();
  });

  it('resets the count on a good round: misses must be consecutive', () => {
    const t = new LivenessTracker(3);
    t.setState(H, 'up');
    t.miss(H, 'x');
    t.miss(H, 'x');
    expect(t.success(H)).toBeUndefined();
    expect(t.miss(H, 'x')).toBeUndefined();
    expect(t.miss(H, 'x')).toBeUndefined();
    expect(t.miss(H, 'x')?.state).toBe('down');
  });

  it('takes a host down at once when SSH fails for good (host key, auth)', () => {
    const t = new LivenessTracker(3);
    t.setState(H, 'up');
    expect(t.miss(H, 'host key mismatch', true)).toMatchObject({ state: 'down', reason: 'SSH to the host failed: host key mismatch' });
  });

  it('brings a down host back up on its first good round', () => {
    const t = new LivenessTracker(3);
    t.setState(H, 'down');
    expect(t.success(H)).toEqual({ hostId: H, state: 'up', previousState: 'down', reason: 'metrics collection succeeded again' });
    expect(t.success(H)).toBeUndefined();
  });

  it('leaves disabled and maintenance hosts alone', () => {
    const t = new LivenessTracker(1);
    t.setState(H, 'maintenance');
    expect(t.miss(H, 'x', true)).toBeUndefined();
    expect(t.success(H)).toBeUndefined();
    t.setState(H, 'disabled');
    expect(t.miss(H, 'x')).toBeUndefined();
    expect(t.state(H)).toBe('disabled');
  });

  it('counts afresh when the state is changed from outside (misses in maintenance do not count once up)', () => {
    const t = new LivenessTracker(3);
    t.setState(H, 'maintenance');
    for (let i = 0; i < 5; i++) t.miss(H, 'x');
    t.setState(H, 'up');
    expect(t.miss(H, 'x')).toBeUndefined();
    expect(t.misses(H)).toBe(1);
  });

  it('ignores hosts it does not know', () => {
    const t = new LivenessTracker(1);
    expect(t.miss(H, 'x')).toBeUndefined();
    expect(t.success(H)).toBeUndefined();
  });
});
