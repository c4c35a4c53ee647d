import { z } from "zod";

export const lastReconcileSchema = z.object({
  at: z.string(),
  accounts: z.number().int(),
  correlated: z.number().int(),
  orphans: z.number().int(),
  adopted: z.number().int(),
  vanished: z.number().int(),
  unmanagedEntitlements: z.number().int(),
  missingEntitlements: z.number().int(),
});

export const systemSchema = z
  .object({
    name: z.string(),
    connector: z.string(),
    owner: z.string().nullable(),
    policy: z.object({ drift: z.enum(["enforce", "report"]), orphans: z.enum(["report", "disable"]) }),
    health: z.object({
      status: z.enum(["ok", "unreachable"]),
      message: z.string().nullable().describe("why it is unreachable"),
      checkedInMs: z.number().int(),
    }),
    lastReconcile: lastReconcileSchema.nullable(),
    counts: z
      .object({
        accounts: z.number().int(),
        orphans: z.number().int().describe("accounts that belong to no identity"),
        drift: z
          .number()
          .int()
          .describe(
            "entitlements held but not granted by Tenure, granted but gone, and managed accounts gone",
          ),
      })
      .describe("from the accounts Tenure knows, as the last reconcile and the applied operations left them"),
  })
  .meta({ id: "System" });

export const systemNameParams = z.strictObject({ name: z.string().min(1).max(200) });
