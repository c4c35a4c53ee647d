import type { RouteModule } from "../route-types.js";
import { scimRoutes } from "../scim/scim-routes.js";
import { auditHistoryRoutes } from "./audit-history-routes.js";
import { auditRoutes } from "./audit-routes.js";
import { dashboardRoutes } from "./dashboard-routes.js";
import { healthRoutes } from "./health-routes.js";
import { identityRoutes } from "./identity-routes.js";
import { metricsRoutes } from "./metrics-routes.js";
import { nhiRoutes } from "./nhi-routes.js";
import { operationRoutes } from "./operation-routes.js";
import { planRoutes } from "./plan-routes.js";
import { provenanceRoutes } from "./provenance-routes.js";
import { reportRoutes } from "./report-routes.js";
import { requestRoutes } from "./request-routes.js";
import { reviewRoutes } from "./review-routes.js";
import { runRoutes } from "./run-routes.js";
import { sessionRoutes } from "./session-routes.js";
import { sodRoutes } from "./sod-routes.js";
import { sourceRoutes } from "./source-routes.js";
import { systemRoutes } from "./system-routes.js";
import { workflowRoutes } from "./workflow-routes.js";

/** Every route module of the API, in the order they are registered. Add a line to add a module. */
export const API_ROUTE_MODULES: readonly RouteModule[] = [
  healthRoutes,
  metricsRoutes,
  sessionRoutes,
  dashboardRoutes,
  identityRoutes,
  systemRoutes,
  operationRoutes,
  planRoutes,
  runRoutes,
  sourceRoutes,
  auditRoutes,
  provenanceRoutes,
  auditHistoryRoutes,
  requestRoutes,
  workflowRoutes,
  sodRoutes,
  reviewRoutes,
  nhiRoutes,
  reportRoutes,
  scimRoutes,
];
