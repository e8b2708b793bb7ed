import autocannon from 'autocannon';
import type { CpuProbe } from './processes.ts';
import { percentile } from './report.ts';

export interface BenchRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  /** Origin, e.g. `http://127.0.0.1:8080`. */
  origin: string;
  /** The requests each connection sends in turn, over and over (one, or a sequence). */
  requests: BenchRequest[];
  /** Per connection (0-based index): its own sequence (e.g. its own user and token). */
  perConnection?: (index: number) => BenchRequest[];
  connections: number;
  seconds: number;
  /**
   * The response that completes one operation (e.g. 201 for a checkout whose sequence is "add to
   * cart, check out"); latencies are those of these responses. Unset: every response is one.
   */
  operationStatus?: number;
  /** Processes whose CPU time is read before and after. */
  probes?: CpuProbe[];
}

/** The options of autocannon's this runner uses (its bundled type declaration lists fewer). */
interface AutocannonSettings {
  url: string;
  connections: number;
  duration: number;
  pipelining: number;
  timeout: number;
  requests: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string }>;
  setupClient?: (client: { setRequests(requests: AutocannonSettings['requests']): void }) => void;
}

export interface LoadResult {
  /** Operations per second (= requests per second unless `operationStatus` is set). */
  rate: number;
  requestsPerSecond: number;
  operations: number;
  requests: number;
  seconds: number;
  /** Latency percentiles of the operations, ms. */
  p50: number;
  p99: number;
  p999: number;
  /** Non-2xx responses plus socket errors and timeouts. */
  errors: number;
  statuses: Record<string, number>;
  /** CPU time per operation of each probed process, µs. */
  cpuPerOperationUs: Record<string, number>;
}

/**
 * One autocannon run with every latency kept (autocannon's own histogram has 1 ms steps; medians of
 * a fraction of a millisecond need finer ones) and the CPU time of each probed process over exactly
 * the run. Runs in this process: the servers measured are other processes.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const probes = options.probes ?? [];
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  const statuses: Record<string, number> = {};
  const record = (value: number) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count++] = value;
  };
  let connectionIndex = 0;
  const toAutocannon = (requests: BenchRequest[]) =>
    requests.map((request) => ({
      method: request.method ?? 'GET',
      path: request.path,
      headers: request.headers,
      body: request.body,
    }));
  const settings: AutocannonSettings = {
    url: options.origin,
    connections: options.connections,
    duration: options.seconds,
    pipelining: 1,
    timeout: 10,
    requests: toAutocannon(options.requests),
    setupClient: options.perConnection
      ? (client) => client.setRequests(toAutocannon(options.perConnection!(connectionIndex++)))
      : undefined,
  };
  const instance = autocannon(settings as Parameters<typeof autocannon>[0]);
  instance.on('response', (_client, status, _bytes, responseTime) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (options.operationStatus === undefined || status === options.operationStatus) record(responseTime);
  });
  const readings = probes.map((probe) => probe.start());
  const started = process.hrtime.bigint();
  const result = await instance;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = readings.map((reading) => reading());

  const sorted = latencies.subarray(0, count).sort();
  const requests = Object.values(statuses).reduce((sum, n) => sum + n, 0);
  const operations = options.operationStatus === undefined ? requests : count;
  let non2xx = 0;
  for (const [status, n] of Object.entries(statuses)) if (!status.startsWith('2')) non2xx += n;
  const cpuPerOperationUs: Record<string, number> = {};
  probes.forEach((probe, index) => {
    cpuPerOperationUs[probe.name] = (used[index]! * 1000) / Math.max(1, operations);
  });
  return {
    rate: operations / seconds,
    requestsPerSecond: requests / seconds,
    operations,
    requests,
    seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    errors: non2xx + result.errors + result.timeouts,
    statuses,
    cpuPerOperationUs,
  };
}
