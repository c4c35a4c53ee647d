/**
 * A SCIM 2.0 server we did not write, for the `scim` connector's tests (docs/architecture.md "Tests"):
 * scimmy parses filters, applies PATCH, validates against the User,
 * EnterpriseUser and Group schemas and writes ListResponses and SCIM errors; scimmy-routers maps them
 * onto express 5. This file supplies only what a real service keeps for itself: in-memory storage
 * (ingress/egress/degress for User and Group, uniqueness of `userName` and group `displayName`), a
 * bearer-token check, and test hooks — a request log and fault injection.
 *
 * scimmy's resource declarations are process-wide, so they are made once and every handler reads the
 * storage of the peer that received the request from the request context.
 */
import { randomBytes, randomUUID } from "node:crypto";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import querystring from "node:querystring";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

/** One request as the peer received it. `fault` marks requests answered by an injected fault. */
export interface LoggedRequest {
  method: string;
  /** The path below the SCIM base, e.g. `/Users/…` or `/Groups`. */
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** When the request arrived (ms since the epoch). */
  at: number;
  fault: boolean;
}

export interface ScimPeerOptions {
  /** Whether User resources carry the read-only `groups` attribute (default true, as most services do). */
  userGroups?: boolean;
}

type Json = Record<string, unknown>;

interface Store {
  users: Map<string, Json>;
  groups: Map<string, Json>;
  userGroups: boolean;
}

export interface ScimPeer {
  /** The SCIM base URL, `http://127.0.0.1:<port>/scim/v2`. */
  baseUrl: string;
  /** The one bearer token the peer accepts. */
  token: string;
  /** Every request received, in arrival order. */
  requests: LoggedRequest[];
  /**
   * The next `count` requests (of `method`, when given) are answered with `status` and, when given,
   * `Retry-After: retryAfter`, before authentication or storage are consulted. `detail` replaces the
   * error body's detail (a server echoing what it received, say).
   */
  failNext(
    count: number,
    status: number,
    options?: { retryAfter?: string; method?: string; detail?: string },
  ): void;
  /** The stored user with this userName (exact), as the service holds it. */
  user(userName: string): Json | undefined;
  /** Creates a group directly in storage (as an administrator of the service would) and returns its id. */
  createGroup(displayName: string): string;
  /** Forgets the request log. */
  clearLog(): void;
  close(): Promise<void>;
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function scimError(status: number, scimType: string | null, detail: string): Error {
  // scimmy's typings leave scimType as a narrow union; its constructor takes any of the RFC's values.
  return new SCIMMY.Types.Error(status, scimType as never, detail);
}

function sameText(a: unknown, b: unknown): boolean {
  return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
}

function meta(resourceType: string, previous?: Json): Json {
  const now = new Date().toISOString();
  const created = (previous?.meta as Json | undefined)?.created ?? now;
  return { resourceType, created, lastModified: now };
}

/** The user as the service shows it: with the groups it belongs to, when the peer reports them. */
function showUser(store: Store, user: Json): Json {
  if (!store.userGroups) return user;
  const groups = [...store.groups.values()]
    .filter((g) => ((g.members as Json[] | undefined) ?? []).some((m) => m.value === user.id))
    .map((g) => ({ value: g.id, display: g.displayName, type: "direct" }));
  return { ...user, groups };
}

function storeOf(ctx: unknown): Store {
  const store = (ctx as { store?: Store } | undefined)?.store;
  if (store === undefined) throw scimError(500, null, "no storage for this request");
  return store;
}

interface ScimResource {
  id?: string;
  filter?: { match(values: Json[]): Json[] };
}

/** How one resource type is kept: its map, its unique attribute, and what storing and showing add. */
interface Kind {
  resourceType: "User" | "Group";
  table(store: Store): Map<string, Json>;
  /** The attribute no two resources may share (case-insensitively). */
  unique: string;
  /** The resource to store, from what the client sent; may throw a SCIM error. */
  prepare(store: Store, data: Json): Json;
  show(store: Store, resource: Json): Json;
  /** After a delete (a deleted user leaves its groups). */
  deleted?(store: Store, id: string): void;
}

/** scimmy's ingress/egress/degress over in-memory storage for one resource type. */
function handlers(kind: Kind) {
  const notFound = (id: string | undefined) => scimError(404, null, `Resource ${id} not found`);
  return {
    ingress: (resource: ScimResource, instance: Json, ctx: unknown) => {
      const store = storeOf(ctx);
      const table = kind.table(store);
      const data = clone(instance) as Json;
      const previous = resource.id === undefined ? undefined : table.get(resource.id);
      if (resource.id !== undefined && previous === undefined) throw notFound(resource.id);
      for (const other of table.values()) {
        if (other.id !== resource.id && sameText(other[kind.unique], data[kind.unique])) {
          throw scimError(409, "uniqueness", `${kind.unique} is already in use`);
        }
      }
      const id = resource.id ?? randomUUID();
      const stored = { ...kind.prepare(store, data), id, meta: meta(kind.resourceType, previous) };
      table.set(id, stored);
      return kind.show(store, stored);
    },
    egress: (resource: ScimResource, ctx: unknown) => {
      const store = storeOf(ctx);
      const table = kind.table(store);
      if (resource.id !== undefined) {
        const found = table.get(resource.id);
        if (found === undefined) throw notFound(resource.id);
        return kind.show(store, found);
      }
      const all = [...table.values()].map((r) => kind.show(store, r));
      return resource.filter === undefined ? all : resource.filter.match(all);
    },
    degress: (resource: ScimResource, ctx: unknown) => {
      const store = storeOf(ctx);
      if (resource.id === undefined || !kind.table(store).delete(resource.id)) throw notFound(resource.id);
      kind.deleted?.(store, resource.id);
    },
  };
}

let declared = false;

/** Declares User (with the EnterpriseUser extension) and Group once per process. */
function declareResources(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User, {
    extensions: [{ schema: SCIMMY.Schemas.EnterpriseUser, required: false }],
    ...handlers({
      resourceType: "User",
      table: (store) => store.users,
      unique: "userName",
      prepare: (_store, data) => {
        delete data.groups;
        return { ...data, active: data.active ?? true };
      },
      show: showUser,
      deleted: (store, id) => {
        for (const group of store.groups.values()) {
          group.members = ((group.members as Json[] | undefined) ?? []).filter((m) => m.value !== id);
        }
      },
    }),
  });
  SCIMMY.Resources.declare(SCIMMY.Resources.Group, {
    ...handlers({
      resourceType: "Group",
      table: (store) => store.groups,
      unique: "displayName",
      prepare: (store, data) => {
        const members: Json[] = [];
        for (const member of (data.members as Json[] | undefined) ?? []) {
          const user = store.users.get(String(member.value));
          if (user === undefined)
            throw scimError(400, "invalidValue", `member ${member.value} does not exist`);
          if (!members.some((m) => m.value === member.value)) {
            members.push({ value: member.value, display: user.userName, type: "User" });
          }
        }
        return { ...data, members };
      },
      show: (_store, group) => group,
    }),
  });
}

/** Express 5 parses the query on every read of `req.query`; the routers' number casts are redone here. */
function parseQuery(text: string): Record<string, unknown> {
  const parsed: Record<string, unknown> = { ...querystring.parse(text) };
  for (const key of ["startIndex", "count"]) {
    const value = parsed[key];
    if (typeof value === "string" && /^-?\d+$/.test(value)) parsed[key] = Number(value);
  }
  return parsed;
}

/** Starts a peer on 127.0.0.1 with an empty store. */
export async function startScimPeer(options: ScimPeerOptions = {}): Promise<ScimPeer> {
  declareResources();
  const token = `scim-${randomBytes(18).toString("hex")}`;
  const store: Store = { users: new Map(), groups: new Map(), userGroups: options.userGroups ?? true };
  const requests: LoggedRequest[] = [];
  const faults: { status: number; retryAfter?: string; method?: string; detail?: string }[] = [];

  const app = express();
  app.set("query parser", parseQuery);
  app.use("/scim/v2", (req, res, next) => {
    const entry: LoggedRequest = {
      method: req.method,
      path: req.path,
      query: Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)])),
      body: undefined,
      status: 0,
      at: Date.now(),
      fault: false,
    };
    requests.push(entry);
    res.on("finish", () => {
      entry.status = res.statusCode;
      entry.body = (req as { body?: unknown }).body;
    });
    const index = faults.findIndex((f) => f.method === undefined || f.method === req.method);
    if (index < 0) return next();
    const [fault] = faults.splice(index, 1);
    entry.fault = true;
    if (fault!.retryAfter !== undefined) res.setHeader("Retry-After", fault!.retryAfter);
    res
      .status(fault!.status)
      .type("application/scim+json")
      .send(
        JSON.stringify({
          schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
          status: String(fault!.status),
          detail: fault!.detail ?? (fault!.status === 429 ? "Too many requests" : "Service unavailable"),
        }),
      );
  });
  app.use(
    "/scim/v2",
    new SCIMMYRouters({
      type: "bearer",
      handler: (req) => {
        if (req.header("authorization") !== `Bearer ${token}`) throw new Error("Invalid bearer token");
        return "tenure-tests";
      },
      context: () => ({ store }),
    }) as unknown as express.Router,
  );

  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}/scim/v2`,
    token,
    requests,
    failNext(count, status, extra = {}) {
      for (let i = 0; i < count; i++) faults.push({ status, ...extra });
    },
    user: (userName) => {
      const user = [...store.users.values()].find((u) => u.userName === userName);
      return user === undefined ? undefined : clone(user);
    },
    createGroup(displayName) {
      const id = randomUUID();
      store.groups.set(id, {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        id,
        displayName,
        members: [],
        meta: meta("Group"),
      });
      return id;
    },
    clearLog: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
