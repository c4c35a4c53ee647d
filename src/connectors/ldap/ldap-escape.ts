import { Filter } from "ldapts";

/**
 * Escapes a value for an LDAP search filter (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become `\XX`.
 * Delegates to ldapts' `Filter.escape`, which implements exactly that.
 */
export function escapeFilterValue(value: string): string {
  return Filter.escape(value);
}

/**
 * Escapes an attribute value for a DN (RFC 4514 §2.4): `"` `+` `,` `;` `<` `>` and `=` get a
 * backslash, `\` becomes `\5c` and NUL `\00`, and a leading `#` or space and a trailing space are escaped.
 */
export function escapeDnValue(value: string): string {
  let out = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === "\u0000") out += "\\00";
    // Hex, not `\\`: ldapts splits a new DN at the first comma not preceded by a backslash.
    else if (c === "\\") out += "\\5c";
    else if ('"+,;<>\\='.includes(c)) out += `\\${c}`;
    else if ((i === 0 && (c === "#" || c === " ")) || (i === value.length - 1 && c === " ")) out += `\\${c}`;
    else out += c;
  }
  return out;
}

/**
 * A comparable form of a DN: attribute types and values lower-cased, escapes decoded, multi-valued
 * RDNs sorted. Two spellings of one DN (`\,` vs `\2C`, `UID=` vs `uid=`) give the same key. Values are
 * compared case-insensitively, as the directory does for `uid` and `cn`.
 */
export function normalizeDn(dn: string): string {
  // Most DNs hold no escapes and no multi-valued RDNs: split them directly (reconcile normalises every
  // member value of every group, so this is a hot path). The result is the same as the full parse's.
  if (!/[\\+;"]/.test(dn)) {
    const rdns = dn.split(",");
    if (rdns.every((rdn) => rdn.includes("="))) {
      return rdns
        .map((rdn) => {
          const eq = rdn.indexOf("=");
          const value = rdn
            .slice(eq + 1)
            .trim()
            .toLowerCase();
          return `${rdn.slice(0, eq).trim().toLowerCase()}=${JSON.stringify(value)}`;
        })
        .join(",");
    }
  }
  const rdns: string[][] = [];
  let avas: string[] = [];
  let type = "";
  let bytes: number[] = [];
  let inValue = false;
  const flush = () => {
    const value = Buffer.from(bytes).toString("utf8").trim().toLowerCase();
    avas.push(`${type.trim().toLowerCase()}=${JSON.stringify(value)}`);
    type = "";
    bytes = [];
    inValue = false;
  };
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i]!;
    if (!inValue) {
      if (c === "=") inValue = true;
      else type += c;
      continue;
    }
    if (c === "\\" && i + 1 < dn.length) {
      const hex = dn.slice(i + 1, i + 3);
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(dn[i + 1]!, "utf8"));
        i += 1;
      }
    } else if (c === "+") {
      flush();
    } else if (c === "," || c === ";") {
      flush();
      rdns.push(avas.sort());
      avas = [];
    } else {
      bytes.push(...Buffer.from(c, "utf8"));
    }
  }
  if (inValue || type.trim() !== "") flush();
  if (avas.length > 0) rdns.push(avas.sort());
  return rdns.map((rdn) => rdn.join("+")).join(",");
}

/** Whether `dn` is `base` or lies below it. */
export function isUnderDn(dn: string, base: string): boolean {
  const d = normalizeDn(dn);
  const b = normalizeDn(base);
  return d === b || d.endsWith(`,${b}`);
}
