import { makeEvent, Subjects } from '@minicloud/contracts';
import { hostRows, vmRows } from './ingest.service';

const H = '00000000-0000-4000-8000-000000000001';
const VM = '00000000-0000-4000-8000-0000000000f1';

describe('ingest row mapping', () => {
  it('stores a failed round with its error and no values, whatever the message carries', () => {
    const e = { ...makeEvent(Subjects.HostMetrics, { hostId: H, error: 'timeout: no answer', cpuPercent: 0 }) };
    const { rows } = hostRows([e], 0);
    expect(rows).toEqual([{ hostId: H, collectedAt: new Date(e.occurredAt), values: {}, error: 'timeout: no answer' }]);
  });

  it('keeps absent values absent (NULL), not 0', () => {
    const e = makeEvent(Subjects.HostMetrics, { hostId: H, load1: 0.5, memoryTotalMiB: 1024 });
    const [row] = hostRows([e], 0).rows;
    expect(row.values.load1).toBe(0.5);
    expect(row.values.cpuPercent).toBeUndefined();
    expect(row.error).toBeUndefined();
  });

  it('skips samples older than the raw retention and counts them', () => {
    const old = { ...makeEvent(Subjects.HostMetrics, { hostId: H, load1: 1 }), occurredAt: '2020-01-01T00:00:00.000Z' };
    expect(hostRows([old], Date.parse('2021-01-01T00:00:00Z'))).toEqual({ rows: [], tooOld: 1 });
  });

  it('stores minicloud VMs by id and leaves other domains on the bus only', () => {
    const e = makeEvent(Subjects.VmMetrics, { hostId: H, vms: [{ domain: `mc-${VM}`, vmId: VM, state: 'running', cpuPercent: 12 }, { domain: 'dbg', state: 'running' }] });
    const r = vmRows([e], 0);
    expect(r.foreign).toBe(1);
    expect(r.rows).toEqual([{ vmId: VM, hostId: H, collectedAt: new Date(e.occurredAt), state: 'running', values: expect.objectContaining({ cpuPercent: 12 }) }]);
  });
});
