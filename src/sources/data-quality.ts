import type { WorkerAttributes, WorkerRecord } from "../domain/identity-types.js";
import type { AttributeName } from "../policy/config-types.js";
import { describeField, describeRow, listForMessage } from "./finding-format.js";
import type { CandidateRow } from "./record-mapping.js";
import { requiredAttributes } from "./record-mapping.js";
import type { Finding, FindingCode, KnownPerson } from "./source-types.js";

export interface DataQualityOptions {
  /** The identities already stored for this source, to tell a changed key from a new person. */
  known: readonly KnownPerson[];
  /** The source's correlation fallback: with `email`, a changed key is a warning sync resolves by rekeying. */
  fallback: "none" | "email";
  /** The source's key attribute. Default `employeeId`. */
  key?: AttributeName;
  /** The source's column mapping, only to name columns in messages. */
  columns?: Readonly<Partial<Record<AttributeName, string>>>;
}

export interface DataQualityResult {
  /** Rows without any error finding, in row order. */
  valid: WorkerRecord[];
  /** Every finding, the mapper's included, ordered by row. */
  findings: Finding[];
  /**
   * Every key the rows carry, valid or refused, and the stored key a refused row was matched to by
   * `key_changed`: the people present in the export (SourceReadResult.presentKeys).
   */
  presentKeys: string[];
}

// Pragmatic, not RFC 5322: one @, no spaces, a dotted domain. Catches the typos HR data really has
// ("jane.doe@", "jane doe@x.com", "jane@@x.com", "jane@example") without rejecting real addresses.
const EMAIL = /^[^\s@"<>(),;:\\[\]]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?\.)+[\p{L}]{2,}$/u;

const DATES_AFTER_START = ["endDate", "terminationDate"] as const;

/** Longest manager chain spelled out in full in a `manager_cycle` message. */
const MAX_CHAIN_IN_MESSAGE = 10;

/**
 * Checks the mapped rows of one whole export (or one pushed batch) against each other and against
 * the identities already stored. Pure; O(rows) with hash maps, so 100,000 rows take well under a second.
 *
 * Every finding carries the row (and line, key, field where known) and a message saying what and
 * where. `error` findings skip the row — a bad row is reported, never guessed; `warning` findings
 * keep it:
 *
 * | code                    | severity                                  |
 * |-------------------------|-------------------------------------------|
 * | duplicate_key           | error, on every row sharing the key, naming their rows and lines |
 * | missing_required        | error (key, employeeId, givenName, familyName) |
 * | malformed_email         | error                                     |
 * | control_character       | error (from mapping)                      |
 * | too_long                | error (from mapping)                      |
 * | invalid_date            | error (from mapping)                      |
 * | invalid_value           | error (from mapping)                      |
 * | end_before_start        | error                                     |
 * | terminated_without_date | error                                     |
 * | duplicate_email         | error, on every row of the differing keys |
 * | key_changed             | error with fallback none, warning with email (error if ambiguous) |
 * | unknown_manager         | warning; managerId kept as given          |
 * | manager_cycle           | warning, one per row in the cycle         |
 *
 * A row with several problems gets a finding for each, so one pass shows everything to fix.
 */
export function checkDataQuality(
  candidates: readonly CandidateRow[],
  options: DataQualityOptions,
): DataQualityResult {
  const keyAttribute = options.key ?? "employeeId";
  const required = requiredAttributes(keyAttribute);
  const findings: Finding[] = [];
  const hasError = new Uint8Array(candidates.length);

  const add = (
    index: number,
    code: FindingCode,
    severity: Finding["severity"],
    message: string,
    extra: { field?: string; previousKey?: string } = {},
  ): void => {
    const c = candidates[index]!;
    const finding: Finding = {
      source: c.source,
      row: c.row,
      key: c.key,
      code,
      severity,
      message: `${describeRow(c.row, c.line, c.key)}: ${message}`,
    };
    if (c.line !== undefined) finding.line = c.line;
    if (extra.field !== undefined) finding.field = extra.field;
    if (extra.previousKey !== undefined) finding.previousKey = extra.previousKey;
    findings.push(finding);
    if (severity === "error") hasError[index] = 1;
  };
  const field = (attribute: AttributeName) => describeField(attribute, options.columns);

  // Indexes over the whole export, built once.
  const rowsByKey = createGrouping<number>();
  const rowsByEmail = createGrouping<number>();
  const emailOk = new Uint8Array(candidates.length);
  candidates.forEach((c, i) => {
    for (const f of c.findings) {
      findings.push(f);
      if (f.severity === "error") hasError[i] = 1;
    }
    if (c.key !== null) rowsByKey.add(c.key, i);
    const email = c.attributes.email;
    if (email !== null && EMAIL.test(email)) {
      emailOk[i] = 1;
      if (c.key !== null) rowsByEmail.add(email.toLowerCase(), i);
    }
  });
  const knownKeys = new Set<string>();
  for (const p of options.known) knownKeys.add(p.sourceKey);
  // Only rows with a key we have never seen need it, usually a handful, so it is built on first use.
  let knownByEmail: Grouping<KnownPerson> | undefined;
  const knownWithEmail = (email: string): readonly KnownPerson[] => {
    if (knownByEmail === undefined) {
      knownByEmail = createGrouping<KnownPerson>();
      for (const p of options.known) {
        if (p.email !== null) knownByEmail.add(p.email.trim().toLowerCase(), p);
      }
    }
    return knownByEmail.all(email);
  };

  candidates.forEach((c, i) => {
    const a = c.attributes;

    for (let r = 0; r < required.length; r++) {
      const attribute = required[r]!;
      // A value the mapper refused (control character, too long) is not empty: its finding says why.
      if (a[attribute] === null && !c.findings.some((f) => f.field === attribute)) {
        add(i, "missing_required", "error", `required ${field(attribute)} is empty`, { field: attribute });
      }
    }

    if (a.email !== null && emailOk[i] === 0) {
      add(i, "malformed_email", "error", `${field("email")} "${a.email}" is not a valid email address`, {
        field: "email",
      });
    }

    if (a.startDate !== null && (a.endDate !== null || a.terminationDate !== null)) {
      for (const attribute of DATES_AFTER_START) {
        const date = a[attribute];
        if (date !== null && date < a.startDate) {
          add(
            i,
            "end_before_start",
            "error",
            `${field(attribute)} ${date} is before ${field("startDate")} ${a.startDate}`,
            { field: attribute },
          );
        }
      }
    }

    // A terminationDate that failed to parse already has invalid_date; "without date" would mislead.
    if (
      a.status === "terminated" &&
      a.terminationDate === null &&
      !c.findings.some((f) => f.field === "terminationDate")
    ) {
      add(
        i,
        "terminated_without_date",
        "error",
        `${field("status")} is terminated but ${field("terminationDate")} is empty, so the leave date is unknown`,
        { field: "terminationDate" },
      );
    }

    if (a.managerId !== null && !rowsByKey.has(a.managerId) && !knownKeys.has(a.managerId)) {
      add(
        i,
        "unknown_manager",
        "warning",
        `${field("managerId")} "${a.managerId}" is not a key in this export nor a known identity; kept as given`,
        { field: "managerId" },
      );
    }

    if (
      c.key !== null &&
      !knownKeys.has(c.key) &&
      emailOk[i] === 1 &&
      a.givenName !== null &&
      a.familyName !== null
    ) {
      const given = normaliseName(a.givenName);
      const family = normaliseName(a.familyName);
      const matches = knownWithEmail(a.email!.toLowerCase()).filter(
        (p) => normaliseName(p.givenName) === given && normaliseName(p.familyName) === family,
      );
      if (matches.length === 1) {
        const previous = matches[0]!.sourceKey;
        const same = `has the email and name of the known identity with key "${previous}"`;
        if (options.fallback === "email") {
          add(i, "key_changed", "warning", `new key ${same}; sync will move that identity to the new key`, {
            field: keyAttribute,
            previousKey: previous,
          });
        } else {
          add(
            i,
            "key_changed",
            "error",
            `new key ${same}; skipped so no second identity is created (set correlation fallback to email to rekey, or fix the key)`,
            { field: keyAttribute, previousKey: previous },
          );
        }
      } else if (matches.length > 1) {
        add(
          i,
          "key_changed",
          "error",
          `new key has the email and name of ${matches.length} known identities (keys ${listForMessage(matches.map((p) => `"${p.sourceKey}"`))}); cannot tell which one it is`,
          { field: keyAttribute },
        );
      }
    }
  });

  for (const [key, rows] of rowsByKey.repeated()) {
    const places = rows.map((r) => {
      const c = candidates[r]!;
      return c.line === undefined ? String(c.row) : `${c.row} (line ${c.line})`;
    });
    for (const r of rows) {
      add(
        r,
        "duplicate_key",
        "error",
        `${field(keyAttribute)} "${key}" appears in rows ${listForMessage(places)}; none of them is used because the right one cannot be told`,
        { field: keyAttribute },
      );
    }
  }

  for (const [, rows] of rowsByEmail.repeated()) {
    const keys = new Set(rows.map((r) => candidates[r]!.key));
    // Rows repeating one key are duplicate_key's business, not a shared mailbox.
    if (keys.size < 2) continue;
    for (const r of rows) {
      const c = candidates[r]!;
      // Only a handful are named, so a mailbox shared by thousands of rows stays linear.
      const named = rows
        .slice(0, 6)
        .filter((o) => o !== r)
        .slice(0, 5)
        .map((o) => `row ${candidates[o]!.row} ("${candidates[o]!.key}")`);
      const more = rows.length - 1 - named.length;
      add(
        r,
        "duplicate_email",
        "error",
        `${field("email")} "${c.attributes.email}" is also used by ${named.join(", ")}${more > 0 ? ` and ${more} more` : ""}`,
        { field: "email" },
      );
    }
  }

  for (const cycle of findManagerCycles(candidates, rowsByKey)) {
    const keys = cycle.map((r) => candidates[r]!.key!);
    cycle.forEach((r, position) => {
      add(
        r,
        "manager_cycle",
        "warning",
        `managers form a cycle: ${describeChain(keys, position)}; records kept as given`,
        { field: "managerId" },
      );
    });
  }

  const valid: WorkerRecord[] = [];
  const presentKeys: string[] = [];
  candidates.forEach((c, i) => {
    if (c.key !== null) presentKeys.push(c.key);
    if (hasError[i] === 1) return;
    valid.push({
      source: c.source,
      key: c.key!,
      row: c.row,
      raw: c.raw,
      // No error means every required attribute is present and the enumerations parsed.
      attributes: c.attributes as WorkerAttributes,
    });
  });

  // Stable sort: within a row, mapping findings first, then the checks above in their order.
  findings.sort((x, y) => x.row - y.row);
  // A refused row matched to a stored identity under its old key is that person, present.
  for (const f of findings) {
    if (f.code === "key_changed" && f.previousKey !== undefined) presentKeys.push(f.previousKey);
  }
  return { valid, findings, presentKeys };
}

/**
 * Values grouped by a string key. Almost every key has one value, so a list is only allocated for
 * keys seen twice: 100,000 one-element arrays were most of the run time, in the garbage collector.
 */
interface Grouping<V> {
  add(key: string, value: V): void;
  has(key: string): boolean;
  /** The value when exactly one has this key. */
  only(key: string): V | undefined;
  all(key: string): readonly V[];
  /** Keys with two or more values, and all their values in insertion order. */
  repeated(): IterableIterator<[string, V[]]>;
}

function createGrouping<V>(): Grouping<V> {
  const first = new Map<string, V>();
  const more = new Map<string, V[]>();
  return {
    add(key, value) {
      if (!first.has(key)) {
        first.set(key, value);
        return;
      }
      const list = more.get(key);
      if (list === undefined) more.set(key, [first.get(key)!, value]);
      else list.push(value);
    },
    has: (key) => first.has(key),
    only: (key) => (more.has(key) ? undefined : first.get(key)),
    all: (key) => more.get(key) ?? (first.has(key) ? [first.get(key)!] : []),
    repeated: () => more.entries(),
  };
}

function normaliseName(name: string): string {
  return name.normalize("NFC").trim().toLowerCase();
}

/**
 * Cycles in the manager graph, each as candidate indexes in manager order. Only rows whose key is
 * unique take part: for a duplicated key we cannot tell which row's manager is right. Linear: every
 * row is walked once, colouring it with the walk that reached it, so meeting the current walk's
 * colour again is a cycle and meeting an older colour is a path already explored.
 */
function findManagerCycles(candidates: readonly CandidateRow[], rowsByKey: Grouping<number>): number[][] {
  const uniqueRow = rowsByKey.only;
  const walkOf = new Int32Array(candidates.length); // 0 = not yet visited
  const positionInWalk = new Int32Array(candidates.length);
  const cycles: number[][] = [];
  let walk = 0;

  for (let start = 0; start < candidates.length; start++) {
    const startKey = candidates[start]!.key;
    if (walkOf[start] !== 0 || startKey === null || uniqueRow(startKey) !== start) continue;
    walk += 1;
    const path: number[] = [];
    let current: number | undefined = start;
    while (current !== undefined && walkOf[current] === 0) {
      walkOf[current] = walk;
      positionInWalk[current] = path.length;
      path.push(current);
      const managerId: string | null = candidates[current]!.attributes.managerId;
      current = managerId === null ? undefined : uniqueRow(managerId);
    }
    if (current !== undefined && walkOf[current] === walk) {
      cycles.push(path.slice(positionInWalk[current]));
    }
  }
  return cycles;
}

/** `E2 → E3 → E1 → E2`, starting at `position`; long cycles are abbreviated in the middle. */
function describeChain(keys: readonly string[], position: number): string {
  const n = keys.length;
  const at = (offset: number) => keys[(position + offset) % n]!;
  if (n <= MAX_CHAIN_IN_MESSAGE) {
    return [...Array.from({ length: n }, (_, k) => at(k)), at(0)].join(" → ");
  }
  const head = Array.from({ length: 3 }, (_, k) => at(k));
  return `${head.join(" → ")} → … (${n - 4} more) … → ${at(n - 1)} → ${at(0)}`;
}
