import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { AutomationLevels, RecommendationListRequest } from '@minicloud/contracts';
import { AUTOMATION_LEVELS, RECOMMENDATION_STATES } from './commands';
import type { Migration } from './migration-format';
import { maintenanceLine, maintenanceText, observeMaintenance, plannerSettingsDetails, Recommendation, recommendationRow } from './planner-format';

const HV1 = '11111111-1111-4111-8111-111111111111';
const HV2 = '22222222-2222-4222-8222-222222222222';
const names = new Map([[HV1, 'hv1'], [HV2, 'hv2']]);
const MiB = 1024 * 1024;

describe('planner choices', () => {
  it("are the API's", () => {
    expect([...AUTOMATION_LEVELS].sort()).toEqual([...AutomationLevels].sort());
    for (const state of RECOMMENDATION_STATES) expect(validateSync(plainToInstance(RecommendationListRequest, { state }))).toEqual([]);
    expect(validateSync(plainToInstance(RecommendationListRequest, { state: 'pending' }))).toHaveLength(1);
  });
});

describe('recommendations and settings', () => {
  const rec: Recommendation = {
    id: 'r-1',
    kind: 'hot-spot',
    vmId: 'vm-1',
    sourceHostId: HV1,
    targetHostId: HV2,
    reason: 'hv1 above the CPU cap for 3 rounds',
    gapBefore: 0.6123,
    gapAfter: null,
    state: 'applied',
    migrationId: 'm-1',
    createdAt: '2026-01-01T00:00:00.000Z',
  };

  it('shows a row with host names, the gap (unknown parts as ?) and the migration', () => {
    expect(recommendationRow(rec, names)).toEqual(['r-1', 'hot-spot', 'vm-1', 'hv1', 'hv2', '0.61 → ?', 'applied', 'm-1', '2026-01-01T00:00:00.000Z', 'hv1 above the CPU cap for 3 rounds']);
    expect(recommendationRow({ ...rec, gapBefore: null }, new Map())[3]).toBe(HV1);
    expect(recommendationRow({ ...rec, gapBefore: null })[5]).toBeNull();
  });

  it('describes the settings', () => {
    const text = plannerSettingsDetails({ automation: 'automatic', consolidation: true, balanceThreshold: 0.25, hotSpotRounds: 1, cooldownSeconds: 600, intervalSeconds: 30 });
    expect(text).toMatch(/^automation: +automatic \(the planner starts its migrations\)$/m);
    expect(text).toMatch(/^consolidation: +on$/m);
    expect(text).toMatch(/^hot spot after: +1 round above a cap$/m);
    expect(text).toMatch(/^cooldown: +600s$/m);
  });
});

describe('host maintenance', () => {
  it('prints the drain with its migrations and blocked VMs; exit in one line', () => {
    expect(maintenanceText({ hostId: HV1, state: 'draining', remainingVms: 1, migrationIds: ['m-1', 'm-2'], blocked: [{ vmId: 'vm-3', reason: 'no room' }], timedOut: [{ vmId: 'vm-4', migrationId: 'm-0', reason: 'did not end within 900 s' }] }, 'hv1')).toBe(
      'Host hv1: draining, 1 VM remaining, 2 migrations planned\n  migration m-1\n  migration m-2\n  blocked: VM vm-3: no room\n  timed out: VM vm-4 (migration m-0): did not end within 900 s\n',
    );
    expect(maintenanceText({ hostId: HV1, state: 'up', remainingVms: 0, migrationIds: [], blocked: [], timedOut: [] }, 'hv1')).toBe('Host hv1: up\n');
  });

  it('says what is left while draining, with each running migration off (or onto) the host', () => {
    const m = (over: Partial<Migration>) => ({ id: 'm', vmId: 'vm-1', sourceHostId: HV1, targetHostId: HV2, stage: 'pre-copy', progress: null, ...over }) as Migration;
    const poll = { host: { id: HV1, state: 'up', vmCount: 2 }, migrations: [m({ progress: { memoryProcessedBytes: 128 * MiB, memoryTotalBytes: 512 * MiB } as Migration['progress'] }), m({ vmId: 'vm-2', sourceHostId: HV2, targetHostId: HV1 })] };
    expect(maintenanceLine(poll, 'maintenance', names)).toBe('draining (host up), 2 VMs on it, 2 migrations running: vm-1 → hv2 25%, vm-2 ← hv2 pre-copy');
    expect(maintenanceLine({ host: { id: HV1, state: 'maintenance', vmCount: 0 }, migrations: [] }, 'maintenance')).toBe('maintenance');
    expect(maintenanceLine({ host: { id: HV1, state: 'maintenance' }, migrations: [] }, 'up')).toBe('maintenance, 0 migrations running');
  });

  it('is done when the host (read model) reaches the target state', () => {
    expect(observeMaintenance('maintenance')({ host: { id: HV1, state: 'up' }, migrations: [] })).toEqual({ state: 'up', done: false, ok: false });
    expect(observeMaintenance('maintenance')({ host: { id: HV1, state: 'maintenance' }, migrations: [] })).toEqual({ state: 'maintenance', done: true, ok: true });
    expect(observeMaintenance('up')({ host: { id: HV1, state: 'up' }, migrations: [] }).done).toBe(true);
  });
});
