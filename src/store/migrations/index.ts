import type { Migration, MigrationProvider } from "kysely";
import * as foundation from "./2026-11-21T00-00-foundation.js";
import * as provisioning from "./2026-11-21T01-00-provisioning.js";
import * as operationClaimIndex from "./2026-11-21T01-30-operation-claim-index.js";
import * as manualTasks from "./2026-11-21T02-00-manual-tasks.js";
import * as apiTokens from "./2026-11-21T03-00-api-tokens.js";
import * as notifications from "./2026-11-21T04-00-notifications.js";
import * as scimResources from "./2026-11-21T05-00-scim-resources.js";
import * as scheduleRuns from "./2026-11-21T06-00-schedule-runs.js";
import * as claimOwners from "./2026-12-03T08-00-claim-owners.js";
import * as runLocks from "./2026-12-03T09-00-run-locks.js";
import * as accountCredentialEmployment from "./2026-12-03T10-00-account-credential-employment.js";
import * as identityListing from "./2026-12-03T11-00-identity-listing.js";
import * as unprovisioned from "./2026-12-03T12-00-unprovisioned.js";
import * as consoleSessions from "./2026-12-03T13-00-console-sessions.js";
import * as identitySearchIndex from "./2026-12-04T00-00-identity-search-index.js";
import * as listIndexes from "./2026-12-04T00-30-list-indexes.js";
import * as accessRequests from "./2026-12-04T01-00-access-requests.js";
import * as tokenIdentity from "./2026-12-04T01-30-token-identity.js";
import * as assignmentEnds from "./2026-12-04T04-00-assignment-ends.js";
import * as workflowEvents from "./2026-12-04T05-00-workflow-events.js";
import * as delegations from "./2026-12-04T05-30-delegations.js";
import * as sod from "./2026-12-04T07-00-sod.js";
import * as identityKeyIndex from "./2026-12-04T08-00-identity-key-index.js";
import * as reviews from "./2026-12-04T10-00-reviews.js";
import * as reviewPartialIndexes from "./2026-12-04T11-00-review-partial-indexes.js";
import * as ledgerHeads from "./2026-12-04T13-00-ledger-heads.js";
import * as configVersions from "./2026-12-04T14-30-config-versions.js";
import * as nhiRotations from "./2026-12-04T16-00-nhi-rotations.js";
import * as nonHumanIdentities from "./2026-12-04T17-00-non-human-identities.js";
import * as accessCheckpoints from "./2026-12-04T18-00-access-checkpoints.js";
import * as nhiUsageOwner from "./2026-12-05T11-00-nhi-usage-owner.js";
import * as nhiAccountHolds from "./2026-12-05T12-00-nhi-account-holds.js";
import * as operationTrace from "./2026-12-05T17-00-operation-trace.js";
import * as accessCheckpointSlices from "./2026-12-05T18-00-access-checkpoint-slices.js";
import * as sodScanJsonb from "./2026-12-05T19-00-sod-scan-jsonb.js";
import * as nhiInventoryDigest from "./2026-12-06T10-00-nhi-inventory-digest.js";
import * as reviewCompactItems from "./2026-12-06T11-00-review-compact-items.js";
import * as sourceRunsCounts from "./2026-12-06T14-00-source-runs-counts.js";
import * as reviewItemPacks from "./2026-12-07T10-00-review-item-packs.js";
import * as identitySourceEmailIndex from "./2026-12-08T10-00-identity-source-email-index.js";
import * as reviewPacksLz4 from "./2026-12-09T10-00-review-packs-lz4.js";
import * as operationOpenIdentityIndex from "./2026-12-10T10-00-operation-open-identity-index.js";

/** Every migration, in order. Names are timestamped; a landed migration is never edited. */
const MIGRATIONS: Record<string, Migration> = {
  "2026-11-21T00-00-foundation": foundation,
  "2026-11-21T01-00-provisioning": provisioning,
  "2026-11-21T01-30-operation-claim-index": operationClaimIndex,
  "2026-11-21T02-00-manual-tasks": manualTasks,
  "2026-11-21T03-00-api-tokens": apiTokens,
  "2026-11-21T04-00-notifications": notifications,
  "2026-11-21T05-00-scim-resources": scimResources,
  "2026-11-21T06-00-schedule-runs": scheduleRuns,
  "2026-12-03T08-00-claim-owners": claimOwners,
  "2026-12-03T09-00-run-locks": runLocks,
  "2026-12-03T10-00-account-credential-employment": accountCredentialEmployment,
  "2026-12-03T11-00-identity-listing": identityListing,
  "2026-12-03T12-00-unprovisioned": unprovisioned,
  "2026-12-03T13-00-console-sessions": consoleSessions,
  "2026-12-04T00-00-identity-search-index": identitySearchIndex,
  "2026-12-04T00-30-list-indexes": listIndexes,
  "2026-12-04T01-00-access-requests": accessRequests,
  "2026-12-04T01-30-token-identity": tokenIdentity,
  "2026-12-04T04-00-assignment-ends": assignmentEnds,
  "2026-12-04T05-00-workflow-events": workflowEvents,
  "2026-12-04T05-30-delegations": delegations,
  "2026-12-04T07-00-sod": sod,
  "2026-12-04T08-00-identity-key-index": identityKeyIndex,
  "2026-12-04T10-00-reviews": reviews,
  "2026-12-04T11-00-review-partial-indexes": reviewPartialIndexes,
  "2026-12-04T13-00-ledger-heads": ledgerHeads,
  "2026-12-04T18-00-access-checkpoints": accessCheckpoints,
  "2026-12-04T14-30-config-versions": configVersions,
  "2026-12-04T16-00-nhi-rotations": nhiRotations,
  "2026-12-04T17-00-non-human-identities": nonHumanIdentities,
  "2026-12-05T11-00-nhi-usage-owner": nhiUsageOwner,
  "2026-12-05T12-00-nhi-account-holds": nhiAccountHolds,
  "2026-12-05T17-00-operation-trace": operationTrace,
  "2026-12-05T18-00-access-checkpoint-slices": accessCheckpointSlices,
  "2026-12-05T19-00-sod-scan-jsonb": sodScanJsonb,
  "2026-12-06T10-00-nhi-inventory-digest": nhiInventoryDigest,
  "2026-12-06T11-00-review-compact-items": reviewCompactItems,
  "2026-12-06T14-00-source-runs-counts": sourceRunsCounts,
  "2026-12-07T10-00-review-item-packs": reviewItemPacks,
  "2026-12-08T10-00-identity-source-email-index": identitySourceEmailIndex,
  "2026-12-09T10-00-review-packs-lz4": reviewPacksLz4,
  "2026-12-10T10-00-operation-open-identity-index": operationOpenIdentityIndex,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};

export const LATEST_MIGRATION = Object.keys(MIGRATIONS).at(-1) ?? "";

/** Tenure's first migration: a database whose migration table records it holds Tenure's schema. */
export const FIRST_MIGRATION = Object.keys(MIGRATIONS)[0] ?? "";
