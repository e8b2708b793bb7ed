import { deadUrl, startTestGateway } from '@armature/gateway/testing/gateway';
import { type RunningProcess, startProcess, upstreamMain } from '@armature/gateway/testing/processes';
import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Outcome {
  startedAt: number;
  status: number;
  instance: string | null;
}

let portA: string;
let instanceA: RunningProcess;
let instanceB: RunningProcess;
let gateway: StartedService;

beforeAll(async () => {
  portA = new URL(await deadUrl()).port;
  [instanceA, instanceB] = await Promise.all([
    startProcess(upstreamMain, { UPSTREAM_NAME: 'a', UPSTREAM_PORT: portA }),
    startProcess(upstreamMain, { UPSTREAM_NAME: 'b', UPSTREAM_PORT: '0' }),
  ]);
  // Health checks are slowed down here so that what takes the dead instance out, and puts it back,
  // is the circuit breaker fed by real traffic.
  gateway = await startTestGateway(
    { users: [instanceB.url], orders: [instanceA.url, instanceB.url] },
    {
      RATE_LIMIT_MAX_REQUESTS: '1000000',
      BREAKER_FAILURE_THRESHOLD: '3',
      BREAKER_HALF_OPEN_AFTER_MS: '500',
      UPSTREAM_HEALTH_INTERVAL_MS: '600000',
    },
  );
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([instanceA?.stop('SIGKILL'), instanceB?.stop('SIGKILL')]);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

/** Whether the gateway sends traffic to instance `a` right now (its gauge). */
async function aInRotation(): Promise<boolean> {
  const metric = await gateway.app.gatewayMetrics.registry
    .getSingleMetric('gateway_upstream_instance_up')!
    .get();
  return metric.values.some((value) => value.labels.instance === 'orders-1' && value.value === 1);
}

describe('an instance dying under load', () => {
  it('costs clients at most a short burst of errors, and none once its breaker is open; it rejoins when back', async () => {
    const outcomes: Outcome[] = [];
    let running = true;
    const worker = async () => {
      while (running) {
        const startedAt = performance.now();
        try {
          const response = await fetch(`${gateway.url}/v1/products/prd_1`);
          await response.arrayBuffer();
          outcomes.push({ startedAt, status: response.status, instance: response.headers.get('x-instance') });
        } catch {
          outcomes.push({ startedAt, status: 0, instance: null });
        }
      }
    };
    // Both instances up (asking /health probes them again, in case a first probe met a slow start).
    await waitFor(async () => {
      const report = (await (await fetch(`${gateway.url}/health`)).json()) as {
        checks: Record<string, { status: string }>;
      };
      const checks = report.checks;
      return checks['orders-1'].status === 'up' && checks['orders-2'].status === 'up';
    });
    const workers = Array.from({ length: 8 }, worker);
    // Traffic runs for a number of requests, not a number of milliseconds, so a slow machine sees as much.
    const moreRequests = (count: number) => {
      const from = outcomes.length;
      return waitFor(async () => outcomes.length >= from + count);
    };
    await waitFor(async () => new Set(outcomes.map((outcome) => outcome.instance)).size === 2);
    await moreRequests(100);
    expect(new Set(outcomes.map((outcome) => outcome.instance))).toEqual(new Set(['a', 'b']));

    const killedAt = performance.now();
    await instanceA.stop('SIGKILL');
    let outAt = 0;
    while (performance.now() - killedAt < 5000) {
      if (!(await aInRotation())) {
        outAt = performance.now();
        break;
      }
      await sleep(10);
    }
    expect(outAt, 'instance a was never taken out of rotation').toBeGreaterThan(0);
    await moreRequests(400);

    const restartingAt = performance.now();
    instanceA = await startProcess(upstreamMain, { UPSTREAM_NAME: 'a', UPSTREAM_PORT: portA });
    const restartedAt = performance.now();
    let backAt = 0;
    while (performance.now() - restartedAt < 10_000) {
      if (outcomes.some((outcome) => outcome.startedAt > restartedAt && outcome.instance === 'a')) {
        backAt = performance.now();
        break;
      }
      await sleep(20);
    }
    await moreRequests(100);
    running = false;
    await Promise.all(workers);

    const failed = (outcome: Outcome) => outcome.status === 0 || outcome.status >= 500;
    const burst = outcomes.filter((outcome) => failed(outcome) && outcome.startedAt < outAt);
    const afterOpen = outcomes.filter((outcome) => outcome.startedAt >= outAt);
    console.info(
      `failover: ${outcomes.length} requests; a out of rotation ${Math.round(outAt - killedAt)} ms after the kill; ` +
        `${burst.length} failed in the burst; back ${Math.round(backAt - restartedAt)} ms after the restart`,
    );
    // A short burst at the kill is allowed (at most one failure per client connection) and counted above.
    expect(burst.length).toBeLessThanOrEqual(8);
    expect(outAt - killedAt).toBeLessThan(2000);
    // Once out of rotation: no errors at all, before and after the restart.
    expect(afterOpen.filter(failed)).toEqual([]);
    expect(afterOpen.length).toBeGreaterThan(50);
    // While it was down, b served everything.
    const whileDown = afterOpen.filter((outcome) => outcome.startedAt < restartingAt);
    expect(new Set(whileDown.map((outcome) => outcome.instance))).toEqual(new Set(['b']));
    // Listening again, a takes its share within a few half-open pauses (a probe let it back in).
    expect(backAt, 'instance a never served again after its restart').toBeGreaterThan(0);
    expect(backAt - restartedAt).toBeLessThan(5000);
  });
});
