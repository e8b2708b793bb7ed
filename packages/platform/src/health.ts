import type { FastifyInstance } from 'fastify';
import { serviceVersion } from './version.ts';

export type CheckStatus = 'up' | 'down';
export interface CheckResult {
  status: CheckStatus;
  latency: number;
  message?: string;
}
export interface HealthReport {
  status: 'healthy' | 'degraded' | 'unhealthy';
  version: string;
  timestamp: string;
  checks: Record<string, CheckResult>;
}

interface RegisteredCheck {
  run: () => Promise<unknown>;
  /** A critical dependency down makes the service unhealthy (503); any other makes it degraded (200). */
  critical: boolean;
}

const CHECK_TIMEOUT_MS = 2000;

/** Each dependency registers one check; `/health` runs them all in parallel, with a timeout each. */
export class HealthRegistry {
  readonly #checks = new Map<string, RegisteredCheck>();
  #shuttingDown = false;

  add(name: string, run: () => Promise<unknown>, { critical = true } = {}): void {
    this.#checks.set(name, { run, critical });
  }

  markShuttingDown(): void {
    this.#shuttingDown = true;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  async report(): Promise<HealthReport> {
    const entries = await Promise.all(
      [...this.#checks].map(
        async ([name, check]) => [name, await runCheck(check.run), check.critical] as const,
      ),
    );
    let status: HealthReport['status'] = 'healthy';
    const checks: Record<string, CheckResult> = {};
    for (const [name, result, critical] of entries) {
      checks[name] = result;
      if (result.status === 'down')
        status = critical ? 'unhealthy' : status === 'healthy' ? 'degraded' : status;
    }
    return {
      status,
      version: serviceVersion,
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      checks,
    };
  }
}

async function runCheck(run: () => Promise<unknown>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      run(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up', latency: Math.round(performance.now() - started) };
  } catch (error) {
    return {
      status: 'down',
      latency: Math.round(performance.now() - started),
      message: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** `/health` (full report), `/health/live` (process up) and `/health/ready` (can take traffic). */
export function registerHealthRoutes(app: FastifyInstance, health: HealthRegistry): void {
  app.get('/health', { config: { public: true } }, async (_request, reply) => {
    const report = await health.report();
    reply.header('cache-control', 'no-store');
    return reply.code(report.status === 'unhealthy' ? 503 : 200).send(report);
  });
  app.get('/health/live', { config: { public: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'up' };
  });
  app.get('/health/ready', { config: { public: true } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    if (health.shuttingDown) return reply.code(503).send({ status: 'down' });
    const report = await health.report();
    return reply
      .code(report.status === 'unhealthy' ? 503 : 200)
      .send({ status: report.status === 'unhealthy' ? 'down' : 'up' });
  });
}
