import { plannedMigrationStorage } from './migration-storage';

describe('plannedMigrationStorage', () => {
  it('moves a VM on the shared datastore with shared storage whatever was asked', () => {
    expect(plannedMigrationStorage('copy', 'shared')).toBe('shared');
    expect(plannedMigrationStorage('shared', 'shared')).toBe('shared');
  });

  it('keeps what was asked for a local VM (explicit or from before storage kinds existed)', () => {
    expect(plannedMigrationStorage('copy', 'local')).toBe('copy');
    expect(plannedMigrationStorage('copy', undefined)).toBe('copy');
    expect(plannedMigrationStorage('shared', 'local')).toBe('shared');
  });
});
