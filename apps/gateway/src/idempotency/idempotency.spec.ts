import { canonicalJson, decide, IDEMPOTENCY_TTL_MS, isRemembered, keyProblem, requestHash, StoredRequest } from './idempotency';

describe('idempotency hashing', () => {
  it('does not depend on key order but on every value', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"x":1,"y":2}]},"b":1}');
    const h = requestHash('POST', '/v1/vms', { name: 'a', vcpus: 1 });
    expect(requestHash('post', '/v1/vms', { vcpus: 1, name: 'a' })).toBe(h);
    expect(requestHash('POST', '/v1/vms', { vcpus: 2, name: 'a' })).not.toBe(h);
    expect(requestHash('POST', '/v1/flavors', { vcpus: 1, name: 'a' })).not.toBe(h);
    expect(requestHash('DELETE', '/v1/vms', { vcpus: 1, name: 'a' })).not.toBe(h);
    expect(requestHash('DELETE', '/v1/vms/x', undefined)).toBe(requestHash('DELETE', '/v1/vms/x', {}));
  });

  it('checks the key', () => {
    expect(keyProblem('4f1c-abc_DEF.1')).toBeNull();
    expect(keyProblem('')).toMatch(/1-255/);
    expect(keyProblem('a b')).not.toBeNull();
    expect(keyProblem('x'.repeat(256))).not.toBeNull();
  });
});

describe('idempotency replay decision', () => {
  const now = new Date('2026-11-22T05:00:00Z');
  const hash = requestHash('POST', '/v1/vms', { name: 'a' });
  const done: StoredRequest = { requestHash: hash, status: 202, location: '/v1/vms/1', responseBody: { id: '1' }, createdAt: new Date(now.getTime() - 1000) };

  it('proceeds with a new key', () => {
    expect(decide(null, hash, now)).toEqual({ kind: 'proceed' });
  });

  it('replays the first answer for the same request', () => {
    expect(decide(done, hash, now)).toEqual({ kind: 'replay', status: 202, location: '/v1/vms/1', body: { id: '1' } });
  });

  it('refuses the same key with another request', () => {
    expect(decide(done, requestHash('POST', '/v1/vms', { name: 'b' }), now)).toEqual({ kind: 'mismatch' });
  });

  it('says in-progress while the first request runs', () => {
    expect(decide({ ...done, status: null, responseBody: null }, hash, now)).toEqual({ kind: 'in-progress' });
  });

  it('forgets keys after 24 hours', () => {
    const old = { ...done, createdAt: new Date(now.getTime() - IDEMPOTENCY_TTL_MS) };
    expect(decide(old, requestHash('POST', '/v1/vms', { name: 'b' }), now)).toEqual({ kind: 'proceed' });
    expect(decide({ ...done, createdAt: new Date(now.getTime() - IDEMPOTENCY_TTL_MS + 1) }, hash, now).kind).toBe('replay');
  });

  it('remembers only completed requests', () => {
    expect(isRemembered(201)).toBe(true);
    expect(isRemembered(204)).toBe(true);
    expect(isRemembered(400)).toBe(false);
    expect(isRemembered(503)).toBe(false);
  });
});
