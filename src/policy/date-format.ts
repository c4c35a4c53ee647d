/** One piece of a date pattern such as `DD/MM/YYYY`. */
export type DateFormatPart =
  | { readonly kind: "year" }
  /** `padded`: exactly two digits (`MM`, `DD`); otherwise one or two (`M`, `D`). */
  | { readonly kind: "month" | "day"; readonly padded: boolean }
  | { readonly kind: "literal"; readonly text: string };

export type DateFormatParse =
  | { readonly ok: true; readonly parts: readonly DateFormatPart[] }
  | { readonly ok: false; readonly problem: string };

/**
 * Splits a date pattern into tokens (YYYY, MM, M, DD, D) and the separators between them.
 * A valid pattern has exactly one year, one month and one day token; any other letter is an error;
 * a one-or-two digit token (M, D) must not touch another token, or its width would be ambiguous.
 * Problems are described without quoting the pattern, which may have come from a `${env:…}` value.
 */
export function parseDateFormat(format: string): DateFormatParse {
  const parts: DateFormatPart[] = [];
  let i = 0;
  while (i < format.length) {
    const rest = format.slice(i);
    if (rest.startsWith("YYYY")) {
      parts.push({ kind: "year" });
      i += 4;
    } else if (rest.startsWith("Y")) {
      return { ok: false, problem: "the year must be written YYYY (four digits)" };
    } else if (rest.startsWith("MM") || rest.startsWith("DD")) {
      parts.push({ kind: rest.startsWith("M") ? "month" : "day", padded: true });
      i += 2;
    } else if (rest.startsWith("M") || rest.startsWith("D")) {
      parts.push({ kind: rest.startsWith("M") ? "month" : "day", padded: false });
      i += 1;
    } else if (/^[A-Za-z]/.test(rest)) {
      return { ok: false, problem: "only the tokens YYYY, MM, M, DD and D may be letters" };
    } else {
      const last = parts.at(-1);
      const ch = rest[0] ?? "";
      if (last?.kind === "literal") parts[parts.length - 1] = { kind: "literal", text: last.text + ch };
      else parts.push({ kind: "literal", text: ch });
      i += 1;
    }
  }
  for (const kind of ["year", "month", "day"] as const) {
    const count = parts.filter((p) => p.kind === kind).length;
    const tokens = kind === "year" ? "YYYY" : kind === "month" ? "MM or M" : "DD or D";
    if (count === 0) return { ok: false, problem: `a ${kind} token (${tokens}) is missing` };
    if (count > 1) return { ok: false, problem: `the ${kind} appears ${count} times` };
  }
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p];
    if (part === undefined || part.kind === "literal" || part.kind === "year" || part.padded) continue;
    const touches = [parts[p - 1], parts[p + 1]].some((n) => n !== undefined && n.kind !== "literal");
    if (touches) {
      return {
        ok: false,
        problem: "a one-or-two digit token (M or D) needs a separator next to any other token",
      };
    }
  }
  return { ok: true, parts };
}
