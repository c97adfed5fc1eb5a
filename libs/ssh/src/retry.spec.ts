import { HostKeyMismatchError, SshCommandError, SshUnreachableError } from './errors';
import { backoffDelay, isTransientError, retry } from './retry';

describe('retry', () => {
  const noSleep = { sleep: async () => undefined };

  it('retries transient errors with exponential backoff until success', async () => {
    const delays: number[] = [];
    let calls = 0;
    const v = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new SshUnreachableError('refused');
        return 'ok';
      },
      { ...noSleep, baseDelayMs: 100, onRetry: (_e, _a, d) => delays.push(d) },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(3);
    expect(delays).toEqual([100, 200]);
  });

  it('gives up after the attempt limit with the last error', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new SshUnreachableError(`refused ${calls}`);
      }, { ...noSleep, attempts: 3 }),
    ).rejects.toThrow('refused 3');
    expect(calls).toBe(3);
  });

  it('does not retry permanent errors', async () => {
    let calls = 0;
    await expect(
      retry(async () => {
        calls++;
        throw new HostKeyMismatchError('mismatch');
      }, noSleep),
    ).rejects.toBeInstanceOf(HostKeyMismatchError);
    expect(calls).toBe(1);
  });

  it('classifies libvirt "busy" errors as transient and real failures as not', () => {
    expect(isTransientError(new SshCommandError('virsh start', 1, 'error: Timed out during operation: cannot acquire state change lock', ''))).toBe(true);
    expect(isTransientError(new SshCommandError('virsh start', 1, "error: Failed to start domain 'x'\nerror: Cannot access storage file", ''))).toBe(false);
    expect(isTransientError(new Error('other'))).toBe(false);
  });

  it('caps the delay', () => {
    expect(backoffDelay(1, 500, 8000)).toBe(500);
    expect(backoffDelay(4, 500, 8000)).toBe(4000);
    expect(backoffDelay(10, 500, 8000)).toBe(8000);
  });
});
