import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

/** TypeScript types of every path, operation and schema of the document, for `@armature/client`. */
export async function renderClientTypes(openapiJson: string): Promise<string> {
  const ast = await openapiTS(JSON.parse(openapiJson), { silent: true, alphabetize: false });
  const header = COMMENT_HEADER.replace(
    'Do not make direct changes to the file.',
    'Do not make direct changes to the file: run `npm run contracts:generate`.',
  );
  return header + astToString(ast);
}

/**
 * The operations that accept `Idempotency-Key`, as `METHOD /path` with the path as the document
 * writes it: the client sends a key with each of them, the same on every retry.
 */
export function renderIdempotentOperations(openapiJson: string): string {
  const document = JSON.parse(openapiJson) as {
    paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>>;
  };
  const keyed = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([, operation]) =>
        (operation.parameters ?? []).some(
          (p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key',
        ),
      )
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );
  return [
    '// Generated from the contract by `npm run contracts:generate`; do not edit.',
    '',
    '/** Operations that accept `Idempotency-Key`: `METHOD /path`, the path as the contract writes it. */',
    'export const idempotentOperations: ReadonlySet<string> = new Set([',
    ...keyed.sort().map((operation) => `  '${operation}',`),
    ']);',
    '',
  ].join('\n');
}
