import { type IngestRowResult, ingestRecords, pushSourceOf } from "../../engine/ingest.js";
import { connectorPool } from "../../engine/provision.js";
import { pushFieldNames, unknownPushFields } from "../../sources/push/index.js";
import { BadRequestError } from "../api-errors.js";
import { requireConfirmer } from "../auth/mass-change-confirmer.js";
import type { RouteModule } from "../route-types.js";
import {
  pushRecordsBody,
  pushRecordsQuery,
  pushResultSchema,
  sourceNameParams,
} from "../schemas/source-schemas.js";

const STATUSES = ["created", "updated", "unchanged", "rehired", "terminated", "rejected"] as const;

/**
 * HR push: `POST /api/sources/{name}/records` takes one to MAX_RECORDS_PER_PUSH records into a
 * source of type push (`ingestRecords`: mapped and checked like CSV rows, applied at once). Answers
 * 200 when every record was accepted, 207 when some were rejected (the others were written), 422 when
 * all were (nothing changed) — each with the per-record results. A request that is wrong as a whole
 * (not JSON, wrong types, a field the source does not read, too many records) is a 400 in the error
 * shape and changes nothing; an unknown source 404, a source of another type 409, a body over
 * server.bodyLimit 413.
 *
 * Connectors stay open for the server's life, so a leaver's push pays no connection set-up.
 */
export const sourceRoutes: RouteModule = async (app, deps) => {
  const pool = connectorPool(deps.config);
  app.addHook("onClose", async () => {
    await pool.closeAll();
  });

  app.post(
    "/api/sources/:name/records",
    {
      config: { permission: "sources:push" },
      schema: {
        summary: "Push HR records: joiners, movers and leavers applied at once",
        description:
          'Body `{ "records": [ { "employeeId": "E1", … } ] }` — each record a person\'s whole record in the ' +
          "source's field names. 200: all accepted; 207: some rejected (the rest written); 422: all rejected " +
          "(nothing changed). The affected people's accounts are handled before the answer: a leaver's are " +
          "disabled. 404 unknown source, 409 `source_not_push`, `mass_change` (nothing written; error.planHash) or " +
          "`plan_changed`, 413 body too large; 403 when a token that is not an admin's sends confirmMassChange.",
        tags: ["sources"],
        params: sourceNameParams,
        querystring: pushRecordsQuery,
        body: pushRecordsBody,
        response: { 200: pushResultSchema, 207: pushResultSchema, 422: pushResultSchema },
      },
    },
    async (request, reply) => {
      // Pushing is HR's job; letting a mass change through is an admin's decision, taken before anything runs.
      if (request.query.confirmMassChange !== undefined) requireConfirmer(request.principal);
      const source = pushSourceOf(deps.config, request.params.name);
      const { records } = request.body;
      const unknown = unknownPushFields(source, records);
      const first = unknown[0];
      if (first !== undefined) {
        const more = unknown.length > 1 ? ` (and ${unknown.length - 1} more)` : "";
        throw new BadRequestError(
          `body.records.${first.row - 1}.${first.field}`,
          `unknown field${more}; a record of source ${source.name} has the fields ${pushFieldNames(source).join(", ")}`,
        );
      }
      const result = await ingestRecords(deps.store, deps.config, {
        source: source.name,
        rows: records,
        actor: request.principal?.actor ?? "api",
        now: deps.now(),
        ...(request.query.confirmMassChange !== undefined
          ? { confirmMassChange: request.query.confirmMassChange }
          : {}),
        connectors: pool,
      });
      const summary = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<
        IngestRowResult["status"],
        number
      >;
      for (const r of result.results) summary[r.status]++;
      const status = summary.rejected === 0 ? 200 : summary.rejected === result.results.length ? 422 : 207;
      return reply.code(status).send({
        source: source.name,
        summary,
        results: result.results,
        operations: result.operations,
        recomputed: result.recomputed.length,
        problems: result.problems,
      });
    },
  );
};
