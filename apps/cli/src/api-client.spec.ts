import { buildUrl, isRetryableNetworkError, normalizeBaseUrl } from './api-client';
import { NetworkError } from './errors';

describe('api client helpers', () => {
  it('builds URLs with encoded query values and drops empty ones', () => {
    expect(buildUrl('http://h:8080/', '/v1/vms', { status: 'running', host: 'hv 1', limit: 5, offset: undefined })).toBe('http://h:8080/v1/vms?status=running&host=hv%201&limit=5');
    expect(buildUrl('http://h:8080', '/v1/hosts')).toBe('http://h:8080/v1/hosts');
  });

  it('accepts http(s) base URLs only', () => {
    expect(normalizeBaseUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080');
    expect(normalizeBaseUrl('https://cloud.example/api')).toBe('https://cloud.example/api');
    expect(() => normalizeBaseUrl('127.0.0.1:8080')).toThrow(/http/);
    expect(() => normalizeBaseUrl('ftp://x')).toThrow(/http/);
    expect(() => normalizeBaseUrl('http://x/?a=1')).toThrow(/query/);
  });

  it('retries only a connection that broke mid-request, never a refused one', () => {
    expect(isRetryableNetworkError(new NetworkError('ECONNRESET', 'POST', 'u', 'read ECONNRESET'))).toBe(true);
    expect(isRetryableNetworkError(new NetworkError('ERROR', 'POST', 'u', 'socket hang up'))).toBe(true);
    expect(isRetryableNetworkError(new NetworkError('ECONNREFUSED', 'POST', 'u', 'connect ECONNREFUSED'))).toBe(false);
    expect(isRetryableNetworkError(new Error('x'))).toBe(false);
  });
});
