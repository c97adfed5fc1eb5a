export interface SshTargetLabel {
  address: string;
  port: number;
  user: string;
}

export function targetLabel(t: SshTargetLabel): string {
  return `${t.user}@${t.address}:${t.port}`;
}

export class SshError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Connection refused, timed out, host unreachable, connection dropped. Usually transient. */
export class SshUnreachableError extends SshError {}

/** The host's key is not the pinned / known one, or no key is known for the host. Never retried. */
export class HostKeyMismatchError extends SshError {}

/** Authentication with our key was refused. */
export class SshAuthError extends SshError {}

/** The remote command ran and exited non-zero. */
export class SshCommandError extends SshError {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    readonly stdout: string,
    readonly signal?: string,
  ) {
    const detail = (stderr.trim() || stdout.trim()).slice(0, 2000);
    super(`${command} exited with ${code === null ? `signal ${signal ?? '?'}` : `code ${code}`}${detail ? `: ${detail}` : ''}`);
  }
}

/** The remote command did not finish in time (it was killed). */
export class SshTimeoutError extends SshError {}
