import { parentPort, workerData } from "node:worker_threads";
import type { PeerCounts } from "../domain/review-scope.js";
import { identityInScope, itemInScope } from "../domain/review-scope.js";
import type { ReviewDefinition } from "../domain/review-types.js";
import { type IdRange, loadReviewAccess } from "../engine/review-access.js";
import { loadConfig } from "../policy/config-loader.js";
import { openStore } from "../store/database.js";
import { campaignDefinition } from "./review-generation.js";
import { campaignPeople, firstRule, resolveNamed, type ScoredPack, scoreSubjects } from "./review-scoring.js";
import { configDigest, type PartMessage, type PartRequest } from "./review-split.js";

/**
 * The worker thread of a campaign split in two (workflows/review-split.ts): it loads the configuration
 * and opens the store again, reads and computes its part of the population, reports its peer counts,
 * then scores its part with everyone's counts and sends its packs to the thread that writes the
 * campaign. It writes nothing itself.
 */

const port = parentPort!;
const input = workerData as PartRequest;
const post = (m: PartMessage) => port.postMessage(m);

async function run(): Promise<void> {
  const config = await loadConfig(input.configPath, { env: process.env });
  if (configDigest(config) !== input.configDigest) {
    post({ type: "refused", why: "the configuration read again differs from the campaign's" });
    return;
  }
  const store = await openStore(input.storeUrl, { migrate: false });
  try {
    const definition: ReviewDefinition = campaignDefinition(config, input.definition);
    const scope = definition.scope;
    const now = new Date(input.now);
    const part: IdRange = input.part;
    const data = await loadReviewAccess(store.db, config, now, {
      withRoles: scope.roles.length > 0,
      select: {
        identity: (identity) => identityInScope(identity, scope),
        candidate: (c) => itemInScope(c, scope),
      },
      part,
    });
    const people = campaignPeople(store.db, data);
    const items = await resolveNamed(data.subjects, config, firstRule(definition), people);
    post({ type: "loaded", counts: data.peers.counts(), items, subjects: data.subjects.length });
    const counts = await new Promise<PeerCounts>((resolve) =>
      port.once("message", (m: { counts: PeerCounts }) => resolve(m.counts)),
    );
    data.peers.merge(counts);
    const totals = await scoreSubjects(
      data.subjects,
      { config, definition, data, people, nowIso: now.toISOString(), nowMs: now.getTime() },
      async (packs: ScoredPack[]) => {
        // Tests fail the thread here, to see the campaign's transaction leave nothing behind.
        if (process.env.TENURE_TEST_SPLIT_FAIL === "scoring")
          throw new Error("failed on purpose while scoring");
        post({ type: "packs", packs });
      },
    );
    const reviewers = [...totals.byReviewer.keys()]
      .filter((id): id is string => id !== null)
      .map((id) => people.byId.get(id))
      .filter((i) => i !== undefined);
    post({ type: "done", totals, reviewers });
  } finally {
    await store.close();
  }
}

run().catch((error: unknown) => {
  post({ type: "error", message: error instanceof Error ? error.message : String(error) });
});
