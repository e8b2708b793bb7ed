import { describe, expect, it, vi } from 'vitest';
import { CircuitBreaker, isBrokenCircuitError } from './circuit-breaker.ts';

class Outage extends Error {}
const fail = () => Promise.reject(new Outage('down'));
const succeed = () => Promise.resolve('ok');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function breaker() {
  return new CircuitBreaker({
    failureThreshold: 3,
    halfOpenAfterMs: 100,
    isFailure: (error) => error instanceof Outage,
  });
}

describe('circuit breaker', () => {
  it('opens after consecutive failures and then refuses at once without calling', async () => {
    const subject = breaker();
    for (let i = 0; i < 3; i++) await expect(subject.execute(fail)).rejects.toBeInstanceOf(Outage);
    expect(subject.state).toBe('open');
    expect(subject.acceptsCalls).toBe(false);
    expect(subject.retryAfterMs).toBeGreaterThan(0);
    let called = false;
    const refused = await subject
      .execute(() => {
        called = true;
        return 'never';
      })
      .catch((error) => error);
    expect(isBrokenCircuitError(refused)).toBe(true);
    expect(called).toBe(false);
  });

  it('lets one probe through after the pause and closes when it succeeds', async () => {
    const subject = breaker();
    for (let i = 0; i < 3; i++) await subject.execute(fail).catch(() => {});
    await vi.waitFor(() => expect(subject.acceptsCalls).toBe(true), { timeout: 5000, interval: 10 });
    const probe = subject.execute(async () => {
      await sleep(30);
      return 'ok';
    });
    // While the probe is out, a balancer should send calls elsewhere.
    expect(subject.state).toBe('half-open');
    expect(subject.acceptsCalls).toBe(false);
    await expect(probe).resolves.toBe('ok');
    expect(subject.state).toBe('closed');
    expect(subject.acceptsCalls).toBe(true);
  });

  it('opens again when the probe fails', async () => {
    const subject = breaker();
    for (let i = 0; i < 3; i++) await subject.execute(fail).catch(() => {});
    await vi.waitFor(() => expect(subject.acceptsCalls).toBe(true), { timeout: 5000, interval: 10 });
    await subject.execute(fail).catch(() => {});
    expect(subject.state).toBe('open');
    expect(subject.acceptsCalls).toBe(false);
  });

  it('does not count errors that are not failures of the dependency', async () => {
    const subject = breaker();
    for (let i = 0; i < 5; i++) {
      await subject.execute(() => Promise.reject(new TypeError('caller bug'))).catch(() => {});
    }
    expect(subject.state).toBe('closed');
    await subject.execute(fail).catch(() => {});
    await subject.execute(fail).catch(() => {});
    await subject.execute(succeed);
    await subject.execute(fail).catch(() => {});
    expect(subject.state).toBe('closed');
  });
});
