/**
 * Paths name resources: each fixed segment is a lowercase plural noun (or a declared singleton such
 * as `cart`), never a verb. `/users/{id}/orders` passes; `/getUser`, `/user/{id}` and
 * `/user-order-list` do not.
 *
 * Options: `singletons` (segments allowed to be singular), `verbs` (words no segment may contain).
 */
export default function resourcePaths(paths, options) {
  if (paths === null || typeof paths !== 'object') return [];
  const singletons = new Set(options?.singletons ?? []);
  const verbs = new Set(options?.verbs ?? []);
  const results = [];
  for (const path of Object.keys(paths)) {
    const report = (message) => results.push({ message: `${path}: ${message}`, path: ['paths', path] });
    for (const segment of path.split('/').filter(Boolean)) {
      if (/^\{[^}]+\}$/.test(segment) || /^v\d+$/.test(segment) || singletons.has(segment)) continue;
      const words = segment
        .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
        .toLowerCase()
        .split(/[\s_.-]+/)
        .filter(Boolean);
      const verb = words.find((word) => verbs.has(word));
      if (verb) {
        report(
          `"${segment}" contains the verb "${verb}"; name the resource and let the HTTP method be the verb`,
        );
        continue;
      }
      if (!/^[a-z][a-z0-9-]*$/.test(segment)) {
        report(`"${segment}" must be lowercase (kebab-case for several words)`);
        continue;
      }
      const last = words[words.length - 1];
      if (!/[^s]s$/.test(last)) {
        report(
          `"${segment}" must be a plural noun (a collection), or be declared a singleton in the ruleset`,
        );
      }
    }
  }
  return results;
}
