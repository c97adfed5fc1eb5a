import { HostMaintenanceController, PlannerSettingsController, RecommendationsController } from './planner/planner.controller';
import { PlannerService } from './planner/planner.service';

/**
 * Issue 6 (the migration planner's recommendations and settings, host maintenance: REST over scheduler RPCs),
 * wired into AppModule by these lists. PLANNER_CONTROLLERS go before MIGRATION_CONTROLLERS: routes are matched in
 * registration order, and GET /v1/migrations/recommendations must not reach GET /v1/migrations/:id.
 */
export const PLANNER_CONTROLLERS = [RecommendationsController, PlannerSettingsController, HostMaintenanceController];
export const PLANNER_PROVIDERS = [PlannerService];
