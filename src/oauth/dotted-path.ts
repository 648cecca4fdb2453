/**
 * Reads `a.b.c` from a parsed JSON document; undefined when any step is
 * missing or not an object. Arrays are not indexed: no catalog path needs it.
 */
export function readPath(doc: unknown, path: string): unknown {
  let node = doc;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/**
 * A value at `path` as text: strings as they are, numbers and booleans
 * written out (Strava athlete ids, HubSpot portal ids). Empty text and
 * objects count as absent.
 */
export function readText(doc: unknown, path: string): string | undefined {
  const value = readPath(doc, path);
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}
