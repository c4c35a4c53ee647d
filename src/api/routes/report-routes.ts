import { z } from "zod";
import { InvalidInputError } from "../../shared/errors.js";
import { REPORTS, reportDefinition } from "../../workflows/report-registry.js";
import { renderReport } from "../../workflows/report-render.js";
import type { RouteModule } from "../route-types.js";
import { reportListing, reportNameParams, reportRunQuery, reportSchema } from "../schemas/report-schemas.js";

const CONTENT_TYPES = { csv: "text/csv; charset=utf-8", html: "text/html; charset=utf-8" } as const;

/** Evidence reports (docs/reports.md): the same as `tenure report`, for auditors and admins. */
export const reportRoutes: RouteModule = async (app, deps) => {
  const tags = ["reports"];

  app.get(
    "/api/reports",
    {
      config: { permission: "audit:read" },
      schema: { summary: "The evidence reports there are", tags, response: { 200: reportListing } },
    },
    async () => ({
      reports: REPORTS.map(({ name, title, description, period }) => ({ name, title, description, period })),
    }),
  );

  app.get(
    "/api/reports/:name",
    {
      config: { permission: "audit:read" },
      schema: {
        summary: "One report as JSON, CSV or a self-contained HTML file, for a period where it has one",
        tags,
        params: reportNameParams,
        querystring: reportRunQuery,
        response: { 200: z.union([reportSchema, z.string()]) },
      },
    },
    async (request, reply) => {
      const definition = reportDefinition(request.params.name);
      const q = request.query;
      const from = q.from === undefined ? undefined : new Date(q.from);
      const to = q.to === undefined ? undefined : new Date(q.to);
      if (from !== undefined && to !== undefined && from >= to)
        throw new InvalidInputError(`from ${q.from} is not before to ${q.to}`);
      const report = await definition.run(deps.store, deps.config, {
        now: deps.now(),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
      });
      if (q.format === "json") return { ...report, columns: [...report.columns] };
      return reply
        .header("content-type", CONTENT_TYPES[q.format])
        .header("content-disposition", `attachment; filename="${report.name}.${q.format}"`)
        .send(renderReport(report, q.format));
    },
  );
};
