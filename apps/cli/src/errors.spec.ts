import { ApiError, describeError, exitCodeFor, ExitCode, NetworkError, OperationFailedError, RefusedError, toErrorBody, UsageError, WaitTimeoutError } from './errors';

describe('exit codes', () => {
  it('maps each kind of failure to its documented code', () => {
    const body = (s: number) => toErrorBody(s, { statusCode: s, error: 'x', message: 'm' });
    expect(exitCodeFor(new ApiError(400, body(400), 'POST', 'u', {}))).toBe(ExitCode.Refused);
    expect(exitCodeFor(new ApiError(404, body(404), 'GET', 'u', {}))).toBe(1);
    expect(exitCodeFor(new ApiError(409, body(409), 'POST', 'u', {}))).toBe(1);
    expect(exitCodeFor(new UsageError('bad'))).toBe(2);
    expect(exitCodeFor(new ApiError(500, body(500), 'GET', 'u', {}))).toBe(3);
    expect(exitCodeFor(new ApiError(503, body(503), 'GET', 'u', {}))).toBe(3);
    expect(exitCodeFor(new NetworkError('ECONNREFUSED', 'GET', 'http://h:1/v1/vms', 'connect ECONNREFUSED'))).toBe(3);
    expect(exitCodeFor(new OperationFailedError('boom', {}))).toBe(4);
    expect(exitCodeFor(new WaitTimeoutError('slow', {}))).toBe(5);
    expect(exitCodeFor(new RefusedError('no VM named x'))).toBe(1);
    expect(exitCodeFor(new Error('anything else'))).toBe(3);
  });
});

describe('toErrorBody', () => {
  it("keeps the gateway's body with its field reasons", () => {
    const b = toErrorBody(400, { statusCode: 400, error: 'Bad Request', message: 'vcpus: must not be less than 1', errors: [{ field: 'vcpus', reason: 'must not be less than 1' }] });
    expect(b).toEqual({ statusCode: 400, error: 'Bad Request', message: 'vcpus: must not be less than 1', errors: [{ field: 'vcpus', reason: 'must not be less than 1' }] });
  });

  it("joins Nest's default message arrays", () => {
    expect(toErrorBody(400, { message: ['a is bad', 'b is bad'], error: 'Bad Request', statusCode: 400 }).message).toBe('a is bad; b is bad');
  });

  it('turns a non-JSON answer (a proxy page) into a message', () => {
    expect(toErrorBody(502, '<html>Bad gateway</html>\n')).toEqual({ statusCode: 502, error: 'HTTP 502', message: '<html>Bad gateway</html>' });
    expect(toErrorBody(500, '').message).toBe('HTTP 500');
  });
});

describe('describeError', () => {
  it("prints the server's message, status and every field reason", () => {
    const err = new ApiError(400, toErrorBody(400, { statusCode: 400, error: 'Bad Request', message: 'invalid body', errors: [{ field: 'name', reason: 'name must be ...' }, { field: 'vcpus', reason: 'too small' }] }), 'POST', 'u', {});
    expect(describeError(err)).toEqual(['error: invalid body (400 Bad Request)', '  name: name must be ...', '  vcpus: too small']);
  });

  it('says where it tried when the connection is refused', () => {
    const lines = describeError(new NetworkError('ECONNREFUSED', 'GET', 'http://127.0.0.1:9/v1/vms', 'connect ECONNREFUSED 127.0.0.1:9'));
    expect(lines[0]).toContain('http://127.0.0.1:9');
    expect(lines[0]).toContain('connection refused');
    expect(lines[0]).toContain('GET http://127.0.0.1:9/v1/vms');
    expect(lines[0]).toContain('MINICLOUD_API');
  });

  it('points usage errors at the right help', () => {
    expect(describeError(new UsageError('missing ID', 'vm show'))).toEqual(['usage error: missing ID', 'Run "minicloud vm show --help" for usage.']);
  });
});
