const texts = new WeakMap<object, string>();

/**
 * JSON text of an object that is never mutated after it is made (identity attributes are replaced,
 * not edited; a role's lineage is frozen), serialised once however often it is written: a sync stores
 * the same attributes as an identity's and as its source record's, a review campaign the same role
 * lineage in every holder's items.
 */
export function jsonOf(value: object): string {
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}
