import { httpStatusForRpc, normalizeErrorBody, rpcErrorBody } from './errors';

describe('RPC error mapping', () => {
  it('passes through what the client can act on', () => {
    for (const s of [404, 409, 422, 503, 504]) expect(httpStatusForRpc(s)).toBe(s);
  });

  it("turns the provisioner's 400 and 5xx into 502 with the upstream status in the message", () => {
    expect(httpStatusForRpc(400)).toBe(502);
    expect(httpStatusForRpc(500)).toBe(502);
    expect(rpcErrorBody(500, 'boom')).toEqual({ statusCode: 502, error: 'Bad Gateway', message: 'provisioner failed (500): boom' });
    expect(rpcErrorBody(500, 'boom', 'scheduler').message).toBe('scheduler failed (500): boom');
  });

  it('keeps the message of a passed-through error', () => {
    expect(rpcErrorBody(422, 'host key mismatch for 10.254.7.11')).toEqual({ statusCode: 422, error: 'Unprocessable Entity', message: 'host key mismatch for 10.254.7.11' });
    expect(rpcErrorBody(503, 'no provisioner service is answering').statusCode).toBe(503);
  });
});

describe('normalizeErrorBody', () => {
  it("shapes Nest's default bodies, plain strings and ours alike", () => {
    expect(normalizeErrorBody(404, { statusCode: 404, message: 'vm x not found', error: 'Not Found' })).toEqual({ statusCode: 404, error: 'Not Found', message: 'vm x not found' });
    expect(normalizeErrorBody(400, { message: ['a is bad', 'b is bad'], error: 'Bad Request' }).message).toBe('a is bad; b is bad');
    expect(normalizeErrorBody(413, 'request entity too large')).toEqual({ statusCode: 413, error: 'Payload Too Large', message: 'request entity too large' });
    expect(normalizeErrorBody(400, { statusCode: 400, error: 'Bad Request', message: 'name: bad', errors: [{ field: 'name', reason: 'bad' }] }).errors).toEqual([{ field: 'name', reason: 'bad' }]);
  });
});

describe('normalizeErrorBody extras', () => {
  it("passes a conflict's facts through (state, vms)", () => {
    expect(normalizeErrorBody(409, { statusCode: 409, error: 'Conflict', message: 'cannot resume a VM that is running', state: 'running' })).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'cannot resume a VM that is running',
      state: 'running',
    });
    expect(normalizeErrorBody(409, { message: 'host has VMs', vms: [{ id: 'a', name: 'web-1', status: 'running' }] }).vms).toEqual([{ id: 'a', name: 'web-1', status: 'running' }]);
  });
});
