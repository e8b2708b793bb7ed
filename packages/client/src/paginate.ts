import type { Client } from 'openapi-fetch';
import type { paths } from './schema.d.ts';

type JsonOf<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type ListBody = { data: unknown[]; pagination: { nextCursor: string | null; hasMore: boolean } };
type OkBody<P extends keyof paths> = paths[P] extends { get: { responses: { 200: infer R } } }
  ? JsonOf<R>
  : never;

/** Every path whose GET answers a list page (`{ data, pagination }`). */
export type ListPath = { [P in keyof paths]: OkBody<P> extends ListBody ? P : never }[keyof paths];
/** The type of one item of a list path: `ListItem<'/v2/users/{id}/orders'>` is an `OrderV2`. */
export type ListItem<P extends ListPath> = OkBody<P> extends { data: (infer T)[] } ? T : never;

export interface ListInit {
  params?: { path?: Record<string, string>; query?: Record<string, unknown> };
  headers?: Record<string, string>;
}

/**
 * Every item of a list, page after page, following `nextCursor` (keyset pages: an item added or
 * removed meanwhile neither repeats nor skips another). Pages are fetched as the loop asks.
 */
export async function* paginate<P extends ListPath>(
  client: Client<paths>,
  path: P,
  init: ListInit = {},
): AsyncGenerator<ListItem<P>, void, undefined> {
  let cursor: string | undefined;
  for (;;) {
    // After the first page the cursor says where to go on; a page number would contradict it.
    const query: Record<string, unknown> = { ...init.params?.query };
    if (cursor) {
      query.cursor = cursor;
      delete query.page;
    }
    // biome-ignore lint/suspicious/noExplicitAny: the path is one of ListPath, checked at the call.
    const { data } = await (client.GET as any)(path, { ...init, params: { ...init.params, query } });
    const page = data as ListBody | undefined;
    if (!page) return;
    for (const item of page.data) yield item as ListItem<P>;
    if (!page.pagination.hasMore || !page.pagination.nextCursor) return;
    cursor = page.pagination.nextCursor;
  }
}
