import { IsIn, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min } from 'class-validator';
import { VmState, VmStates } from '../vm-state';
import { BusEvent } from './base';

/** What a client can ask of an existing VM (POST /v1/vms/:id/actions, DELETE /v1/vms/:id). */
export const VmActions = ['start', 'stop', 'force-stop', 'reboot', 'suspend', 'resume', 'delete'] as const;
export type VmAction = (typeof VmActions)[number];

export const OperationStatuses = ['pending', 'running', 'succeeded', 'failed'] as const;
export type OperationStatus = (typeof OperationStatuses)[number];

/** Published by the gateway once an action passed the state machine; consumed by the provisioner. */
export class VmActionRequestedEvent extends BusEvent {
  @IsUUID()
  operationId!: string;

  @IsUUID()
  vmId!: string;

  @IsIn(VmActions as unknown as string[])
  action!: VmAction;

  /** Graceful stop: seconds to wait for the guest before forcing it off (default 60). */
  @IsOptional() @IsInt() @Min(1) @Max(3600)
  stopTimeoutSec?: number;
}

/** Published by the provisioner when it has finished an action, successfully or not. */
export class VmOperationFinishedEvent extends BusEvent {
  @IsUUID()
  operationId!: string;

  @IsUUID()
  vmId!: string;

  @IsIn(VmActions as unknown as string[])
  action!: VmAction;

  @IsIn(['succeeded', 'failed'])
  status!: 'succeeded' | 'failed';

  /** Why it failed, in words a person can act on. */
  @IsOptional() @IsString() @MaxLength(4000)
  error?: string;

  /** The VM's state after the action. */
  @IsOptional() @IsIn(VmStates as unknown as string[])
  state?: VmState;
}

/** Published by the provisioner when a host was removed from the platform. */
export class HostRemovedEvent extends BusEvent {
  @IsUUID()
  hostId!: string;
}

/** Request: enable or disable a host (rpc.provisioner.host.admin-state). */
export class HostAdminStateRequest {
  @IsUUID()
  hostId!: string;

  @IsIn(['enabled', 'disabled'])
  adminState!: 'enabled' | 'disabled';

  @IsOptional() @IsString() @MaxLength(500)
  reason?: string;
}

/** Request: remove a host that runs no VM (rpc.provisioner.host.remove). */
export class HostRemoveRequest {
  @IsUUID()
  hostId!: string;
}
