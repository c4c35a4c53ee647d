import { z } from "zod";
import { NotFoundError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { withAccountHolds } from "../../workflows/nhi-hold-view.js";
import { listOwnedNhiViews } from "../../workflows/nhi-owned.js";
import { assignNhiOwner } from "../../workflows/nhi-owner.js";
import { rotateNhi } from "../../workflows/nhi-rotate.js";
import { confirmNhiOwnership } from "../../workflows/nhi-succession.js";
import { listNhiViews } from "../../workflows/nhi-view.js";
import type { RouteModule } from "../route-types.js";
import { actingPerson, actorOf } from "./acting-person.js";

const finding = z.object({ nhi: z.string(), code: z.string(), severity: z.string(), message: z.string() });

const accountHold = z
  .object({
    system: z.string().nullable(),
    username: z.string().nullable(),
    state: z
      .enum(["held", "unenforced"])
      .describe("held: Tenure disabled the account (or found it disabled); unenforced: it cannot"),
    why: z
      .string()
      .nullable()
      .describe("why it cannot be disabled, or the caveat of a disable that only flags"),
    wasEnabled: z.boolean().nullable(),
    heldAt: z.string(),
    reason: z.string().describe("why the NHI was disabled"),
  })
  .meta({ id: "NhiAccountHold" });

const accountOutcome = z.object({
  name: z.string(),
  system: z.string().nullable(),
  username: z.string().nullable(),
  outcome: z.enum(["disable-queued", "held", "unenforced", "disable-requeued", "enable-queued", "released"]),
  detail: z.string().nullable(),
  operationId: z.string().nullable(),
});

const nhiSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string(),
    status: z.string(),
    system: z.string().nullable(),
    purpose: z.string().nullable(),
    origin: z.string(),
    account: z.string().nullable(),
    owner: z.string().nullable().describe("the owner in force, by HR key"),
    ownerKey: z.string().nullable().describe("the owner as the inventory names it"),
    ownerAssignment: z
      .object({ at: z.string(), by: z.string(), coOwnerKeys: z.array(z.string()) })
      .nullable()
      .describe("an owner assigned by hand, in force over the inventory's owner until that changes"),
    pendingOwner: z.string().nullable(),
    pendingOwnerId: z.string().nullable().describe("whom ownership is passing to, by identity id"),
    pendingDeadline: z.string().nullable(),
    coOwnerKeys: z.array(z.string()).describe("co-owners as the inventory names them"),
    coOwners: z.array(z.string()).describe("the co-owners in force (assigned, else the inventory's)"),
    createdOn: z.string().nullable(),
    lastRotatedAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable().describe("when the credential was last used; null: unknown"),
    scopes: z.array(z.string()),
    scopeLastUsed: z.record(z.string(), z.string()).describe("scope → when last used, where known"),
    entitlements: z.array(z.string()),
    disabledReason: z.string().nullable(),
    accountHold: accountHold
      .nullable()
      .describe("a disabled NHI's account, held disabled in its target (or found impossible to disable)"),
    findings: z.array(finding).describe("including disable_unenforced: disabled, its credential not"),
  })
  .meta({ id: "NonHumanIdentity" });

const nameParams = z.object({ name: z.string().min(1) });

/** Non-human identities (docs/nhi.md): the inventory with findings, ownership confirmed, credentials rotated. */
export const nhiRoutes: RouteModule = async (app, deps) => {
  const tags = ["nhi"];
  const shown = (v: Awaited<ReturnType<typeof withAccountHolds>>[number]) => ({
    ...v,
    coOwnerKeys: [...v.coOwnerKeys],
    coOwners: [...v.coOwners],
    ownerAssignment:
      v.ownerAssignment === null
        ? null
        : { ...v.ownerAssignment, coOwnerKeys: [...v.ownerAssignment.coOwnerKeys] },
    scopeLastUsed: { ...v.scopeLastUsed },
    scopes: [...v.scopes],
    entitlements: [...v.entitlements],
  });

  app.get(
    "/api/nhi",
    {
      config: { permission: "nhi:read" },
      schema: {
        summary:
          "Every non-human identity, with its owner, status and findings (no owner, old credential, expiring, scope)",
        tags,
        querystring: z.strictObject({
          all: z.enum(["true", "false"]).optional().describe("include removed ones"),
        }),
        response: { 200: z.object({ nhis: z.array(nhiSchema) }) },
      },
    },
    async (request) => ({
      nhis: (
        await withAccountHolds(
          deps.store,
          await listNhiViews(deps.store, deps.config, deps.now(), { all: request.query.all === "true" }),
        )
      ).map(shown),
    }),
  );

  app.get(
    "/api/me/nhi",
    {
      // Owners answer for their NHIs whatever their role: the permission of confirming ownership suffices.
      config: { permission: "nhi:confirm" },
      schema: {
        summary:
          "The non-human identities you own, co-own or must confirm as the pending owner (a token or session of nobody: none)",
        tags,
        response: { 200: z.object({ nhis: z.array(nhiSchema) }) },
      },
    },
    async (request) => {
      const id = request.principal?.identityId ?? null;
      const me = id === null ? undefined : await identityRepository.findById(deps.store.db, id);
      if (me === undefined) return { nhis: [] };
      return { nhis: (await listOwnedNhiViews(deps.store, deps.config, deps.now(), me)).map(shown) };
    },
  );

  app.get(
    "/api/nhi/:name",
    {
      config: { permission: "nhi:read" },
      schema: { summary: "One non-human identity", tags, params: nameParams, response: { 200: nhiSchema } },
    },
    async (request) => {
      const [one] = await withAccountHolds(
        deps.store,
        await listNhiViews(deps.store, deps.config, deps.now(), { name: request.params.name, all: true }),
      );
      if (one === undefined) throw new NotFoundError(`no NHI is called "${request.params.name}"`);
      return shown(one);
    },
  );

  app.post(
    "/api/nhi/:name/confirm",
    {
      config: { permission: "nhi:confirm" },
      schema: {
        summary: "Take ownership passed to you (only the pending owner may; anyone else is refused)",
        tags,
        params: nameParams,
        response: { 200: z.object({ nhi: z.string(), ownerId: z.string().nullable() }) },
      },
    },
    async (request) => {
      const me = await actingPerson(deps, request, "ownership is taken by a person");
      const done = await confirmNhiOwnership(deps.store, deps.config, request.params.name, me.id, {
        now: deps.now(),
        actor: actorOf(request),
      });
      return { nhi: done.name, ownerId: done.ownerId };
    },
  );

  app.post(
    "/api/nhi/:name/owner",
    {
      config: { permission: "nhi:manage" },
      schema: {
        summary:
          "Make an active person the NHI's owner (and co-owners): clears a pending succession; in force until the inventory's owner of the NHI changes",
        tags,
        params: nameParams,
        body: z.strictObject({
          owner: z.string().min(1).describe("the new owner: an identity's id, HR key or email"),
          coOwners: z.array(z.string().min(1)).max(20).optional(),
        }),
        response: {
          200: z.object({
            name: z.string(),
            owner: z.string(),
            coOwners: z.array(z.string()),
            previousOwner: z.string().nullable(),
            previousCoOwners: z.array(z.string()),
            changed: z.boolean().describe("false: it already had these owners, nothing was written"),
            accounts: z
              .array(accountOutcome)
              .describe("the NHI's account in its target: enabled again at once when the NHI was disabled"),
          }),
        },
      },
    },
    async (request) =>
      assignNhiOwner(
        deps.store,
        deps.config,
        request.params.name,
        { owner: request.body.owner, coOwners: request.body.coOwners ?? [] },
        { now: deps.now(), actor: actorOf(request) },
      ),
  );

  app.post(
    "/api/nhi/:name/rotate",
    {
      config: { permission: "nhi:manage" },
      schema: {
        summary:
          "Rotate the NHI's credential now: deliver to the sink, set, verify with a real login, retire the old",
        tags,
        params: nameParams,
        response: { 200: z.object({ name: z.string(), rotationId: z.string(), lastRotatedAt: z.string() }) },
      },
    },
    async (request) =>
      rotateNhi(deps.store, deps.config, request.params.name, {
        now: deps.now(),
        actor: actorOf(request),
        reason: "on-demand",
      }),
  );
};
