/**
 * The directory person the LDAP benches write, Tenure's way and the bare floor's way alike: both sides of
 * a ratio must write the same entry, so they take it from here.
 */

/** The uid of bench person `i`. */
export const benchUsername = (i: number): string => `p${String(i).padStart(6, "0")}`;

/** The inetOrgPerson entry of bench person `i`, as ldapts `add` takes it. */
export const benchPersonEntry = (i: number) => ({
  objectClass: ["inetOrgPerson"],
  uid: benchUsername(i),
  cn: `Person ${i}`,
  sn: `Number${i}`,
  givenName: "Person",
  mail: `person${i}@example.test`,
  displayName: `Person ${i}`,
});
