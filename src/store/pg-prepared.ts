import type pg from "pg";

/**
 * PostgreSQL parses and plans every statement sent unnamed, each time; a SCIM push runs some 20 to 70
 * statements, and the server doing that work shares the machine's CPU with Tenure. A statement sent
 * with a name is parsed once per connection and its plan may be kept (node-postgres sends the text
 * only the first time a connection sees the name). So each statement text with parameters — the ones
 * a program runs again and again — gets a name, the same in every connection, up to
 * {@link MAX_NAMED} texts (a text of a new shape beyond them goes unnamed, as before).
 *
 * Not named: texts without parameters (DDL, one-off statements), and texts whose result columns follow
 * the table (`*`): a table changed under a prepared `select *` fails with "cached plan must not change
 * result type". After any DDL this process sends (a migration), every name is new, so a statement
 * prepared before is prepared again rather than run on a plan of the old table.
 */
const MAX_NAMED = 500;

/**
 * A statement whose text starts with this is never named: PostgreSQL plans it on each run, with the
 * table as it is then. For lookups whose best index the planner tells apart only once the table has
 * rows (store/keyed-lookup.ts): a named statement's generic plan, made while the table was empty,
 * keeps the index it chose then — scim_resources' (type, id) for a lookup by (type, name_key), a
 * filter over every User on each run.
 */
export const PLAN_EACH_RUN = "/* planned on each run */ ";

let generation = 0;
const names = new Map<string, string>();
const DDL = /^\s*(create|alter|drop|truncate|comment)\b/i;
const STAR = /\b(select|returning)\s+\*|,\s*\*|"\w+"\.\*/i;

function nameOf(text: string): string | undefined {
  const known = names.get(text);
  if (known !== undefined) return known;
  if (names.size >= MAX_NAMED || STAR.test(text) || text.startsWith(PLAN_EACH_RUN)) return undefined;
  const name = `tenure_${generation}_${names.size}`;
  names.set(text, name);
  return name;
}

/** Sends `client`'s parameterised statements named (see above). Call once per new connection. */
export function nameStatements(client: pg.ClientBase): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config === "string") {
      if (DDL.test(config)) {
        generation += 1;
        names.clear();
      } else if (Array.isArray(values) && values.length > 0 && callback === undefined) {
        const name = nameOf(config);
        if (name !== undefined) return query({ name, text: config, values });
      }
    }
    return callback === undefined ? query(config, values) : query(config, values, callback);
  };
}
