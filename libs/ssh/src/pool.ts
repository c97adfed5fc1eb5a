import { readFileSync } from 'fs';
import { posix } from 'path';
import { randomBytes } from 'crypto';
import { Client, ClientChannel, ConnectConfig, SFTPWrapper } from 'ssh2';
import { SpanKind, withSpan } from '@minicloud/telemetry';
import { describeArgv, quoteArgv } from './quote';
import {
  HostKeyMismatchError,
  SshAuthError,
  SshCommandError,
  SshError,
  SshTimeoutError,
  SshUnreachableError,
  targetLabel,
} from './errors';
import { formatHostKey, HostKey, knownHostsName, parseHostKey, readKnownHostKeys } from './known-hosts';

export interface SshTarget {
  address: string;
  port: number;
  user: string;
  /** Pinned host key ("ssh-ed25519 AAAA…"). Absent: the known_hosts file decides. */
  hostKey?: string;
}

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string | Buffer;
  /** Throw SshCommandError on a non-zero exit (default true). */
  check?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal?: string;
}

export interface SshPoolOptions {
  /** Private key file (default MINICLOUD_SSH_KEY or /var/lib/minicloud-lab/id_ed25519). */
  privateKeyPath?: string;
  privateKey?: Buffer | string;
  /** known_hosts file (default MINICLOUD_SSH_KNOWN_HOSTS or /var/lib/minicloud-lab/known_hosts). */
  knownHostsPath?: string;
  connectTimeoutMs?: number;
  defaultExecTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Channels open at once per connection (sshd's MaxSessions is 10). */
  maxChannels?: number;
}

/** A pool bound to one host: what the hypervisor driver executes through. */
export interface BoundExecutor {
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  upload(localPath: string, remotePath: string): Promise<void>;
}

export const DEFAULT_SSH_KEY = '/var/lib/minicloud-lab/id_ed25519';
export const DEFAULT_KNOWN_HOSTS = '/var/lib/minicloud-lab/known_hosts';

interface Conn {
  client: Client;
  ready: Promise<Client>;
  active: number;
  waiters: (() => void)[];
  closed: boolean;
}

/**
 * One persistent SSH connection per host (opened on first use, reopened after a drop), host keys always
 * verified, commands only as argv (quoted here), one span per command.
 */
export class SshPool {
  private readonly conns = new Map<string, Conn>();
  private readonly opts: Required<Omit<SshPoolOptions, 'privateKey' | 'privateKeyPath'>> & { privateKeyPath: string };
  private key?: Buffer | string;

  constructor(o: SshPoolOptions = {}) {
    this.opts = {
      privateKeyPath: o.privateKeyPath ?? process.env.MINICLOUD_SSH_KEY ?? DEFAULT_SSH_KEY,
      knownHostsPath: o.knownHostsPath ?? process.env.MINICLOUD_SSH_KNOWN_HOSTS ?? DEFAULT_KNOWN_HOSTS,
      connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
      defaultExecTimeoutMs: o.defaultExecTimeoutMs ?? 60_000,
      keepaliveIntervalMs: o.keepaliveIntervalMs ?? 15_000,
      maxChannels: o.maxChannels ?? 8,
    };
    this.key = o.privateKey;
  }

  get knownHostsPath(): string {
    return this.opts.knownHostsPath;
  }

  /**
   * The key known_hosts holds for a target (used to pin a key at registration). Throws HostKeyMismatchError
   * when the file has none (or more than one distinct key) for it.
   */
  knownHostKey(address: string, port: number): string {
    const { keys } = readKnownHostKeys(this.opts.knownHostsPath, address, port);
    const distinct = [...new Map(keys.map((k) => [formatHostKey(k), k])).values()];
    if (distinct.length === 0) {
      throw new HostKeyMismatchError(
        `no host key for ${knownHostsName(address, port)} in ${this.opts.knownHostsPath}: add the host's key there first (e.g. from ssh-keyscan, checked out of band); unknown hosts are never trusted on first use`,
      );
    }
    const ed = distinct.filter((k) => k.type === 'ssh-ed25519');
    return formatHostKey(ed[0] ?? distinct[0]);
  }

  bind(target: SshTarget): BoundExecutor {
    return {
      exec: (argv, opts) => this.exec(target, argv, opts),
      upload: (l, r) => this.upload(target, l, r),
    };
  }

  async exec(target: SshTarget, argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const command = quoteArgv(argv);
    const shown = describeArgv(argv);
    return withSpan(
      `ssh ${argv[0]}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'server.address': target.address,
          'server.port': target.port,
          'ssh.user': target.user,
          'ssh.command': shown,
        },
      },
      async (span) => {
        const timeoutMs = opts.timeoutMs ?? this.opts.defaultExecTimeoutMs;
        const res = await this.withChannel(target, (client) => runCommand(client, command, shown, timeoutMs, opts.stdin));
        span.setAttribute('ssh.exit_code', res.code ?? -1);
        if ((opts.check ?? true) && res.code !== 0) {
          throw new SshCommandError(shown, res.code, res.stderr, res.stdout, res.signal);
        }
        return res;
      },
    );
  }

  /** SFTP upload to a temporary name beside the target, then an atomic rename over it. */
  async upload(target: SshTarget, localPath: string, remotePath: string): Promise<void> {
    if (!remotePath.startsWith('/')) throw new Error(`remote path must be absolute: ${remotePath}`);
    await withSpan(
      'ssh sftp upload',
      { kind: SpanKind.CLIENT, attributes: { 'server.address': target.address, 'ssh.local_path': localPath, 'ssh.remote_path': remotePath } },
      () =>
        this.withChannel(target, async (client) => {
          const sftp = await new Promise<SFTPWrapper>((res, rej) => client.sftp((err, s) => (err ? rej(err) : res(s))));
          const tmp = posix.join(posix.dirname(remotePath), `.${posix.basename(remotePath)}.${randomBytes(6).toString('hex')}.part`);
          try {
            await new Promise<void>((res, rej) => sftp.fastPut(localPath, tmp, (err) => (err ? rej(err) : res())));
            await new Promise<void>((res, rej) =>
              sftp.ext_openssh_rename(tmp, remotePath, (err) => (err ? rej(err) : res())),
            );
          } catch (err) {
            await new Promise<void>((res) => sftp.unlink(tmp, () => res()));
            throw new SshError(`upload of ${localPath} to ${targetLabel(target)}:${remotePath} failed: ${(err as Error).message}`);
          } finally {
            sftp.end();
          }
        }),
    );
  }

  async close(): Promise<void> {
    for (const c of this.conns.values()) {
      c.closed = true;
      c.client.end();
    }
    this.conns.clear();
  }

  private keyMaterial(): Buffer | string {
    if (!this.key) {
      try {
        this.key = readFileSync(this.opts.privateKeyPath);
      } catch (e) {
        throw new SshAuthError(`cannot read SSH private key ${this.opts.privateKeyPath}: ${(e as Error).message}`);
      }
    }
    return this.key;
  }

  private expectedKeys(target: SshTarget): HostKey[] {
    if (target.hostKey) return [parseHostKey(target.hostKey)];
    const { keys } = readKnownHostKeys(this.opts.knownHostsPath, target.address, target.port);
    if (keys.length === 0) {
      throw new HostKeyMismatchError(
        `host key of ${knownHostsName(target.address, target.port)} is unknown: it is neither pinned nor in ${this.opts.knownHostsPath}`,
      );
    }
    return keys;
  }

  private async withChannel<T>(target: SshTarget, fn: (client: Client) => Promise<T>): Promise<T> {
    const conn = this.connection(target);
    const client = await conn.ready;
    if (conn.active >= this.opts.maxChannels) await new Promise<void>((r) => conn.waiters.push(r));
    conn.active++;
    try {
      return await fn(client);
    } catch (err) {
      if (err instanceof SshError) throw err;
      // A channel that could not open or broke mid-way: the connection is suspect.
      const msg = (err as Error)?.message ?? String(err);
      if (/not connected|No response from server|ECONNRESET|socket|closed/i.test(msg)) {
        this.drop(target, conn);
        throw new SshUnreachableError(`connection to ${targetLabel(target)} lost: ${msg}`);
      }
      throw new SshError(`ssh ${targetLabel(target)}: ${msg}`);
    } finally {
      conn.active--;
      conn.waiters.shift()?.();
    }
  }

  private keyOf(t: SshTarget): string {
    return `${t.user}@${t.address}:${t.port}#${t.hostKey ?? ''}`;
  }

  private drop(target: SshTarget, conn: Conn) {
    conn.closed = true;
    if (this.conns.get(this.keyOf(target)) === conn) this.conns.delete(this.keyOf(target));
    conn.client.end();
  }

  private connection(target: SshTarget): Conn {
    const k = this.keyOf(target);
    const existing = this.conns.get(k);
    if (existing && !existing.closed) return existing;
    const client = new Client();
    const conn: Conn = { client, active: 0, waiters: [], closed: false, ready: undefined as unknown as Promise<Client> };
    this.conns.set(k, conn);
    conn.ready = new Promise<Client>((resolve, reject) => {
      let keyProblem: HostKeyMismatchError | undefined;
      let expected: HostKey[];
      let privateKey: Buffer | string;
      try {
        expected = this.expectedKeys(target);
        privateKey = this.keyMaterial();
      } catch (e) {
        this.drop(target, conn);
        reject(e);
        return;
      }
      const cfg: ConnectConfig = {
        host: target.address,
        port: target.port,
        username: target.user,
        privateKey,
        readyTimeout: this.opts.connectTimeoutMs,
        keepaliveInterval: this.opts.keepaliveIntervalMs,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const got = key.toString('base64');
          if (expected.some((k) => k.base64 === got)) return true;
          keyProblem = new HostKeyMismatchError(
            `host key of ${targetLabel(target)} does not match the ${target.hostKey ? 'pinned key' : `key in ${this.opts.knownHostsPath}`}: ` +
              `expected ${expected.map((k) => `${k.type} ${k.base64.slice(0, 24)}…`).join(' or ')}, got …${got.slice(-24)} — possible man-in-the-middle or a reinstalled host; refusing to connect`,
          );
          return false;
        },
      };
      let settled = false;
      client.on('ready', () => {
        settled = true;
        resolve(client);
      });
      client.on('error', (err: Error & { level?: string; code?: string }) => {
        this.drop(target, conn);
        if (settled) return;
        settled = true;
        reject(classifyConnectError(err, target, keyProblem));
      });
      client.on('close', () => {
        this.drop(target, conn);
        if (!settled) {
          settled = true;
          reject(keyProblem ?? new SshUnreachableError(`connection to ${targetLabel(target)} closed during the handshake`));
        }
      });
      client.connect(cfg);
    });
    conn.ready.catch(() => undefined);
    return conn;
  }
}

function classifyConnectError(err: Error & { level?: string; code?: string }, target: SshTarget, keyProblem?: HostKeyMismatchError): Error {
  if (keyProblem) return keyProblem;
  const label = targetLabel(target);
  const msg = err.message ?? String(err);
  if (err.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new SshAuthError(`${label} refused our key: ${msg}`);
  }
  if (/verification failed|host key/i.test(msg)) return new HostKeyMismatchError(`${label}: ${msg}`);
  return new SshUnreachableError(`${label} is unreachable: ${err.code ? `${err.code} ` : ''}${msg}`);
}

function runCommand(client: Client, command: string, shown: string, timeoutMs: number, stdin?: string | Buffer): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    client.exec(command, (err, stream: ClientChannel) => {
      if (err) return reject(err);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let done = false;
      const timer = setTimeout(() => {
        if (done) return;
        done = true;
        try {
          stream.signal('KILL');
        } catch {
          /* ignore */
        }
        stream.close();
        reject(new SshTimeoutError(`${shown} did not finish within ${timeoutMs} ms (killed)`));
      }, timeoutMs);
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      stream.on('exit', (code: number | null, signal?: string) => {
        exitCode = typeof code === 'number' ? code : null;
        exitSignal = signal ?? undefined;
      });
      stream.on('data', (d: Buffer) => out.push(d));
      stream.stderr.on('data', (d: Buffer) => errOut.push(d));
      stream.on('close', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(errOut).toString('utf8'),
          code: exitCode,
          signal: exitSignal,
        });
      });
      if (stdin !== undefined) stream.end(stdin);
      else stream.end();
    });
  });
}
