import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { HostState } from '@minicloud/contracts';
import { SCHEMA } from '../constants';

/**
 * A host to collect from, learned from host.registered (the collector never reads another service's schema).
 * `state` follows host.state-changed (ours and others'), ordered by `stateAt`.
 */
@Entity({ schema: SCHEMA, name: 'hosts' })
export class MetricsHostRow {
  @PrimaryColumn('uuid') id: string;
  @Column('text') name: string;
  @Column('text') address: string;
  @Column('int', { name: 'ssh_port' }) sshPort: number;
  @Column('text', { name: 'ssh_user' }) sshUser: string;
  @Column('text') state: HostState;
  @Column('text', { name: 'state_reason' }) stateReason: string;
  @Column('timestamptz', { name: 'state_at' }) stateAt: Date;
  @Column('timestamptz', { name: 'registered_at' }) registeredAt: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt: Date;
}

export const METRICS_ENTITIES = [MetricsHostRow];
