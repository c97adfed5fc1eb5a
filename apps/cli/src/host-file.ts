/**
 * The hosts file of `minicloud hosts import` (the same format infra/bootstrap.sh reads): one host per line,
 * "address", "address:port", "user@address", "user@address:port", "[v6]:port"; "#" comments, blank lines.
 */

/**
 * The platform's own rules (libs/contracts rpc.ts; a unit test keeps them equal). Copied, not imported: the CLI
 * loads no server-side code at run time, only types.
 */
export const ADDRESS_PATTERN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9a-fA-F:]+)$/;
export const SSH_USER_PATTERN = /^[a-z_][a-z0-9_-]{0,31}$/;

export interface HostLine {
  /** 1-based line number in the file. */
  line: number;
  text: string;
  address: string;
  sshPort: number;
  sshUser: string;
}

export interface BadHostLine {
  line: number;
  text: string;
  error: string;
}

export interface HostFile {
  hosts: HostLine[];
  invalid: BadHostLine[];
}

export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_SSH_USER = 'root';

/** Parses one (already comment-stripped, trimmed, non-empty) entry. */
export function parseHostEntry(entry: string): { address: string; sshPort: number; sshUser: string; portGiven: boolean; userGiven: boolean } {
  let rest = entry;
  let sshUser = DEFAULT_SSH_USER;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    sshUser = rest.slice(0, at);
    rest = rest.slice(at + 1);
    if (!SSH_USER_PATTERN.test(sshUser)) throw new Error(`"${sshUser}" is not a plain user name`);
  }
  let address = rest;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    address = bracketed[1];
    portText = bracketed[2];
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    [address, portText] = rest.split(':');
  }
  let sshPort = DEFAULT_SSH_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) throw new Error(`"${portText}" is not a port (1-65535)`);
    sshPort = Number(portText);
  }
  if (!address || address.length > 253 || !ADDRESS_PATTERN.test(address)) throw new Error(`"${address}" is not a host name or IP address`);
  return { address, sshPort, sshUser, portGiven: portText !== undefined, userGiven: at !== -1 };
}

export function parseHostFile(text: string): HostFile {
  const out: HostFile = { hosts: [], invalid: [] };
  text.split(/\r?\n/).forEach((raw, k) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (!entry) return;
    if (/\s/.test(entry)) {
      out.invalid.push({ line: k + 1, text: entry, error: 'one host per line (found spaces)' });
      return;
    }
    try {
      const { address, sshPort, sshUser } = parseHostEntry(entry);
      out.hosts.push({ line: k + 1, text: entry, address, sshPort, sshUser });
    } catch (e) {
      out.invalid.push({ line: k + 1, text: entry, error: (e as Error).message });
    }
  });
  return out;
}
