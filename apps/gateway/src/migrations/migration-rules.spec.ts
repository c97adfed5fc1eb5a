import { controlRefusal, defaultMigrationStorage, isFinishedMigration, migrationRefusal, MigrationRequestFacts } from './migration-rules';

const HV1 = '11111111-1111-4111-8111-111111111111';
const HV2 = '22222222-2222-4222-8222-222222222222';
const facts = (over: Partial<MigrationRequestFacts> = {}): MigrationRequestFacts => ({
  mode: 'live',
  storage: 'copy',
  vm: { id: 'vm', name: 'web-1', status: 'running', hostId: HV1 },
  target: { id: HV2, name: 'hv2', state: 'up' },
  open: null,
  ...over,
});

describe('migrationRefusal (the 409 decision of POST /v1/vms/:id/migrate)', () => {
  it('accepts a running VM live and a stopped VM cold, with or without a target', () => {
    expect(migrationRefusal(facts())).toBeNull();
    expect(migrationRefusal(facts({ target: null }))).toBeNull();
    expect(migrationRefusal(facts({ mode: 'cold', vm: { id: 'vm', name: 'web-1', status: 'stopped', hostId: HV1 } }))).toBeNull();
  });

  it('moves a VM on the shared datastore with storage shared by default, and a local VM with copy', () => {
    expect(defaultMigrationStorage('shared')).toBe('shared');
    expect(defaultMigrationStorage('local')).toBe('copy');
    expect(defaultMigrationStorage(undefined)).toBe('copy');
    const shared = { id: 'vm', name: 'web-1', status: 'running' as const, hostId: HV1, storage: 'shared' as const };
    expect(migrationRefusal(facts({ vm: shared, storage: 'shared' }))).toBeNull();
  });

  it('refuses a storage that does not fit where the VM\'s disk is, saying what to use', () => {
    const shared = { id: 'vm', name: 'web-1', status: 'running' as const, hostId: HV1, storage: 'shared' as const };
    expect(migrationRefusal(facts({ vm: shared, storage: 'copy' }))).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'vm web-1 has its disk on the shared datastore: migrate it with storage "shared" (the default for it), not "copy"',
    });
    expect(migrationRefusal(facts({ storage: 'shared' }))?.message).toBe(
      'vm web-1 has a host-local disk (storage "local"): no other host sees it, so storage "shared" cannot move it; use "copy" (the default)',
    );
  });

  it('names the state when the mode does not fit it', () => {
    expect(migrationRefusal(facts({ vm: { id: 'vm', name: 'web-1', status: 'stopped', hostId: HV1 } }))).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'cannot live-migrate a VM that is stopped (a live migration needs a running VM)',
      state: 'stopped',
    });
    expect(migrationRefusal(facts({ mode: 'cold' }))?.message).toBe('cannot cold-migrate a VM that is running (a cold migration needs a stopped VM)');
    expect(migrationRefusal(facts({ vm: { id: 'vm', name: 'web-1', status: 'migrating', hostId: HV1 } }))?.state).toBe('migrating');
  });

  it('refuses a VM without host, the VM\'s own host as target, and a target that is not up', () => {
    expect(migrationRefusal(facts({ vm: { id: 'vm', name: 'web-1', status: 'running', hostId: null } }))?.message).toBe('vm web-1 has no host to migrate from');
    expect(migrationRefusal(facts({ target: { id: HV1, name: 'hv1', state: 'up' } }))?.message).toBe('vm web-1 already runs on host hv1');
    expect(migrationRefusal(facts({ target: { id: HV2, name: 'hv2', state: 'disabled' } }))).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: 'target host hv2 is disabled (it must be up)',
      hostState: 'disabled',
    });
    expect(migrationRefusal(facts({ target: { id: HV2, name: 'hv2', state: 'down' } }))?.hostState).toBe('down');
  });

  it('names the unfinished migration of the VM first', () => {
    const r = migrationRefusal(facts({ open: { id: 'm-1', state: 'planned' }, vm: { id: 'vm', name: 'web-1', status: 'migrating', hostId: HV1 } }));
    expect(r).toEqual({ statusCode: 409, error: 'Conflict', message: 'vm web-1 already has an unfinished migration m-1 (planned)', migrationId: 'm-1', state: 'planned' });
  });
});

describe('controlRefusal', () => {
  it('lets an unfinished migration be cancelled or forced, never a finished one', () => {
    for (const state of ['requested', 'planned', 'running'] as const) expect(controlRefusal('cancel', { id: 'm', state })).toBeNull();
    expect(controlRefusal('cancel', { id: 'm', state: 'completed' })).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot cancel migration m: it is already completed', state: 'completed' });
    expect(controlRefusal('force-complete', { id: 'm', state: 'cancelled' })?.message).toBe('cannot force-complete migration m: it is already cancelled');
    expect(isFinishedMigration('failed')).toBe(true);
    expect(isFinishedMigration('running')).toBe(false);
  });
});
