// biome-ignore-all lint/suspicious/noTemplateCurlyInString: "${" is the start of a reference in tenure.yaml text.
import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";

const folder = "expected the path of a folder that holds secret files, e.g. /run/secrets";

/**
 * `secrets:` — where `${file:PATH}` may read from besides the configuration's own folder (and the
 * folders under it): `folders`, a list of paths, relative ones against the configuration's folder. The
 * loader reads this section before any reference is resolved, and checks that each folder exists;
 * nothing of it is kept in `TenureConfig`.
 */
export const secretsSection = strictObject({
  folders: z.array(z.string({ error: folder }).min(1, { error: folder })).default([]),
}).prefault({});

/**
 * The folders listed under `secrets.folders` in the document as data, each with its position in the
 * list, before the section is validated: the ones that are not strings are skipped here and reported
 * by {@link secretsSection}.
 */
export function listedSecretFolders(data: unknown): { index: number; path: string }[] {
  const section =
    typeof data === "object" && data !== null ? (data as { secrets?: unknown }).secrets : undefined;
  const folders =
    typeof section === "object" && section !== null ? (section as { folders?: unknown }).folders : undefined;
  if (!Array.isArray(folders)) return [];
  // A folder written as a reference is refused where references are resolved (it is no secret).
  return folders.flatMap((path, index) =>
    typeof path === "string" && path !== "" && !path.includes("${") ? [{ index, path }] : [],
  );
}
