import { type Kysely, sql } from "kysely";
import {
  decodeEvidence,
  decodeReasons,
  encodeEvidence,
  encodeReasons,
  type ItemFacts,
} from "../../domain/review-item-codec.js";
import type { ReviewAccess } from "../../domain/review-types.js";

// Issue 16 (performance): a review item's reasons and evidence are kept compactly
// (domain/review-item-codec.ts): reasons whose words derive from the item's other facts as their code
// alone, the evidence as a short array. This rewrites the items of existing campaigns so; `down` writes
// them back as the JSON objects earlier versions read. It uses the codec of the day it runs, which reads
// every format it ever wrote (the objects included), so it stays right as the codec grows.
// Never edit after landing.

const PAGE = 1000;

interface Row {
  id: string;
  role: string | null;
  system: string | null;
  entitlement: string | null;
  assignment_id: string | null;
  created_at: string;
  reasons: string;
  evidence: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own day, not today's types.
async function rewrite(db: Kysely<any>, compact: boolean): Promise<void> {
  let after = "";
  for (;;) {
    const rows: Row[] = await db
      .selectFrom("review_items")
      .select(["id", "role", "system", "entitlement", "assignment_id", "created_at", "reasons", "evidence"])
      .where("id", ">", after)
      .orderBy("id")
      .limit(PAGE)
      .execute();
    const changed: Array<[string, string, string]> = [];
    for (const r of rows) {
      const access: ReviewAccess =
        r.role !== null
          ? { kind: "role", role: r.role }
          : { kind: "entitlement", system: r.system ?? "", entitlement: r.entitlement ?? "" };
      const facts: ItemFacts = { access, assignmentId: r.assignment_id, createdAt: r.created_at };
      const evidence = decodeEvidence(r.evidence, facts);
      const reasons = decodeReasons(r.reasons, evidence, facts);
      const next = compact
        ? { reasons: encodeReasons(reasons, evidence, facts), evidence: encodeEvidence(evidence, facts) }
        : { reasons: JSON.stringify(reasons), evidence: JSON.stringify(evidence) };
      if (next.reasons !== r.reasons || next.evidence !== r.evidence)
        changed.push([r.id, next.reasons, next.evidence]);
    }
    // One statement per page (a row at a time took 3 ms a row on PostgreSQL). VALUES names its columns
    // column1… in both SQLite and PostgreSQL.
    if (changed.length > 0) {
      const values = sql.join(changed.map((c) => sql`(${c[0]}, ${c[1]}, ${c[2]})`));
      await sql`update review_items set reasons = v.column2, evidence = v.column3
        from (values ${values}) as v where review_items.id = v.column1`.execute(db);
    }
    const last = rows.at(-1);
    if (rows.length < PAGE || last === undefined) return;
    after = last.id;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function up(db: Kysely<any>): Promise<void> {
  await rewrite(db, true);
}

// biome-ignore lint/suspicious/noExplicitAny: as above.
export async function down(db: Kysely<any>): Promise<void> {
  await rewrite(db, false);
}
