/**
 * Public ids are prefixed and opaque (`usr_…`, `ord_…`): every property named `id` or `…Id` declares a
 * pattern that starts with a known prefix, and `userId`-like names use their resource's prefix.
 *
 * Runs on the unresolved document (each schema once, where it is written); follows local `$ref`s.
 * Options: `prefixes` (noun → prefix, e.g. `user: usr`), `exempt` (names that are not resource ids).
 */
export default function prefixedIds(properties, options, context) {
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return [];
  const byNoun = options?.prefixes ?? {};
  const known = new Set(Object.values(byNoun));
  const exempt = new Set(options?.exempt ?? []);
  const root = context.document.data;
  const results = [];
  for (const [name, raw] of Object.entries(properties)) {
    if (exempt.has(name) || !(name === 'id' || /[a-z]Id$/.test(name))) continue;
    const noun =
      name === 'id'
        ? undefined
        : name
            .slice(0, -2)
            .replace(/([a-z])([A-Z])/g, '$1-$2')
            .toLowerCase();
    const expected = noun === undefined ? undefined : byNoun[noun];
    const prefixes = patternsOf(raw, root)
      .map((pattern) => /^\^\(?([a-z]{2,4})_/.exec(pattern)?.[1])
      .filter(Boolean);
    const wanted = expected
      ? `${expected}_`
      : `one of ${[...known].map((prefix) => `${prefix}_`).join(', ')}`;
    const ok =
      prefixes.length > 0 && prefixes.every((prefix) => (expected ? prefix === expected : known.has(prefix)));
    if (!ok) {
      results.push({
        message: `"${name}" must be a prefixed public id: a string pattern starting with ^${expected ? `${expected}_` : '<prefix>_'} (${wanted})`,
        path: [...context.path, name],
      });
    }
  }
  return results;
}

/** The string patterns a schema allows (through `$ref`, `anyOf`, `oneOf`, `allOf`). */
function patternsOf(schema, root, seen = new Set()) {
  if (schema === null || typeof schema !== 'object' || seen.has(schema)) return [];
  seen.add(schema);
  if (typeof schema.$ref === 'string') return patternsOf(resolve(schema.$ref, root), root, seen);
  const found = typeof schema.pattern === 'string' ? [schema.pattern] : [];
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    for (const branch of schema[key] ?? []) found.push(...patternsOf(branch, root, seen));
  }
  return found;
}

function resolve(reference, root) {
  if (!reference.startsWith('#/')) return undefined;
  return reference
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node, part) => (node === null || typeof node !== 'object' ? undefined : node[part]), root);
}
