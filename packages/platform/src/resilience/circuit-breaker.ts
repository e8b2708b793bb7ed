import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
} from 'cockatiel';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one call is let through to probe. */
  halfOpenAfterMs: number;
  /** Which errors count as failures of the dependency (others pass through and count as success). */
  isFailure: (error: unknown) => boolean;
}

export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker around one dependency (cockatiel's consecutive-failure breaker), plus what a load
 * balancer needs to route around it without waiting: whether a call would be let through now, and
 * when the next probe is due.
 */
export class CircuitBreaker {
  readonly #policy: CircuitBreakerPolicy;
  readonly #halfOpenAfterMs: number;
  #openedAt = 0;

  constructor(options: CircuitBreakerOptions) {
    this.#halfOpenAfterMs = options.halfOpenAfterMs;
    this.#policy = circuitBreaker(handleWhen(options.isFailure), {
      halfOpenAfter: options.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(options.failureThreshold),
    });
    this.#policy.onBreak(() => {
      this.#openedAt = Date.now();
    });
  }

  get state(): BreakerState {
    const state = this.#policy.state;
    if (state === CircuitState.Closed) return 'closed';
    if (state === CircuitState.HalfOpen) return 'half-open';
    return 'open';
  }

  /**
   * True when a call made now would run: the circuit is closed, or it has been open long enough
   * that this call becomes the half-open probe. False while open, or while a probe is in flight
   * (cockatiel would make the call wait for the probe; a balancer should pick another target).
   */
  get acceptsCalls(): boolean {
    const state = this.#policy.state;
    if (state === CircuitState.Closed) return true;
    if (state === CircuitState.Open) return Date.now() - this.#openedAt >= this.#halfOpenAfterMs;
    return false;
  }

  /** Milliseconds until a probe may be sent (0 when calls are accepted now). */
  get retryAfterMs(): number {
    if (this.#policy.state !== CircuitState.Open) return this.acceptsCalls ? 0 : this.#halfOpenAfterMs;
    return Math.max(0, this.#openedAt + this.#halfOpenAfterMs - Date.now());
  }

  /** Runs `fn` through the breaker; rejects with cockatiel's BrokenCircuitError when the circuit is open. */
  execute<T>(fn: () => PromiseLike<T> | T): Promise<T> {
    return this.#policy.execute(fn);
  }

  onStateChange(listener: (state: BreakerState) => void): void {
    this.#policy.onStateChange(() => listener(this.state));
  }
}

export { BrokenCircuitError, isBrokenCircuitError } from 'cockatiel';
