import { type Compilable, CompiledQuery } from "kysely";

const MARK = "\u0000tenure-value:";

/**
 * Queries of a fixed shape whose values change, built by Kysely once per shape: building and
 * compiling a query with subqueries costs far more than running it (an operation claim: 0.55 ms to
 * build, 0.09 ms to run on SQLite), and a push claims five times. `build` is given `value(name)` for
 * each value that changes between calls — a marker that compiles to a parameter like any value — and
 * each call's values take the markers' places; everything else bound in the query stays as built.
 * `key` must name everything that changes the query's text: the dialect, which clauses are present,
 * the length of each list. At most `max` shapes are kept; others are built on every call.
 */
export class QueryTemplates {
  private readonly compiled = new Map<string, CompiledQuery>();

  constructor(private readonly max = 64) {}

  compile(
    key: string,
    build: (value: (name: string) => string) => Compilable,
    values: Readonly<Record<string, unknown>>,
  ): CompiledQuery {
    let template = this.compiled.get(key);
    if (template === undefined) {
      template = build((name) => MARK + name).compile();
      if (this.compiled.size < this.max) this.compiled.set(key, template);
    }
    const parameters = template.parameters.map((p) => {
      if (typeof p !== "string" || !p.startsWith(MARK)) return p;
      const name = p.slice(MARK.length);
      if (!Object.hasOwn(values, name)) throw new Error(`query template ${key}: no value for ${name}`);
      return values[name];
    });
    return CompiledQuery.raw(template.sql, parameters);
  }
}
