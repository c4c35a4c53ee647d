import { z } from "zod";
import { NotFoundError, TenureError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import { withAccountHolds } from "../../workflows/nhi-hold-view.js";
import { listOwnedNhiViews } from "../../workflows/nhi-owned.js";
import { assignNhiOwner } from "../../workflows/nhi-owner.js";
import { rotateNhi } from "../../workflows/nhi-rotate.js";
import { confirmNhiOwnership, nhiOwnerSuccession } from "../../workflows/nhi-succession.js";
import { listNhiViews } from "../../workflows/nhi-view.js";
import { requireConfirmer } from "../auth/mass-change-confirmer.js";
import { roleAllows } from "../auth/platform-roles.js";
import type { RouteModule } from "../route-types.js";
import { planHashSchema } from "../schemas/common-schemas.js";
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
      config: { permission: "nhi:owned:read" },
      schema: {
        summary: "One non-human identity",
        description:
          "With `nhi:read`, any NHI (removed ones too); otherwise only a live NHI the caller's identity owns, co-owns " +
          "or must confirm as the pending owner. 404 alike for an NHI that does not exist and one that is not yours.",
        tags,
        params: nameParams,
        response: { 200: nhiSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const noSuch = () => new NotFoundError(`no NHI is called "${name}"`);
      if (!roleAllows(request.principal?.role ?? "", "nhi:read")) {
        // An owner's read, scoped as review items are: one that is not theirs does not exist to them.
        const id = request.principal?.identityId ?? null;
        const me = id === null ? undefined : await identityRepository.findById(deps.store.db, id);
        if (me === undefined) throw noSuch();
        const mine = (await listOwnedNhiViews(deps.store, deps.config, deps.now(), me)).find(
          (v) => v.name === name,
        );
        if (mine === undefined) throw noSuch();
        return shown(mine);
      }
      const [one] = await withAccountHolds(
        deps.store,
        await listNhiViews(deps.store, deps.config, deps.now(), { name, all: true }),
      );
      if (one === undefined) throw noSuch();
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
    "/api/nhi-mass-change/confirm",
    {
      // As a sync's confirmMassChange: a route an admin runs, and the confirmation itself needs
      // mass-change:confirm (requireConfirmer), checked before anything is read or written.
      config: { permission: "nhi:manage" },
      schema: {
        summary:
          "Let through the NHI disables mass-change protection held back: exactly the plan with this hash (admin)",
        description:
          "Runs owner succession (as `tenure nhi sync --confirm-mass-change HASH`, without the inventory sync): the " +
          "held disables go ahead, audited as `nhi.mass_change_confirmed` with the token's name. 409 `plan_changed` " +
          "(error.planHash: the plan now) when the disables due now are not those of the hash — nothing changed; " +
          "409 `nothing_held` without `nhi.policy`; 403 for a role that may not confirm a mass change. Removals from the " +
          "inventory held back (run `NHI inventory sync`) are confirmed with `tenure nhi sync --confirm-mass-change HASH`, " +
          "not here: their hash is refused (409 `plan_changed`), nothing changed.",
        tags,
        body: z.strictObject({
          planHash: planHashSchema.describe(
            "the plan hash of the stop (`mass-change.stopped` of run `NHI owner succession`, or the nhi job's report)",
          ),
        }),
        response: {
          200: z.object({
            planHash: z.string(),
            disabled: z.array(z.string()).describe("the NHIs disabled now"),
            pending: z.array(z.object({ name: z.string(), to: z.string() })),
            ownerless: z.array(z.string()),
            accounts: z.array(accountOutcome),
          }),
        },
      },
    },
    async (request) => {
      requireConfirmer(request.principal);
      const { planHash } = request.body;
      // Without nhi.policy succession never runs, so nothing is ever held: no hash can be the plan now.
      if (deps.config.nhi?.policy === undefined) {
        throw new TenureError(
          "nothing_held",
          "tenure.yaml has no nhi.policy: owner succession disables nothing, so no NHI disable is held; nothing was changed",
          { httpStatus: 409 },
        );
      }
      const done = await deps.runs.exclusive("NHI owner succession", () =>
        nhiOwnerSuccession(deps.store, deps.config, {
          now: deps.now(),
          actor: actorOf(request),
          confirmMassChange: planHash,
        }),
      );
      return {
        planHash,
        disabled: done.disabled,
        pending: done.pending,
        ownerless: done.ownerless,
        accounts: done.accounts,
      };
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
