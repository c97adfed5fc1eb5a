import { createHmac } from 'crypto';
import { readFileSync } from 'fs';

export interface HostKey {
  type: string;
  /** Base64 of the SSH wire-format public key blob. */
  base64: string;
}

/** Parses "ssh-ed25519 AAAA… [comment]" (the pinned form). */
export function parseHostKey(text: string): HostKey {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || !/^[a-z0-9@.-]+$/i.test(parts[0]) || !/^[A-Za-z0-9+/]+=*$/.test(parts[1])) {
    throw new Error(`not an SSH public key: "${text.slice(0, 60)}"`);
  }
  return { type: parts[0], base64: parts[1] };
}

export function formatHostKey(k: HostKey): string {
  return `${k.type} ${k.base64}`;
}

/** The host pattern known_hosts uses: `addr` for port 22, `[addr]:port` otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const h = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return h === hash;
  }
  if (!/[*?]/.test(pattern)) return pattern.toLowerCase() === name.toLowerCase();
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(name);
}

/**
 * Keys known_hosts text holds for address:port (plain or hashed host names, comma-separated patterns,
 * `!negation`, wildcards). `@cert-authority` lines are ignored; `@revoked` keys are returned separately.
 */
export function findKnownHostKeys(text: string, address: string, port: number): { keys: HostKey[]; revoked: HostKey[] } {
  const name = knownHostsName(address, port);
  const keys: HostKey[] = [];
  const revoked: HostKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0].startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    if (fields.length < 3) continue;
    const patterns = fields[0].split(',');
    const negated = patterns.some((p) => p.startsWith('!') && patternMatches(p.slice(1), name));
    const matched = !negated && patterns.some((p) => !p.startsWith('!') && patternMatches(p, name));
    if (!matched) continue;
    let key: HostKey;
    try {
      key = parseHostKey(`${fields[1]} ${fields[2]}`);
    } catch {
      continue;
    }
    if (marker === '@revoked') revoked.push(key);
    else if (!marker) keys.push(key);
  }
  return { keys, revoked };
}

export function readKnownHostKeys(file: string, address: string, port: number) {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read known_hosts file ${file}: ${(e as Error).message}`);
  }
  return findKnownHostKeys(text, address, port);
}
