import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { workerAttributes } from "../../test/fakes/worker-attributes.js";
import { allocateUsername, compileTemplate, TemplateError, toSlug, toUsername } from "./username-template.js";

const zoe = workerAttributes({
  givenName: "Zoë",
  familyName: "O'Brien-Łukasik",
  displayName: "Zoë O'Brien-Łukasik",
  email: "zoe@example.test",
  title: null,
});

describe("compileTemplate", () => {
  it("lists the attributes it reads and renders them", () => {
    const t = compileTemplate("{givenName}.{familyName}");
    expect(t.reads).toEqual(["givenName", "familyName"]);
    expect(t.render(zoe)).toBe("Zoë.O'Brien-Łukasik");
  });

  it("rejects an unknown attribute when compiled, naming it", () => {
    expect(() => compileTemplate("{givenName}.{surname}")).toThrow(TemplateError);
    expect(() => compileTemplate("{givenName}.{surname}")).toThrow(/unknown attribute "surname"/);
  });

  it("applies filters in order, and rejects an unknown one naming it", () => {
    const sales = workerAttributes({ department: "Sales & Marketing", title: "Zoë's Team" });
    expect(compileTemplate("dept-{department|slug}").render(sales)).toBe("dept-sales-marketing");
    expect(compileTemplate("{ department | lower }/{title|slug|upper}").render(sales)).toBe(
      "sales & marketing/ZOE-S-TEAM",
    );
    expect(compileTemplate("dept-{department|slug}").reads).toEqual(["department"]);
    expect(() => compileTemplate("{department|slugify}")).toThrow(/unknown filter "slugify" on department/);
  });

  it("slugs text: ASCII, lower-case, one dash between words, none at the ends", () => {
    expect(toSlug("  R&D / Łódź  ")).toBe("r-d-lodz");
    expect(toSlug("Straße")).toBe("strasse");
    expect(toSlug("日本")).toBe("riben");
  });

  it("rejects unbalanced braces and accepts doubled ones as literals", () => {
    expect(() => compileTemplate("{givenName")).toThrow(/unclosed/);
    expect(() => compileTemplate("givenName}")).toThrow(/unmatched/);
    expect(compileTemplate("{{x}} {employeeId}").render(zoe)).toBe("{x} E1");
  });

  it("renders null as empty, and renderValue keeps a lone null attribute null", () => {
    const t = compileTemplate("{title}");
    expect(t.render(zoe)).toBe("");
    expect(t.renderValue(zoe)).toBeNull();
    expect(compileTemplate("{title} at {department}").renderValue(zoe)).toBe(" at Engineering");
    expect(compileTemplate("static").renderValue(zoe)).toBe("static");
  });
});

describe("toUsername", () => {
  it("transliterates, lower-cases and drops punctuation", () => {
    expect(toUsername(compileTemplate("{givenName}.{familyName}").render(zoe))).toBe("zoe.obrien-lukasik");
  });

  it.each([
    ["Søren.Kierkegaard", "soren.kierkegaard"],
    ["Straße", "strasse"],
    ["Æsa.Œuvre", "aesa.oeuvre"],
    ["Đorđe.Þórsson", "dorde.thorsson"],
    ["Işık", "isik"],
    ["Ángel.Núñez", "angel.nunez"],
    ["ﬁona", "fiona"],
    ["..a..b--c__", "a.b-c"],
    ["a .-b", "a.b"],
    // Every script gets a username (any-ascii), not an empty one.
    ["王.小明", "wang.xiaoming"],
    ["Анна.Иванова", "anna.ivanova"],
    ["Γιώργος.Παπαδόπουλος", "giorgos.papadopoylos"],
    ["김.민준", "gim.minjun"],
    ["राज.शर्मा", "raj.srma"],
    ["محمد.علي", "mhmd.ly"],
    ["!!!", ""],
  ])("%s → %s", (text, expected) => {
    expect(toUsername(text)).toBe(expected);
  });

  it("renders a name of letters from any script as a non-empty username", () => {
    // Not Arabic's alef alone: a vowel carrier, it renders as nothing (usernameFallback covers such names).
    const letters = fc.constantFrom(..."AжЖλΣ王芳김민بحمשדकखกขあアéßł".split(""));
    fc.assert(
      fc.property(fc.array(letters, { minLength: 1, maxLength: 12 }), (chars) => {
        expect(toUsername(chars.join(""))).toMatch(/^[a-z0-9]+$/);
      }),
    );
  });

  it("always yields [a-z0-9._-] with no separator at the ends or twice in a row", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 30 }), (text) => {
        const u = toUsername(text);
        expect(u).toMatch(/^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*)?$/);
        expect(toUsername(u)).toBe(u);
      }),
    );
  });
});

describe("allocateUsername", () => {
  const taken = new Set(["jane.doe", "jane.doe2", "john"]);

  it("keeps a free base", () => {
    expect(allocateUsername("ann", taken, "suffix")).toEqual({ ok: true, username: "ann" });
  });

  it("appends the first free number on suffix", () => {
    expect(allocateUsername("jane.doe", taken, "suffix")).toEqual({ ok: true, username: "jane.doe3" });
    expect(allocateUsername("john", taken, "suffix")).toEqual({ ok: true, username: "john2" });
  });

  it("fails with the taken name on fail, and on an empty base", () => {
    const taken1 = allocateUsername("john", taken, "fail");
    expect(taken1).toMatchObject({ ok: false, reason: "taken", username: "john" });
    expect(allocateUsername("", taken, "suffix")).toMatchObject({ ok: false, reason: "empty" });
  });
});
