import { type AuditEventInput, appendEvent } from "../../audit/ledger.js";
import { localDate } from "../../domain/local-date.js";
import type { RenamedKey } from "../../domain/sync-plan.js";
import type { IngestRowResult } from "../../engine/ingest.js";
import type { WriteAlongside } from "../../engine/sync.js";
import type { AttributeName, ScimKeyAttribute } from "../../policy/config-types.js";
import { createGroupCommit } from "../../shared/group-commit.js";
import { newId } from "../../shared/ids.js";
import type { Store } from "../../store/database.js";
import { personLock } from "../../store/person-lock.js";
import {
  nameKey,
  type ScimResourceRecord,
  type ScimResourceType,
  scimResourceRepository,
} from "../../store/scim-resource-repository.js";
import { compileFilter, indexedLookup, parseScimFilter } from "./scim-filter-parser.js";
import { applyScimPatch, patchDeactivates } from "./scim-patch-apply.js";
import { isObject, type Json, shapeResource } from "./scim-resource-shape.js";
import { invalidValue, ScimError } from "./scim-server-errors.js";
import {
  GROUP_RESOURCE,
  type ResourceTypeDefinition,
  TENURE_USER_SCHEMA,
  USER_RESOURCE,
} from "./scim-server-schemas.js";
import { sortRecords } from "./scim-sort.js";
import { enterpriseOf, keyPath, personKeyOf, refusal, tenureOf, userToRecord } from "./scim-user-mapping.js";

/** What Tenure did with one pushed person: `ingestRecords`' result for its one record. */
export type PersonOutcome = Pick<IngestRowResult, "status" | "identityId" | "findings">;

/**
 * Hands one person to the push source and handles their accounts before resolving — `ingestRecords`
 * with `attributeNames: true` and one record, in production (scim-ingest.ts). `rename`: the key the
 * person had before, when a write changed it — the identity under that key is re-keyed, not duplicated.
 */
export type IngestPerson = (
  row: Record<string, string | null>,
  actor: string,
  now: Date,
  rename?: RenamedKey,
  alongside?: WriteAlongside,
) => Promise<PersonOutcome>;

export interface ScimServiceDeps {
  store: Pick<Store, "db" | "kind" | "schema">;
  now: () => Date;
  ingest: IngestPerson;
  settings: {
    /** `server.scim.key`. */
    key: ScimKeyAttribute;
    /** The push source's name, for messages. */
    source: string;
    /** The push source's key attribute. */
    keyAttribute: AttributeName;
    /** The push source's time zone: a leaver's termination date is "today" there. */
    timeZone: string;
    /** `server.pushConcurrency`: how many writes this process works on at once (store/person-lock.ts). */
    pushConcurrency?: number | undefined;
    /** Most resources a filter no index answers may read; default {@link MAX_FILTER_SCAN}. */
    maxFilterScan?: number;
  };
}

/** Who writes, and what they expect. */
export interface WriteContext {
  actor: string;
  /** The If-Match header: the write happens only if the resource is still at that version. */
  ifMatch?: string;
  /** Told the names of attributes the schemas do not define, which were left out. */
  onIgnored?: (names: string[]) => void;
}

export interface ListQuery {
  filter?: string;
  /** 1-based. */
  startIndex: number;
  count: number;
  sortBy?: string;
  descending?: boolean;
}

/** The lock key every Group write holds (Groups are few and written rarely; see createScimService). */
const GROUPS_KEY = "scim\u0000Group";

/** Largest number of resources a filter without an indexed term may read; more answer 400 tooMany. */
export const MAX_FILTER_SCAN = 50_000;

const RESOURCES: Record<ScimResourceType, ResourceTypeDefinition> = {
  User: USER_RESOURCE,
  Group: GROUP_RESOURCE,
};

/** The ETag of a version: weak, as SCIM servers make them (RFC 7644 §3.14). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** Whether an If-Match / If-None-Match header names `version` (or is `*`). Weak and strong tags compare alike. */
export function etagMatches(header: string, version: number): boolean {
  const wanted = `"${version}"`;
  return header
    .split(",")
    .map((t) => t.trim().replace(/^W\//, ""))
    .some((t) => t === "*" || t === wanted);
}

/** The resource as a client sees it: its stored form with `id` and `meta` (location added by the route). */
export function served(record: ScimResourceRecord): Json {
  const { schemas, ...rest } = record.body;
  return {
    schemas,
    id: record.id,
    ...rest,
    meta: {
      resourceType: record.type,
      created: record.created,
      lastModified: record.lastModified,
      version: etagOf(record.version),
    },
  };
}

function notFound(type: ScimResourceType, id: string): ScimError {
  return new ScimError(404, `no ${type} has the id "${id}"`);
}

/**
 * Tenure's SCIM server behind the routes: Users and Groups stored as the client wrote them
 * (canonicalised), with every User write handed to the push source first.
 *
 * A User write is: shape and check the resource; refuse a taken userName or person key (409
 * uniqueness); map it to a record and ingest it — Tenure's data-quality rules may refuse it (400
 * invalidValue naming the SCIM attribute, nothing stored); then store the resource with an audit event.
 * Ingest runs before the store write, so a refusal leaves nothing behind; if the store write then fails,
 * the client retries and the ingest of the same record is `unchanged`. `active: false` and DELETE make
 * the person a leaver (status terminated, terminationDate today in the source's time zone unless the
 * Tenure extension gives one); DELETE removes the SCIM resource but never the identity. A write that
 * changes the person key re-keys the identity the old key names (the SCIM id is the person), so the
 * same identity and accounts follow the User, and a later DELETE terminates that identity.
 *
 * Writes for different people run side by side; writes that could meet are serialised, in this
 * process and across every process on a PostgreSQL store (store/person-lock.ts): a User's writes by
 * its id, a create and a PUT also by the userName and person key they claim, so two requests cannot
 * both pass a uniqueness check or both replace the version they read — the later one reads the
 * earlier's result, and the person ends in the last write. Group writes and User deletes (which edit
 * the Groups naming the User) share one key. What no lock covers — a PATCH that changes userName to
 * one a create claims at that instant — the store's unique constraints answer 409.
 */
export function createScimService(deps: ScimServiceDeps) {
  const db = () => deps.store.db;
  const lock = personLock(deps.store);
  const { settings } = deps;
  /**
   * The userName and person-key holders of the User writes in hand, read together (shared/group-commit.ts):
   * one statement for the writes that arrived while the last read ran. Each write reads after taking its
   * own keys, so what it reads is what it holds.
   */
  const holders = createGroupCommit<
    { name: string; personKey: string },
    Awaited<ReturnType<typeof scimResourceRepository.findUserHolders>>
  >({
    maxBatch: 64,
    maxInFlight: 2,
    run: (_, users) => scimResourceRepository.findUsersHolders(db(), users),
    alone: (_, user) => scimResourceRepository.findUserHolders(db(), user.name, user.personKey),
  });

  /**
   * A write's place in the push gate: a User made inactive or deleted — someone's access going — is
   * let in before the writes waiting beside it.
   */
  const admission = (urgent: boolean) => ({ admission: { limit: settings.pushConcurrency, urgent } });

  /** The lock keys of a write: the resource, and for a User the userName and person key it claims. */
  function keysOf(type: ScimResourceType, id: string, resource?: Json): string[] {
    if (type === "Group") return [GROUPS_KEY];
    const keys = [`scim\u0000User\u0000${id}`];
    if (resource !== undefined) {
      if (typeof resource.userName === "string")
        keys.push(`scim\u0000userName\u0000${nameKey(resource.userName)}`);
      const personKey = personKeyOf(resource, id, settings.key);
      if (personKey !== null) keys.push(`scim\u0000person\u0000${personKey}`);
    }
    return keys;
  }

  async function load(type: ScimResourceType, id: string): Promise<ScimResourceRecord> {
    const record = await scimResourceRepository.findById(db(), type, id);
    if (record === undefined) throw notFound(type, id);
    return record;
  }

  function checkIfMatch(record: ScimResourceRecord, ifMatch: string | undefined): void {
    if (ifMatch !== undefined && !etagMatches(ifMatch, record.version)) {
      throw new ScimError(
        412,
        `the ${record.type} is at version ${etagOf(record.version)}, not ${ifMatch}; read it again`,
      );
    }
  }

  async function checkName(type: ScimResourceType, name: string, id: string): Promise<void> {
    const holder = await scimResourceRepository.findByName(db(), type, name);
    if (holder !== undefined && holder.id !== id) throw nameTaken(type, name, holder);
  }

  function nameTaken(type: ScimResourceType, name: string, holder: ScimResourceRecord): ScimError {
    const what = type === "User" ? "userName" : "displayName";
    return new ScimError(409, `${what} "${name}" is taken by the ${type} with id ${holder.id}`, "uniqueness");
  }

  /** The manager's key: the key of the User whose id manager.value is, else the value itself. */
  async function managerKeyOf(user: Json): Promise<string | null> {
    const manager = enterpriseOf(user).manager;
    const value = isObject(manager) && typeof manager.value === "string" ? manager.value.trim() : "";
    if (value === "") return null;
    const byId = await scimResourceRepository.findById(db(), "User", value);
    return byId?.personKey ?? value;
  }

  /**
   * The termination date a leaver gets when the client gave none: the one already stored while the
   * User stays inactive (so a later write does not move it), else today in the source's time zone.
   * A User made active again loses a date the server set.
   */
  function settleTerminationDate(user: Json, previous: Json | undefined): void {
    const tenure = tenureOf(user);
    const before = previous === undefined ? undefined : tenureOf(previous).terminationDate;
    if (user.active === false) {
      if (typeof tenure.terminationDate === "string") return;
      const date =
        previous?.active === false && typeof before === "string"
          ? before
          : localDate(deps.now(), settings.timeZone);
      user[TENURE_USER_SCHEMA] = { ...tenure, terminationDate: date };
    } else if (previous?.active === false && before !== undefined && tenure.terminationDate === before) {
      const { terminationDate: _dropped, ...rest } = tenure;
      if (Object.keys(rest).length === 0) delete user[TENURE_USER_SCHEMA];
      else user[TENURE_USER_SCHEMA] = rest;
    }
  }

  /**
   * Checks a User and hands it to the push source; returns its person key. Throws on any refusal.
   * `previous` is the stored User a write replaces: when the write changes the person key, the push
   * source is told the key it replaces, so the same identity is re-keyed (SCIM's id is the person).
   */
  async function admitUser(
    user: Json,
    id: string,
    previous: ScimResourceRecord | undefined,
    actor: string,
    alongside?: (personKey: string) => WriteAlongside,
  ): Promise<string> {
    const personKey = personKeyOf(user, id, settings.key);
    if (personKey === null) {
      await checkName("User", String(user.userName), id);
      throw invalidValue(
        `${keyPath(settings.key)} is required: it is the person's key in source ${settings.source} (server.scim.key)`,
      );
    }
    // The userName's holder and the person key's in one read; a taken name is refused first.
    const held = await holders.submit("", { name: String(user.userName), personKey });
    if (held.byName !== undefined && held.byName.id !== id)
      throw nameTaken("User", String(user.userName), held.byName);
    const holder = held.byPersonKey;
    if (holder !== undefined && holder.id !== id) {
      throw new ScimError(
        409,
        `${keyPath(settings.key)} "${personKey}" is the key of the User with id ${holder.id}; one person, one User`,
        "uniqueness",
      );
    }
    settleTerminationDate(user, previous?.body);
    const record = userToRecord(user, {
      id,
      key: settings.key,
      keyAttribute: settings.keyAttribute,
      personKey,
      managerKey: await managerKeyOf(user),
    });
    const previousKey = previous?.personKey ?? null;
    const rename =
      previousKey !== null && previousKey !== personKey
        ? { previousKey, reason: `SCIM User ${id} changed ${keyPath(settings.key)}` }
        : undefined;
    const outcome = await deps.ingest(record.row, actor, deps.now(), rename, alongside?.(personKey));
    if (outcome.status === "rejected") throw refusal(outcome.findings, record.paths);
    return personKey;
  }

  function shape(type: ScimResourceType, body: unknown, ctx: WriteContext): Json {
    const { resource, ignored } = shapeResource(body, RESOURCES[type]);
    if (ignored.length > 0) ctx.onIgnored?.(ignored);
    if (type === "Group" && Array.isArray(resource.members)) {
      // One entry per member: a member added twice (by PATCH add, by PUT) is there once, as last given.
      const byValue = new Map<unknown, unknown>();
      for (const m of resource.members) byValue.set(isObject(m) ? m.value : m, m);
      resource.members = [...byValue.values()];
    }
    return resource;
  }

  const nameOf = (type: ScimResourceType, resource: Json): string =>
    String(type === "User" ? resource.userName : resource.displayName);

  const auditEvent = (
    action: string,
    record: Pick<ScimResourceRecord, "type" | "id" | "name" | "version">,
    actor: string,
    extra: Json = {},
  ): AuditEventInput => ({
    time: deps.now().toISOString(),
    actor,
    action: `scim.${record.type.toLowerCase()}.${action}`,
    subject: `scim:${record.type}:${record.id}`,
    details: { name: record.name, version: record.version, ...extra },
  });

  /** Stores a new version of an existing resource: the shared tail of PUT and PATCH. */
  async function write(
    previous: ScimResourceRecord,
    resource: Json,
    actor: string,
    action: string,
  ): Promise<ScimResourceRecord> {
    const type = previous.type;
    if (type === "Group") await checkName("Group", nameOf(type, resource), previous.id);
    const personKey = type === "User" ? await admitUser(resource, previous.id, previous, actor) : null;
    // A write that changes nothing (a client re-sending what it sent) keeps the version: no new ETag,
    // no audit event of a change that did not happen.
    if (JSON.stringify(resource) === JSON.stringify(previous.body)) return previous;
    const next: ScimResourceRecord = {
      ...previous,
      name: nameOf(type, resource),
      externalId: typeof resource.externalId === "string" ? resource.externalId : null,
      personKey,
      version: previous.version + 1,
      body: resource,
      lastModified: deps.now().toISOString(),
    };
    await db()
      .transaction()
      .execute(async (trx) => {
        if (!(await scimResourceRepository.replace(trx, next, previous.version))) {
          throw new ScimError(412, `the ${type} changed while this request ran; read it again`);
        }
        await appendEvent(trx, auditEvent(action, next, actor));
      });
    return next;
  }

  return {
    get: load,

    async list(type: ScimResourceType, query: ListQuery): Promise<{ total: number; records: Json[] }> {
      const definition = RESOURCES[type];
      const offset = Math.max(query.startIndex, 1) - 1;
      const count = Math.max(query.count, 0);
      const filter = query.filter === undefined ? undefined : parseScimFilter(query.filter);
      const sortBy = query.sortBy?.toLowerCase();
      const orderBy =
        sortBy === undefined || sortBy === "id" || sortBy === "meta.created"
          ? ("id" as const)
          : sortBy === "meta.lastmodified"
            ? ("lastModified" as const)
            : sortBy === (type === "User" ? "username" : "displayname")
              ? ("name" as const)
              : undefined;
      if (filter === undefined && orderBy !== undefined) {
        const page = await scimResourceRepository.list(db(), type, {
          orderBy,
          descending: query.descending === true,
          offset,
          limit: count,
        });
        return { total: page.total, records: page.records.map(served) };
      }
      let candidates: ScimResourceRecord[];
      const lookup = filter === undefined ? undefined : indexedLookup(definition, filter);
      if (lookup !== undefined) {
        candidates = (
          await scimResourceRepository.list(db(), type, { where: lookup, offset: 0, limit: MAX_FILTER_SCAN })
        ).records;
      } else {
        const total = await scimResourceRepository.count(db(), type);
        const limit = settings.maxFilterScan ?? MAX_FILTER_SCAN;
        if (total > limit) {
          throw new ScimError(
            400,
            `this filter or sort would read all ${total} ${type}s (at most ${limit}); filter on id, externalId or ${type === "User" ? "userName" : "displayName"} with eq`,
            "tooMany",
          );
        }
        candidates = await scimResourceRepository.all(db(), type);
      }
      let matched = candidates.map(served);
      if (filter !== undefined) {
        const test = compileFilter(definition, filter);
        matched = matched.filter(test);
      }
      if (query.sortBy !== undefined)
        matched = sortRecords(definition, matched, query.sortBy, query.descending === true);
      return { total: matched.length, records: matched.slice(offset, offset + count) };
    },

    async create(type: ScimResourceType, body: unknown, ctx: WriteContext): Promise<ScimResourceRecord> {
      const { actor } = ctx;
      const resource = shape(type, body, ctx);
      const id = newId();
      const deactivated = type === "User" && resource.active === false;
      return lock.run(
        keysOf(type, id, resource),
        async () => {
          if (type === "Group") await checkName("Group", nameOf(type, resource), id);
          const at = deps.now().toISOString();
          const recordOf = (personKey: string | null): ScimResourceRecord => ({
            id,
            type,
            name: nameOf(type, resource),
            externalId: typeof resource.externalId === "string" ? resource.externalId : null,
            personKey,
            version: 1,
            body: resource,
            created: at,
            lastModified: at,
          });
          // A new User is stored in the transaction that writes the person it pushes (one commit, one
          // ledger append); when the push writes nothing (the person is unchanged), on its own below.
          let stored: ScimResourceRecord | undefined;
          const personKey =
            type === "User"
              ? await admitUser(resource, id, undefined, actor, (key) => async (trx) => {
                  const record = recordOf(key);
                  // With the other new Users of a grouped push: one insert for them all.
                  await scimResourceRepository.insertJoined(trx, record);
                  stored = record;
                  return [auditEvent("created", record, actor)];
                })
              : null;
          if (stored !== undefined) return stored;
          const record = recordOf(personKey);
          await db()
            .transaction()
            .execute(async (trx) => {
              await scimResourceRepository.insert(trx, record);
              await appendEvent(trx, auditEvent("created", record, actor));
            });
          return record;
        },
        admission(deactivated),
      );
    },

    async replace(
      type: ScimResourceType,
      id: string,
      body: unknown,
      ctx: WriteContext,
    ): Promise<ScimResourceRecord> {
      const resource = shape(type, body, ctx);
      return lock.run(
        keysOf(type, id, resource),
        async () => {
          const previous = await load(type, id);
          checkIfMatch(previous, ctx.ifMatch);
          return write(previous, resource, ctx.actor, "replaced");
        },
        admission(type === "User" && resource.active === false),
      );
    },

    async patch(
      type: ScimResourceType,
      id: string,
      body: unknown,
      ctx: WriteContext,
    ): Promise<ScimResourceRecord> {
      return lock.run(
        keysOf(type, id),
        async () => {
          const previous = await load(type, id);
          checkIfMatch(previous, ctx.ifMatch);
          const patched = applyScimPatch(previous.body, body, RESOURCES[type]);
          return write(previous, shape(type, patched, ctx), ctx.actor, "patched");
        },
        admission(type === "User" && patchDeactivates(body)),
      );
    },

    async remove(type: ScimResourceType, id: string, ctx: WriteContext): Promise<void> {
      const { actor } = ctx;
      // A deleted User leaves the Groups naming it: Group writes wait, as for any Group write.
      return lock.run(
        [...keysOf(type, id), GROUPS_KEY],
        async () => {
          const previous = await load(type, id);
          checkIfMatch(previous, ctx.ifMatch);
          if (type === "User") {
            // A deleted User is a leaver now: the identity stays, terminated, with its history.
            const leaver = structuredClone(previous.body);
            leaver.active = false;
            const today = localDate(deps.now(), settings.timeZone);
            const tenure = tenureOf(leaver);
            if (typeof tenure.terminationDate === "string" && tenure.terminationDate > today) {
              leaver[TENURE_USER_SCHEMA] = { ...tenure, terminationDate: today };
            }
            await admitUser(leaver, id, previous, actor);
          }
          await db()
            .transaction()
            .execute(async (trx) => {
              if (!(await scimResourceRepository.remove(trx, type, id))) throw notFound(type, id);
              const groups: string[] = [];
              for (const group of await scimResourceRepository.groupsMentioning(trx, id)) {
                const members = Array.isArray(group.body.members) ? group.body.members : [];
                const kept = members.filter((m) => !(isObject(m) && m.value === id));
                if (kept.length === members.length) continue;
                const body = { ...group.body };
                if (kept.length === 0) delete body.members;
                else body.members = kept;
                const next = {
                  ...group,
                  body,
                  version: group.version + 1,
                  lastModified: deps.now().toISOString(),
                };
                await scimResourceRepository.replace(trx, next, group.version);
                groups.push(group.id);
              }
              const extra = groups.length > 0 ? { removedFromGroups: groups } : {};
              await appendEvent(trx, auditEvent("deleted", previous, actor, extra));
            });
        },
        admission(type === "User"),
      );
    },
  };
}

export type ScimService = ReturnType<typeof createScimService>;
