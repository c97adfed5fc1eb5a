import { RpcError } from '@minicloud/messaging';
import { HostKeyMismatchError, SshUnreachableError } from '@minicloud/ssh';
import { HypervisorError, NotAHypervisorHostError } from '@minicloud/hypervisor';
import { consoleError, describeBuildFailure, hostRegistrationError } from './errors';

describe('error mapping', () => {
  it('answers 422 naming the reason for every host problem', () => {
    const cases: [unknown, RegExp][] = [
      [new SshUnreachableError('ECONNREFUSED'), /^host 10\.254\.7\.11:22 is unreachable: ECONNREFUSED/],
      [new HostKeyMismatchError('does not match'), /^host key mismatch for 10\.254\.7\.11:22/],
      [new NotAHypervisorHostError('not a libvirt host: virsh: command not found'), /is not a libvirt host: virsh: command not found/],
    ];
    for (const [err, re] of cases) {
      const r = hostRegistrationError(err, '10.254.7.11:22') as RpcError;
      expect(r).toBeInstanceOf(RpcError);
      expect(r.status).toBe(422);
      expect(r.message).toMatch(re);
    }
    const other = new Error('db down');
    expect(hostRegistrationError(other, 'x')).toBe(other);
  });

  it('maps console failures', () => {
    expect((consoleError(new SshUnreachableError('x'), 'h1') as RpcError).status).toBe(503);
    expect((consoleError(new HypervisorError('tail', 1, '', 'VM v has no console log on its host'), 'h1') as RpcError).status).toBe(404);
  });

  it('describes a build failure with the host and the tool text', () => {
    const host = { name: 'lab-h1', address: '10.254.7.11' };
    expect(describeBuildFailure(new HypervisorError('virsh start', 1, "error: Failed to start domain 'mc-x'\nerror: internal error: qemu unexpectedly closed the monitor"), host)).toBe(
      "libvirt on lab-h1 (10.254.7.11): virsh start failed (exit 1): Failed to start domain 'mc-x': internal error: qemu unexpectedly closed the monitor",
    );
    expect(describeBuildFailure(new SshUnreachableError('root@10.254.7.11:22 is unreachable: ECONNREFUSED'), host)).toMatch(/^host lab-h1 \(10\.254\.7\.11\) is unreachable over SSH/);
  });
});
