import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Server, utils } from 'ssh2';
import { HostKeyMismatchError, SshCommandError, SshTimeoutError, SshUnreachableError } from './errors';
import { SshPool, SshTarget } from './pool';

function keyPair() {
  const kp = utils.generateKeyPairSync('ed25519');
  const parsed = utils.parseKey(kp.public);
  if (parsed instanceof Error) throw parsed;
  return { priv: kp.private, pubLine: `ssh-ed25519 ${parsed.getPublicSSH().toString('base64')}` };
}

/** A real SSH server on loopback whose exec runs the received command line through /bin/sh. */
async function startServer(hostKeyPriv: string) {
  const seen: string[] = [];
  let connections = 0;
  const server = new Server({ hostKeys: [hostKeyPriv] }, (client) => {
    connections++;
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('exec', (acc, _rej, info) => {
          seen.push(info.command);
          const stream = acc();
          const child = spawn('/bin/sh', ['-c', info.command], { detached: true });
          const killGroup = () => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* already gone */
            }
          };
          child.stdout.pipe(stream, { end: false });
          child.stderr.pipe(stream.stderr, { end: false });
          stream.pipe(child.stdin);
          stream.on('signal', killGroup);
          stream.on('close', killGroup);
          child.on('close', (code) => {
            stream.exit(code ?? 255);
            stream.end();
          });
        });
      });
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, seen, connections: () => connections };
}

describe('SshPool against a real SSH server on loopback', () => {
  const host = keyPair();
  const other = keyPair();
  const client = keyPair();
  const dir = mkdtempSync(join(tmpdir(), 'mc-ssh-'));
  let srv: Awaited<ReturnType<typeof startServer>>;
  let pool: SshPool;
  let target: SshTarget;

  beforeAll(async () => {
    srv = await startServer(host.priv);
    writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${srv.port} ${host.pubLine}\n`);
    pool = new SshPool({ privateKey: client.priv, knownHostsPath: join(dir, 'known_hosts'), connectTimeoutMs: 3000 });
    target = { address: '127.0.0.1', port: srv.port, user: 'root' };
  });
  afterAll(async () => {
    await pool.close();
    srv.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs argv with hostile arguments exactly as given, over one connection', async () => {
    const args = ["it's", '$(touch /tmp/pwned)', 'a b', '`id`', ';ls'];
    const before = srv.connections();
    const r = await pool.exec(target, ['printf', '%s\\n', ...args]);
    expect(r.stdout.split('\n').slice(0, -1)).toEqual(args);
    expect(r.code).toBe(0);
    await pool.exec(target, ['true']);
    expect(srv.connections() - before).toBeLessThanOrEqual(1);
    expect(srv.seen[srv.seen.length - 2].startsWith("'printf' '%s\\n'")).toBe(true);
  });

  it('passes stdin and reports a non-zero exit as SshCommandError with stderr', async () => {
    expect((await pool.exec(target, ['cat'], { stdin: 'hello\n' })).stdout).toBe('hello\n');
    const err = await pool.exec(target, ['sh', '-c', 'echo boom >&2; exit 3']).catch((e) => e);
    expect(err).toBeInstanceOf(SshCommandError);
    expect(err.code).toBe(3);
    expect(err.message).toMatch(/code 3: boom/);
    expect((await pool.exec(target, ['false'], { check: false })).code).toBe(1);
  });

  it('kills a command that runs too long', async () => {
    const t0 = Date.now();
    await expect(pool.exec(target, ['sleep', '5'], { timeoutMs: 300 })).rejects.toBeInstanceOf(SshTimeoutError);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect((await pool.exec(target, ['echo', 'still usable'])).stdout).toBe('still usable\n');
  });

  it('accepts a matching pinned key and refuses a different pinned key', async () => {
    expect((await pool.exec({ ...target, hostKey: host.pubLine }, ['echo', 'ok'])).stdout).toBe('ok\n');
    const err = await pool.exec({ ...target, hostKey: other.pubLine }, ['echo', 'no']).catch((e) => e);
    expect(err).toBeInstanceOf(HostKeyMismatchError);
    expect(err.message).toMatch(/does not match the pinned key/);
  });

  it('refuses a host whose key differs from known_hosts, and one not in it', async () => {
    writeFileSync(join(dir, 'kh-wrong'), `[127.0.0.1]:${srv.port} ${other.pubLine}\n`);
    const p2 = new SshPool({ privateKey: client.priv, knownHostsPath: join(dir, 'kh-wrong') });
    await expect(p2.exec(target, ['true'])).rejects.toThrow(/does not match the key in/);
    writeFileSync(join(dir, 'kh-empty'), '');
    const p3 = new SshPool({ privateKey: client.priv, knownHostsPath: join(dir, 'kh-empty') });
    await expect(p3.exec(target, ['true'])).rejects.toThrow(HostKeyMismatchError);
    expect(() => p3.knownHostKey('127.0.0.1', srv.port)).toThrow(/never trusted on first use/);
    expect(pool.knownHostKey('127.0.0.1', srv.port)).toBe(host.pubLine);
    await Promise.all([p2.close(), p3.close()]);
  });

  it('classifies a refused connection as unreachable', async () => {
    const s = await startServer(host.priv);
    const port = s.port;
    s.server.close();
    writeFileSync(join(dir, 'kh-closed'), `[127.0.0.1]:${port} ${host.pubLine}\n`);
    const p = new SshPool({ privateKey: client.priv, knownHostsPath: join(dir, 'kh-closed'), connectTimeoutMs: 2000 });
    await expect(p.exec({ address: '127.0.0.1', port, user: 'root' }, ['true'])).rejects.toBeInstanceOf(SshUnreachableError);
    await p.close();
  });

  it('reconnects after the connection drops', async () => {
    await pool.exec(target, ['true']);
    const before = srv.connections();
    // Drop every connection from the server side.
    (pool as unknown as { conns: Map<string, { client: { end(): void } }> }).conns.forEach((c) => c.client.end());
    await new Promise((r) => setTimeout(r, 100));
    expect((await pool.exec(target, ['echo', 'back'])).stdout).toBe('back\n');
    expect(srv.connections()).toBe(before + 1);
  });
});
