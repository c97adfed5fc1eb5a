export const SERVICE = 'migrator';
export { SCHEMA } from './persistence/entities';

/** Durable consumer names: <service>-<subject with dashes>. */
export const Durables = {
  migrationPlanned: 'migrator-migration-planned',
  migrationControl: 'migrator-migration-control',
  hostRegistered: 'migrator-host-registered',
  hostStateChanged: 'migrator-host-state-changed',
  hostRemoved: 'migrator-host-removed',
} as const;
