/**
 * The one rule for keeping secrets out of messages, logs, audit events and API answers:
 * - a URL's password (`scheme://user:PASSWORD@host`) becomes `***`, taking everything up to the last
 *   `@` before the path's end as the password so an unencoded `@` or `/` in it is hidden too (erring
 *   towards hiding more);
 * - a query parameter whose name says it holds a secret (pass, secret, token, key, auth, sig) has its
 *   value masked;
 * - every occurrence of a known secret of three characters or more, and of its URL-encoded and
 *   JSON-escaped forms (a secret inside a JSON answer), is replaced (shorter ones would turn messages into asterisks while hiding nothing);
 * - a value written as a single `${env:…}` / `${file:…}` reference is kept: it names where the secret
 *   lives, not the secret.
 */
export const MASK = "***";

const MIN_SECRET_LENGTH = 3;
const SECRET_PARAMETER = /([?&][^=&#\s]*(?:pass|secret|token|key|auth|sig)[^=&#\s]*=)([^&#\s]*)/gi;
const REFERENCE = /^\$\{(env|file):[^}]*\}$/;
const URL_IN_TEXT = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s"'<>`]+)/g;

/** One URL (which may be malformed) with its password and secret query values masked. */
export function redactUrl(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (scheme === null) return url;
  return scheme[0] + redactAfterScheme(url.slice(scheme[0].length));
}

/** Every URL in a free text masked as `redactUrl` masks one, and every given secret replaced. */
export function redactSecrets(text: string, secrets: readonly string[] = []): string {
  return redactor(secrets)(text);
}

/** `redactSecrets` with the secrets bound. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const mask = knownSecretsMasker(secrets);
  return (text) =>
    mask(
      text.replace(URL_IN_TEXT, (_whole, scheme: string, rest: string) => scheme + redactAfterScheme(rest)),
    );
}

/**
 * Only the known secrets masked, not URL passwords: for texts that show URL syntax on purpose (a
 * config error's `expected smtp://USER:PASSWORD@HOST`) or that are already free of inline
 * credentials (API answers, where every secret a reference produced is known).
 */
export function maskKnownSecrets(text: string, secrets: readonly string[]): string {
  return knownSecretsMasker(secrets)(text);
}

/** The masker of the given secrets, the longest first so a secret containing another goes whole. */
function knownSecretsMasker(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) if (out.includes(form)) out = out.split(form).join(MASK);
    return out;
  };
}

function redactAfterScheme(rest: string): string {
  const queryStart = rest.indexOf("?");
  const beforeQuery = queryStart === -1 ? rest : rest.slice(0, queryStart);
  const query = queryStart === -1 ? "" : rest.slice(queryStart);
  let main = beforeQuery;
  const at = beforeQuery.lastIndexOf("@");
  const colon = at === -1 ? -1 : beforeQuery.slice(0, at).indexOf(":");
  if (colon !== -1) {
    const password = beforeQuery.slice(colon + 1, at);
    if (password !== "" && !REFERENCE.test(password)) {
      main = `${beforeQuery.slice(0, colon + 1)}${MASK}${beforeQuery.slice(at)}`;
    }
  }
  const maskedQuery = query.replace(SECRET_PARAMETER, (whole, name: string, value: string) =>
    value === "" || REFERENCE.test(value) ? whole : `${name}${MASK}`,
  );
  return main + maskedQuery;
}
