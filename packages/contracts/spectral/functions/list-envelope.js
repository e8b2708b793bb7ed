/**
 * Every list (a GET on a collection, i.e. a path ending in a plural segment) accepts both pagination
 * styles (`page`, `cursor`, `limit`) and answers `{data: [...], pagination: {...}}`.
 *
 * Runs on the resolved document. Options: `singletons` (final segments that are not collections),
 * `queryParameters`, `paginationFields`.
 */
export default function listEnvelope(operation, options, context) {
  if (operation === null || typeof operation !== 'object') return [];
  const path = context.path[1];
  const last = String(path).split('/').filter(Boolean).pop() ?? '';
  const singletons = new Set(options?.singletons ?? []);
  if (/^\{.*\}$/.test(last) || /^v\d+$/.test(last) || singletons.has(last)) return [];

  const results = [];
  const query = new Set(
    (operation.parameters ?? [])
      .filter((parameter) => parameter?.in === 'query')
      .map((parameter) => parameter.name),
  );
  const missing = (options?.queryParameters ?? []).filter((name) => !query.has(name));
  if (missing.length > 0) {
    results.push({
      message: `GET ${path} lists a collection but lacks the pagination parameters ${missing.join(', ')}`,
      path: [...context.path, 'parameters'],
    });
  }

  const schema = operation.responses?.['200']?.content?.['application/json']?.schema;
  const data = schema?.properties?.data;
  const pagination = schema?.properties?.pagination;
  const required = new Set(schema?.required ?? []);
  const fields = options?.paginationFields ?? [];
  const paginationFields = Object.keys(pagination?.properties ?? {});
  const envelopeOk =
    data?.type === 'array' &&
    pagination?.type === 'object' &&
    required.has('data') &&
    required.has('pagination') &&
    fields.every((field) => paginationFields.includes(field));
  if (!envelopeOk) {
    results.push({
      message: `GET ${path} lists a collection: its 200 must be {data: [...], pagination: {${fields.join(', ')}}}`,
      path: [...context.path, 'responses', '200'],
    });
  }
  return results;
}
