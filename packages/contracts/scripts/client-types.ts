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
