import { ApiError, NetworkError, OperationFailedError, WaitTimeoutError } from './errors';
import { Clock, follow, observeOperation, observeVmCreate, observeVmTarget, operationIn } from './follow';

/** A clock that only moves when the loop sleeps. */
function fakeClock(): Clock & { sleeps: number[] } {
  let t = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
}

function poller<T>(docs: (T | Error)[]) {
  let i = 0;
  const fn = jest.fn(async () => {
    const d = docs[Math.min(i++, docs.length - 1)];
    if (d instanceof Error) throw d;
    return d;
  });
  return fn;
}

describe('follow', () => {
  it('polls until the operation succeeds, reporting each state change once', async () => {
    const clock = fakeClock();
    const poll = poller([{ status: 'pending' }, { status: 'running' }, { status: 'running' }, { status: 'succeeded', id: 'op1' }]);
    const updates: string[] = [];
    const res = await follow({ what: 'stop web-1', poll, observe: observeOperation, clock, timeoutMs: 60_000, intervalMs: 100, onUpdate: (u) => u.changed && updates.push(u.state) });
    expect(res.doc).toEqual({ status: 'succeeded', id: 'op1' });
    expect(res.observation).toEqual({ state: 'succeeded', done: true, ok: true });
    expect(updates).toEqual(['pending', 'running', 'succeeded']);
    expect(poll).toHaveBeenCalledTimes(4);
    expect(clock.sleeps).toEqual([100, 150, 225]); // backs off by half each time
  });

  it('throws the failure reason when the operation fails', async () => {
    const poll = poller([{ status: 'running' }, { status: 'failed', error: { message: 'virsh shutdown: domain is not running' } }]);
    const p = follow({ what: 'stop web-1', poll, observe: observeOperation, clock: fakeClock(), timeoutMs: 60_000 });
    await expect(p).rejects.toThrow(OperationFailedError);
    await expect(follow({ what: 'stop web-1', poll: poller([{ status: 'failed', reason: 'no space' }]), observe: observeOperation, clock: fakeClock(), timeoutMs: 1 })).rejects.toThrow('stop web-1 failed: no space');
  });

  it('gives up at the timeout with the last state', async () => {
    const clock = fakeClock();
    const err = await follow({ what: 'VM web-1', poll: poller([{ status: 'provisioning' }]), observe: observeVmCreate, clock, timeoutMs: 5000, intervalMs: 1000, maxIntervalMs: 1000 }).catch((e) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.message).toBe('VM web-1 still provisioning after 5.0s');
    expect(err.last).toEqual({ status: 'provisioning' });
    expect(clock.now()).toBe(5000);
  });

  it('rides out a few unreachable or 5xx polls, but not a 4xx', async () => {
    const down = new NetworkError('ECONNREFUSED', 'GET', 'u', 'refused');
    const fiveHundred = new ApiError(503, { statusCode: 503, error: 'x', message: 'y' }, 'GET', 'u', {});
    const errors: number[] = [];
    const res = await follow({ what: 'op', poll: poller([{ status: 'running' }, down, fiveHundred, { status: 'done' }]), observe: observeOperation, clock: fakeClock(), timeoutMs: 60_000, onPollError: (_e, n) => errors.push(n) });
    expect(res.observation.ok).toBe(true);
    expect(errors).toEqual([1, 2]);

    const gone = new ApiError(404, { statusCode: 404, error: 'Not Found', message: 'no such operation' }, 'GET', 'u', {});
    await expect(follow({ what: 'op', poll: poller([gone]), observe: observeOperation, clock: fakeClock(), timeoutMs: 60_000 })).rejects.toBe(gone);
    await expect(follow({ what: 'op', poll: poller([down]), observe: observeOperation, clock: fakeClock(), timeoutMs: 600_000, maxConsecutiveErrors: 3 })).rejects.toBe(down);
  });
});

describe('observers', () => {
  it('reads operation states, whatever the field is called', () => {
    expect(observeOperation({ status: 'pending' })).toEqual({ state: 'pending', done: false, ok: false });
    expect(observeOperation({ state: 'completed' })).toMatchObject({ done: true, ok: true });
    expect(observeOperation({ status: 'failed', error: 'boom' })).toEqual({ state: 'failed', done: true, ok: false, reason: 'boom' });
    expect(observeOperation({ status: 'cancelled', reason: 'superseded' })).toMatchObject({ done: true, ok: false, reason: 'superseded' });
    expect(observeOperation({})).toMatchObject({ state: 'unknown', done: false });
  });

  it('follows a new VM to running, or to failed with its reason', () => {
    expect(observeVmCreate({ status: 'scheduled' })).toMatchObject({ done: false });
    expect(observeVmCreate({ status: 'running' })).toMatchObject({ done: true, ok: true });
    expect(observeVmCreate({ status: 'failed', reason: 'no valid host among 2 hosts' })).toEqual({ state: 'failed', done: true, ok: false, reason: 'no valid host among 2 hosts' });
    expect(observeVmTarget('stopped')({ status: 'stopping' })).toMatchObject({ done: false });
    expect(observeVmTarget('stopped')({ status: 'stopped' })).toMatchObject({ done: true, ok: true });
    expect(observeVmTarget('deleted')({ status: 'deleted' })).toMatchObject({ done: true, ok: true });
    expect(observeVmTarget('running')({ status: 'deleted' })).toMatchObject({ done: true, ok: false });
  });

  it('finds the operation in an accepted answer, or none when the answer is the VM', () => {
    const vmId = '11111111-1111-4111-8111-111111111111';
    expect(operationIn({ operation: { id: 'op-1', status: 'pending' } }, undefined, vmId)).toEqual({ id: 'op-1', doc: { id: 'op-1', status: 'pending' } });
    expect(operationIn({ id: 'op-2', status: 'pending', action: 'stop', vmId }, undefined, vmId)?.id).toBe('op-2');
    expect(operationIn({}, '/v1/operations/op-3', vmId)).toEqual({ id: 'op-3', doc: undefined });
    expect(operationIn({ id: vmId, status: 'deleting', name: 'web-1' }, `/v1/vms/${vmId}`, vmId)).toBeUndefined();
    expect(operationIn('', undefined, vmId)).toBeUndefined();
  });
});
