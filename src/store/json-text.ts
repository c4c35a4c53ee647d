const texts = new WeakMap<object, string>();

/**
 * JSON text of an object that is never mutated after it is made (identity attributes are replaced,
 * not edited). A sync stores the same attributes as an identity's and as its source record's, so
 * each object is serialised once.
 */
export function jsonOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}
