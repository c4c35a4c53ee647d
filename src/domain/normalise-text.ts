/**
 * The one form in which every text value from a source is kept and compared: Unicode NFC, then
 * trimmed of leading and trailing white space as `String.prototype.trim` defines it (space, tab, line
 * breaks, no-break space, U+FEFF and the other Unicode space separators). So `é` written as one code
 * point (NFC) or as `e` + combining acute (NFD), or a key with a trailing space, is the same key, and
 * cannot make two people. Pure and idempotent.
 */
export function normaliseText(text: string): string {
  return text.normalize("NFC").trim();
}
