import { setTimeout as sleep } from "node:timers/promises";
import { createKeyedLock } from "../../shared/keyed-lock.js";
import { GROUP_SCHEMA, PATCH_OP_SCHEMA } from "../../shared/scim-urns.js";
import {
  type Account,
  type AccountRef,
  type AccountSpec,
  type Connector,
  ConnectorError,
  type ConnectorOptions,
  type EntitlementInfo,
  type WriteResult,
} from "../connector-types.js";
import {
  CORE_USER_SCHEMA,
  isEmptyScimValue,
  parseScimPath,
  property,
  readScimPath,
  readTopLevel,
  type ScimPath,
  topLevelPath,
  writeScimPath,
} from "./scim-attributes.js";
import { createScimClient, type ScimClientDeps } from "./scim-client.js";
import type { ScimConnectorConfig } from "./scim-connector-config.js";
import { eqFilter, needsEscaping, widerFilter } from "./scim-filter-builder.js";

type Json = Record<string, unknown>;

/** One grant or revoke waiting for its group's next PATCH. */
interface MembershipCall {
  ref: AccountRef;
  add: boolean;
  settled: boolean;
  resolve(result: WriteResult): void;
  reject(error: unknown): void;
}

const is2xx = (status: number) => status >= 200 && status <= 299;

function idOf(resource: Json): string {
  const id = property(resource, "id");
  return typeof id === "string" ? id : String(id ?? "");
}

/** `active` as servers send it: a boolean, or Entra's "True"/"False" strings. Absent means active. */
function isActive(user: Json): boolean {
  const active = property(user, "active");
  return !(active === false || (typeof active === "string" && active.toLowerCase() === "false"));
}

const describeCall = (call: Pick<MembershipCall, "add" | "ref">, entitlement: string) =>
  call.add
    ? `grant ${entitlement} to account ${call.ref.username}`
    : `revoke ${entitlement} from account ${call.ref.username}`;

/**
 * The `scim` connector: a SCIM 2.0 client (RFC 7643/7644) for SaaS services and identity providers.
 *
 * - An account is a User; it is found by `filter=<correlation> eq "<username>"` (`userName` or
 *   `externalId`), or by `GET /Users/<id>` when the native id (the SCIM `id`) is known. Values are
 *   escaped as JSON strings; when a value holds `"` or `\` and the server rejects or misses it, the
 *   connector asks a wider `sw`/`pr` filter and compares values itself.
 * - create is `POST /Users` after a lookup; a 409 from a concurrent create is read as "exists".
 *   update is one `PATCH` replacing (or removing) each changed top-level attribute; enable and disable
 *   `PATCH active`; delete is `DELETE /Users/<id>`, where 404 means "already gone".
 * - An entitlement is a Group, keyed by `displayName` or `id` (`groups.key`). Grants and revokes are
 *   `PATCH /Groups/<id>` on `members`; those for one group that arrive within `batchWindowMs` of each
 *   other share one PATCH (one request per group, whatever the number of accounts), and one group's
 *   batches run one after another, so each reads the members the previous one left.
 * - Every request goes through one token bucket per connector (`rateLimit`), so concurrent calls share
 *   the service's budget; 429 waits out Retry-After (holding every call) and 5xx is retried with
 *   backoff (`retry`); then the call fails retryable and the engine retries later.
 *
 * `disable` sets `active: false`, which SCIM services treat as "may not sign in"
 * (`disableRefusesUse: true`). The token and password never appear in messages.
 */
export function createScimConnector(
  system: string,
  config: ScimConnectorConfig,
  deps: ScimClientDeps = {},
  options: ConnectorOptions = {},
): Connector {
  const client = createScimClient(system, config, deps);
  const paths = new Map<string, ScimPath>(
    Object.entries(config.attributes).map(([name, text]) => [name, parseScimPath(text) as ScimPath]),
  );
  const correlation = config.correlation;
  const waiting = new Map<string, MembershipCall[]>();
  // One batch of membership changes runs at a time per group; the next batch gathers while it runs.
  const batches = createKeyedLock();
  let closed = false;

  const closedError = () =>
    new ConnectorError(system, "other", "the connector is closed", { retryable: false });
  const notFound = (username: string) =>
    new ConnectorError(system, "not_found", `account ${username} does not exist`, { retryable: false });

  /** SCIM compares userName and displayName case-insensitively (caseExact false), externalId exactly. */
  function sameValue(attribute: string, a: string, b: string): boolean {
    return attribute === "externalId" ? a === b : a.toLowerCase() === b.toLowerCase();
  }

  /** The one resource of `endpoint` whose `attribute` equals `value`, or undefined. */
  async function findBy(
    endpoint: "/Users" | "/Groups",
    attribute: string,
    value: string,
    doing: string,
  ): Promise<Json | undefined> {
    const matching = (list: unknown) =>
      (Array.isArray(list) ? list : []).filter((r): r is Json => {
        const v = property(r, attribute);
        return typeof v === "string" && sameValue(attribute, v, value);
      });
    const escaped = needsEscaping(value);
    const response = await client.request("GET", endpoint, {
      query: { filter: eqFilter(attribute, value) },
      doing,
    });
    let found: Json[] = [];
    if (is2xx(response.status)) found = matching(property(response.body, "Resources"));
    else if (!(escaped && response.status === 400)) throw client.fail("GET", endpoint, response, doing);
    if (found.length === 0 && escaped) {
      found = matching(await client.list(endpoint, { filter: widerFilter(attribute, value) }, doing));
    }
    if (found.length <= 1) return found[0];
    const exact = found.filter((r) => property(r, attribute) === value);
    if (exact.length === 1) return exact[0];
    throw new ConnectorError(
      system,
      "conflict",
      `${doing}: ${found.length} resources have ${attribute} ${value}`,
      {
        retryable: false,
      },
    );
  }

  async function getById(
    endpoint: "/Users" | "/Groups",
    id: string,
    doing: string,
  ): Promise<Json | undefined> {
    const path = `${endpoint}/${encodeURIComponent(id)}`;
    const response = await client.request("GET", path, { doing });
    if (response.status === 404) return undefined;
    if (!is2xx(response.status)) throw client.fail("GET", path, response, doing);
    return response.body !== null && typeof response.body === "object" ? (response.body as Json) : undefined;
  }

  function findUser(ref: AccountRef, doing: string): Promise<Json | undefined> {
    return ref.nativeId !== undefined && ref.nativeId !== null && ref.nativeId !== ""
      ? getById("/Users", ref.nativeId, doing)
      : findBy("/Users", correlation, ref.username, doing);
  }

  async function mustFindUser(ref: AccountRef, doing: string): Promise<Json> {
    const user = await findUser(ref, doing);
    if (user === undefined) throw notFound(ref.username);
    return user;
  }

  function findGroup(key: string, doing: string): Promise<Json | undefined> {
    return config.groups.key === "id"
      ? getById("/Groups", key, doing)
      : findBy("/Groups", "displayName", key, doing);
  }

  function groupKey(group: Json): string {
    if (config.groups.key === "id") return idOf(group);
    const name = property(group, "displayName");
    return typeof name === "string" ? name : "";
  }

  function usernameOf(user: Json): string {
    for (const attribute of [correlation, "userName"]) {
      const value = property(user, attribute);
      if (typeof value === "string" && value !== "") return value;
    }
    return "";
  }

  function checkAttributes(username: string, attributes: Record<string, string | null>): void {
    for (const name of Object.keys(attributes)) {
      if (!paths.has(name)) {
        throw new ConnectorError(
          system,
          "invalid",
          `attribute ${name} of account ${username} is not mapped (attributes)`,
          {
            retryable: false,
          },
        );
      }
    }
  }

  function newUser(spec: AccountSpec): Json {
    const user: Json = { schemas: [CORE_USER_SCHEMA], userName: spec.username, active: spec.enabled };
    if (correlation === "externalId") user.externalId = spec.username;
    const schemas = new Set<string>();
    for (const [name, value] of Object.entries(spec.attributes)) {
      if (value === null || value === "") continue;
      const path = paths.get(name)!;
      writeScimPath(user, path, value);
      if (path.schema !== undefined) schemas.add(path.schema);
    }
    user.schemas = [CORE_USER_SCHEMA, ...schemas];
    return user;
  }

  async function patchUser(user: Json, operations: Json[], doing: string): Promise<void> {
    await client.ok("PATCH", `/Users/${encodeURIComponent(idOf(user))}`, {
      body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
      doing,
    });
  }

  async function setActive(ref: AccountRef, active: boolean): Promise<WriteResult> {
    const doing = `${active ? "enable" : "disable"} account ${ref.username}`;
    const user = await mustFindUser(ref, doing);
    if (isActive(user) === active) return { changed: false, nativeId: idOf(user) };
    await patchUser(user, [{ op: "replace", path: "active", value: active }], doing);
    return { changed: true, nativeId: idOf(user) };
  }

  /** Direct memberships of every user, by user id, read from the users or else from the groups. */
  async function memberships(users: Json[]): Promise<Map<string, string[]>> {
    const byUser = new Map<string, string[]>();
    const add = (userId: string, key: string) => {
      const keys = byUser.get(userId) ?? [];
      if (key !== "" && !keys.includes(key)) keys.push(key);
      byUser.set(userId, keys);
    };
    const direct = (value: unknown) => {
      // Nested groups show as "indirect"; only direct memberships can be granted and revoked.
      const type = property(value, "type");
      return typeof type !== "string" || type.toLowerCase() !== "indirect";
    };
    if (users.length === 0) return byUser;
    // Only when every user carries `groups`: a server that omits it may simply not report it.
    if (users.every((u) => Array.isArray(property(u, "groups")))) {
      let names: Map<string, string> | undefined;
      for (const user of users) {
        for (const group of property(user, "groups") as unknown[]) {
          if (!direct(group)) continue;
          const id = String(property(group, "value") ?? "");
          let key = id;
          if (config.groups.key === "displayName") {
            const display = property(group, "display");
            if (typeof display === "string" && display !== "") key = display;
            else {
              names ??= new Map((await listGroups("list accounts")).map((g) => [idOf(g), groupKey(g)]));
              key = names.get(id) ?? "";
            }
          }
          add(idOf(user), key);
        }
      }
      return byUser;
    }
    for (const group of await client.list("/Groups", {}, "list accounts")) {
      const members = property(group, "members");
      for (const member of Array.isArray(members) ? members : []) {
        if (direct(member)) add(String(property(member, "value") ?? ""), groupKey(group));
      }
    }
    return byUser;
  }

  /** Every group, without members (they can be large). */
  function listGroups(doing: string): Promise<Json[]> {
    return client.list("/Groups", { attributes: "displayName" }, doing);
  }

  /** Resolves a batch of grants and revokes of one group with one read of the group and one PATCH. */
  async function flushMemberships(entitlement: string, calls: MembershipCall[]): Promise<void> {
    const finish = (call: MembershipCall, outcome: { result: WriteResult } | { error: unknown }) => {
      if (call.settled) return;
      call.settled = true;
      if ("result" in outcome) call.resolve(outcome.result);
      else call.reject(outcome.error);
    };
    const doing =
      calls.length === 1
        ? describeCall(calls[0]!, entitlement)
        : `change ${calls.length} memberships of group ${entitlement}`;
    try {
      const found = await Promise.all(
        calls.map((call) =>
          findUser(call.ref, describeCall(call, entitlement)).then(
            (user) => ({ call, user }),
            (error: unknown) => ({ call, user: undefined, error }),
          ),
        ),
      );
      const live: { call: MembershipCall; user: Json }[] = [];
      for (const item of found) {
        if ("error" in item) finish(item.call, { error: item.error });
        else if (item.user !== undefined) live.push({ call: item.call, user: item.user });
        else if (item.call.add) finish(item.call, { error: notFound(item.call.ref.username) });
        else finish(item.call, { result: { changed: false } });
      }
      if (live.length === 0) return;
      const group = await findGroup(entitlement, doing);
      if (group === undefined && options.createMissingGroups === true && live.some((l) => l.call.add)) {
        // `createMissingGroups`: POST the group with the members the batch leaves in it.
        const last = new Map<string, boolean>();
        for (const { call, user } of live) last.set(idOf(user), call.add);
        const adds = [...last].filter(([, add]) => add).map(([id]) => id);
        try {
          await client.ok("POST", "/Groups", {
            body: {
              schemas: [GROUP_SCHEMA],
              displayName: entitlement,
              members: adds.map((value) => ({ value })),
            },
            doing: `create group ${entitlement}`,
          });
        } catch (error) {
          for (const { call, user } of live) {
            finish(call, call.add ? { error } : { result: { changed: false, nativeId: idOf(user) } });
          }
          return;
        }
        for (const { call, user } of live) {
          const id = idOf(user);
          finish(call, { result: { changed: call.add && last.get(id) === true, nativeId: id } });
        }
        return;
      }
      if (group === undefined) {
        for (const { call, user } of live) {
          if (!call.add) finish(call, { result: { changed: false, nativeId: idOf(user) } });
          else {
            const error = new ConnectorError(
              system,
              "invalid",
              `${describeCall(call, entitlement)}: group ${entitlement} does not exist; create it, or set systems.${system}.createMissingGroups: true`,
              {
                retryable: false,
              },
            );
            finish(call, { error });
          }
        }
        return;
      }
      const groupId = idOf(group);
      const members = property(group, "members");
      /** Whether the user is a member now: from the group's members, else the user's groups, else unknown. */
      const memberNow = (userId: string, user: Json): boolean | undefined => {
        if (Array.isArray(members)) return members.some((m) => property(m, "value") === userId);
        const groups = property(user, "groups");
        return Array.isArray(groups) ? groups.some((g) => property(g, "value") === groupId) : undefined;
      };
      const initial = new Map<string, boolean | undefined>();
      const state = new Map<string, boolean | undefined>();
      const outcomes: { call: MembershipCall; userId: string; changed: boolean }[] = [];
      for (const { call, user } of live) {
        const userId = idOf(user);
        if (!state.has(userId)) {
          const now = memberNow(userId, user);
          initial.set(userId, now);
          state.set(userId, now);
        }
        // Unknown membership counts as a change: the PATCH is sent and the server makes it so.
        outcomes.push({ call, userId, changed: state.get(userId) !== call.add });
        state.set(userId, call.add);
      }
      const adds = [...state].filter(([id, s]) => s === true && initial.get(id) !== true).map(([id]) => id);
      const removes = [...state]
        .filter(([id, s]) => s === false && initial.get(id) !== false)
        .map(([id]) => id);
      if (adds.length + removes.length > 0) {
        const operations: Json[] = [];
        if (adds.length > 0)
          operations.push({ op: "add", path: "members", value: adds.map((value) => ({ value })) });
        for (const id of removes)
          operations.push({ op: "remove", path: `members[value eq ${JSON.stringify(id)}]` });
        try {
          await client.ok("PATCH", `/Groups/${encodeURIComponent(groupId)}`, {
            body: { schemas: [PATCH_OP_SCHEMA], Operations: operations },
            doing,
          });
        } catch (error) {
          for (const o of outcomes) {
            finish(o.call, o.changed ? { error } : { result: { changed: false, nativeId: o.userId } });
          }
          return;
        }
      }
      for (const o of outcomes) finish(o.call, { result: { changed: o.changed, nativeId: o.userId } });
    } catch (error) {
      for (const call of calls) finish(call, { error });
    }
  }

  /**
   * Queues a grant or revoke for its group's next PATCH. The first call for an idle group opens a batch
   * that waits `batchWindowMs` (and for the group's previous batch) before it runs.
   */
  function membership(ref: AccountRef, entitlement: string, add: boolean): Promise<WriteResult> {
    if (closed) return Promise.reject(closedError());
    return new Promise<WriteResult>((resolve, reject) => {
      const call: MembershipCall = { ref, add, settled: false, resolve, reject };
      const open = waiting.get(entitlement);
      if (open !== undefined) {
        open.push(call);
        return;
      }
      const batch = [call];
      waiting.set(entitlement, batch);
      void batches.run([entitlement], async () => {
        await sleep(config.batchWindowMs);
        // Calls from now on open the next batch.
        waiting.delete(entitlement);
        return flushMemberships(entitlement, batch);
      });
    });
  }

  return {
    describe: () => ({
      type: "scim",
      system,
      disableRefusesUse: true,
      supportsRotation: false,
      readsAccounts: true,
    }),

    async listAccounts(): Promise<Account[]> {
      if (closed) throw closedError();
      const users = await client.list("/Users", {}, "list accounts");
      const byUser = await memberships(users);
      return users.map((user) => {
        const attributes: Record<string, string | null> = {};
        for (const [name, path] of paths) attributes[name] = readScimPath(user, path);
        return {
          nativeId: idOf(user),
          username: usernameOf(user),
          enabled: isActive(user),
          attributes,
          entitlements: [...(byUser.get(idOf(user)) ?? [])].sort(),
        };
      });
    },

    async listEntitlements(): Promise<EntitlementInfo[]> {
      if (closed) throw closedError();
      const seen = new Map<string, EntitlementInfo>();
      for (const group of await listGroups("list entitlements")) {
        const key = groupKey(group);
        const name = property(group, "displayName");
        if (key !== "" && !seen.has(key))
          seen.set(key, { key, displayName: typeof name === "string" ? name : null });
      }
      return [...seen.values()];
    },

    async create(spec: AccountSpec): Promise<WriteResult> {
      checkAttributes(spec.username, spec.attributes);
      const doing = `create account ${spec.username}`;
      const existing = await findUser({ username: spec.username }, doing);
      if (existing !== undefined) return { changed: false, nativeId: idOf(existing) };
      const response = await client.request("POST", "/Users", { body: newUser(spec), doing });
      if (response.status === 409) {
        // A concurrent create got there first, or another account holds the userName.
        const raced = await findUser({ username: spec.username }, doing);
        if (raced !== undefined) return { changed: false, nativeId: idOf(raced) };
      }
      if (!is2xx(response.status)) throw client.fail("POST", "/Users", response, doing);
      const id = property(response.body, "id");
      if (typeof id !== "string" || id === "") {
        throw new ConnectorError(
          system,
          "invalid",
          `${doing}: POST /Users answered without the new user's id`,
          {
            retryable: false,
          },
        );
      }
      return { changed: true, nativeId: id };
    },

    async update(ref: AccountRef, attributes: Record<string, string | null>): Promise<WriteResult> {
      checkAttributes(ref.username, attributes);
      const doing = `update account ${ref.username}`;
      const user = await mustFindUser(ref, doing);
      const changed = Object.entries(attributes)
        .map(([name, value]) => ({ path: paths.get(name)!, value: value === "" ? null : value }))
        .filter(({ path, value }) => readScimPath(user, path) !== value);
      if (changed.length === 0) return { changed: false, nativeId: idOf(user) };
      const next = structuredClone(user);
      for (const { path, value } of changed) writeScimPath(next, path, value);
      // Whole top-level attributes are replaced: a filtered or sub-attribute path in PATCH is not
      // supported alike everywhere, and replacing `emails` keeps the elements Tenure does not map.
      const operations = new Map<string, Json>();
      for (const { path } of changed) {
        const top = topLevelPath(path);
        const value = readTopLevel(next, path);
        operations.set(
          top,
          isEmptyScimValue(value) ? { op: "remove", path: top } : { op: "replace", path: top, value },
        );
      }
      await patchUser(user, [...operations.values()], doing);
      return { changed: true, nativeId: idOf(user) };
    },

    enable: (ref) => setActive(ref, true),
    disable: (ref) => setActive(ref, false),

    async delete(ref: AccountRef): Promise<WriteResult> {
      const doing = `delete account ${ref.username}`;
      const user = await findUser(ref, doing);
      if (user === undefined) return { changed: false };
      const path = `/Users/${encodeURIComponent(idOf(user))}`;
      const response = await client.request("DELETE", path, { doing });
      if (response.status === 404) return { changed: false };
      if (!is2xx(response.status)) throw client.fail("DELETE", path, response, doing);
      return { changed: true, nativeId: idOf(user) };
    },

    grant: (ref, entitlement) => membership(ref, entitlement, true),
    revoke: (ref, entitlement) => membership(ref, entitlement, false),

    async close(): Promise<void> {
      closed = true;
      // Batches already queued still run (their callers wait for them); new calls are refused.
      await batches.idle();
      client.close();
    },
  };
}
