import type { Sample } from './metrics-text.ts';

/** One series of an instant vector, as Prometheus's HTTP API answers `/api/v1/query`. */
interface VectorSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * The current value of every series of `families` that a Prometheus server holds, as the samples a
 * `/metrics` page would give (each series keeps its labels, `instance` and `job` included): the
 * console reads one server instead of every process when one is configured. One instant query,
 * `{__name__=~"a|b|c"}`; a failure or an answer that is not a vector throws.
 */
export async function queryPrometheus(
  baseUrl: string,
  families: Iterable<string>,
  timeoutMs: number,
): Promise<Sample[]> {
  const selector = `{__name__=~"${[...families].join('|')}"}`;
  const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  url.searchParams.set('query', selector);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json().catch(() => undefined)) as
    | { status?: string; data?: { resultType?: string; result?: VectorSeries[] } }
    | undefined;
  if (!response.ok || body?.status !== 'success' || body.data?.resultType !== 'vector') {
    throw new Error(`Prometheus answered ${response.status} to ${selector}`);
  }
  return (body.data.result ?? []).map(({ metric, value }) => {
    const { __name__: name = '', ...labels } = metric;
    return { name, labels, value: Number(value[1]) };
  });
}

/** The `instance` label Prometheus gives the target at `url` (its host and port). */
export function prometheusInstance(url: string): string {
  return new URL(url).host;
}
