import type { OperationStatus } from '@minicloud/contracts';
import type { OperationAction, OperationRow } from '../db/lifecycle.entities';

export interface OperationView {
  id: string;
  vmId: string;
  action: OperationAction;
  status: OperationStatus;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export function toOperationView(row: OperationRow): OperationView {
  return {
    id: row.id,
    vmId: row.vmId,
    action: row.action,
    status: row.status,
    error: row.error,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    finishedAt: row.finishedAt ? new Date(row.finishedAt).toISOString() : null,
  };
}
