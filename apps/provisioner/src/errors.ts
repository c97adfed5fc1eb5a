import { RpcError } from '@minicloud/messaging';
import { HostKeyMismatchError, SshAuthError, SshCommandError, SshTimeoutError, SshUnreachableError } from '@minicloud/ssh';
import { HypervisorError, ImageVerificationError, NotAHypervisorHostError, ParseError } from '@minicloud/hypervisor';

/** Something about the request itself that retrying cannot fix (unknown image, bad path...). */
export class UnprocessableError extends RpcError {
  constructor(message: string) {
    super(422, message);
  }
}

/**
 * Host registration failures → RPC statuses: everything about the host (unreachable, wrong or unknown host
 * key, our key refused, not a libvirt host, garbled discovery output) is a 422 whose message says which.
 */
export function hostRegistrationError(err: unknown, label: string): RpcError | unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof HostKeyMismatchError) return new RpcError(422, `host key mismatch for ${label}: ${err.message}`);
  if (err instanceof SshUnreachableError || err instanceof SshTimeoutError) return new RpcError(422, `host ${label} is unreachable: ${err.message}`);
  if (err instanceof SshAuthError) return new RpcError(422, `host ${label} refused the SSH login: ${err.message}`);
  if (err instanceof NotAHypervisorHostError) return new RpcError(422, `host ${label} is ${err.message}`);
  if (err instanceof ParseError || err instanceof HypervisorError || err instanceof SshCommandError) {
    return new RpcError(422, `discovery of ${label} failed: ${err.message}`);
  }
  return err;
}

/** Console failures: the VM's host being away is a 503, a missing log a 404. */
export function consoleError(err: unknown, label: string): RpcError | unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof SshUnreachableError || err instanceof SshTimeoutError) return new RpcError(503, `host ${label} is unreachable: ${err.message}`);
  if (err instanceof HostKeyMismatchError) return new RpcError(502, `host ${label}: ${err.message}`);
  if (err instanceof HypervisorError && /no console log/.test(err.message)) return new RpcError(404, err.message);
  if (err instanceof HypervisorError) return new RpcError(502, err.message);
  return err;
}

/** A sentence for the VM's `failed` state: which host, and the tool's own error text. */
export function describeBuildFailure(err: unknown, host: { name: string; address: string }): string {
  const label = `${host.name} (${host.address})`;
  const msg = (err as Error)?.message ?? String(err);
  if (err instanceof SshUnreachableError || err instanceof SshTimeoutError) return `host ${label} is unreachable over SSH: ${msg}`;
  if (err instanceof HostKeyMismatchError) return `refusing to use host ${label}: ${msg}`;
  if (err instanceof SshAuthError) return `host ${label} refused the SSH login: ${msg}`;
  if (err instanceof HypervisorError) return `libvirt on ${label}: ${msg}`;
  if (err instanceof ImageVerificationError) return `image copy to ${label} failed verification: ${msg}`;
  return `building the VM on ${label} failed: ${msg}`;
}

/** Failures while preparing a migration target: a host away is a 503, a host tool's refusal a 502 naming the host. */
export function prepareMigrationError(err: unknown, label: string): RpcError | unknown {
  if (err instanceof RpcError) return err;
  if (err instanceof SshUnreachableError || err instanceof SshTimeoutError) return new RpcError(503, `host ${label} is unreachable: ${err.message}`);
  if (err instanceof HostKeyMismatchError || err instanceof SshAuthError) return new RpcError(502, `host ${label}: ${err.message}`);
  if (err instanceof HypervisorError || err instanceof ParseError || err instanceof ImageVerificationError || err instanceof SshCommandError) {
    return new RpcError(502, `on host ${label}: ${err.message}`);
  }
  return err;
}
