/** A host command's output was not what the parser expects: never read as zero. */
export class ParseError extends Error {
  constructor(
    readonly what: string,
    readonly problem: string,
    readonly output: string,
  ) {
    super(`cannot parse ${what}: ${problem} (output: ${JSON.stringify(output.slice(0, 200))})`);
    this.name = 'ParseError';
  }
}

/** A host command failed; the message carries the tool's own error text (libvirt's, qemu-img's). */
export class HypervisorError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    message?: string,
  ) {
    super(message ?? `${command} failed${code === null ? '' : ` (exit ${code})`}: ${cleanToolError(stderr) || 'no error output'}`);
    this.name = 'HypervisorError';
  }
}

export class NotAHypervisorHostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotAHypervisorHostError';
  }
}

export class ImageVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageVerificationError';
  }
}

/** "error: Failed to start domain 'x'\nerror: internal error: …" → one line a person can read. */
export function cleanToolError(stderr: string): string {
  return stderr
    .split('\n')
    .map((l) => l.trim().replace(/^error:\s*/i, ''))
    .filter(Boolean)
    .join(': ')
    .slice(0, 2000);
}
