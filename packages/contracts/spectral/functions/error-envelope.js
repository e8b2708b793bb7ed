/**
 * Every 4xx and 5xx answer of an operation has the one error envelope as its JSON body, by reference
 * to `#/components/schemas/ErrorEnvelope`.
 *
 * Options: `schema` (the envelope's reference), `exceptTags` (operations answering errors in another,
 * documented shape).
 */
export default function errorEnvelope(operation, options, context) {
  if (operation === null || typeof operation !== 'object') return [];
  const exempt = new Set(options?.exceptTags ?? []);
  if ((operation.tags ?? []).some((tag) => exempt.has(tag))) return [];
  const results = [];
  for (const [status, response] of Object.entries(operation.responses ?? {})) {
    if (!/^[45]/.test(status)) continue;
    const resolved =
      typeof response?.$ref === 'string' ? resolve(response.$ref, context.document.data) : response;
    const reference = resolved?.content?.['application/json']?.schema?.$ref;
    if (reference !== options.schema) {
      results.push({
        message: `${status} must answer the error envelope (application/json, $ref ${options.schema})`,
        path: [...context.path, 'responses', status],
      });
    }
  }
  return results;
}

/** A local reference (`#/components/responses/Error404`) in the document. */
function resolve(reference, root) {
  if (!reference.startsWith('#/')) return undefined;
  return reference
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce((node, part) => (node === null || typeof node !== 'object' ? undefined : node[part]), root);
}
