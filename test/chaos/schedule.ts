/**
 * The fault schedule of a chaos run, drawn from a seed: the same seed, duration and targets give the
 * same schedule, fault for fault. Faults start after a quiet warm-up and all end (are healed) well
 * before the load stops, so the system is seen recovering under traffic; several may overlap, never
 * two on the same target.
 */

export type FaultKind = 'kill' | 'postgres-restart' | 'redis-stop' | 'nats-stop' | 'network';
export type NetworkMode = 'latency' | 'stall' | 'reset' | 'blackhole';

export interface Fault {
  /** When it starts, in ms after the load began. */
  at: number;
  kind: FaultKind;
  /** A process (`orders-2`, `gateway-1`), `postgres`, `redis`, `nats`, or a fault proxy (`orders-db`). */
  target: string;
  /** How long it lasts before it is healed (the pause before a restart, the outage, the network fault). */
  holdMs: number;
  mode?: NetworkMode;
  /** Added per chunk in `latency` mode. */
  latencyMs?: number;
  /** `pg_ctl stop` mode of a PostgreSQL restart. */
  stopMode?: 'fast' | 'immediate';
}

export interface Targets {
  /** Processes that can be killed with SIGKILL and restarted. */
  processes: string[];
  /** Fault proxies between a service and a dependency. */
  proxies: string[];
}

/** mulberry32: a small, fast, well-distributed 32-bit PRNG; `next()` is in [0, 1). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const kinds: [FaultKind, number][] = [
  ['kill', 0.36],
  ['network', 0.3],
  ['postgres-restart', 0.12],
  ['redis-stop', 0.11],
  ['nats-stop', 0.11],
];
const modes: NetworkMode[] = ['latency', 'stall', 'reset', 'blackhole'];

export interface ScheduleOptions {
  seed: number;
  durationMs: number;
  targets: Targets;
  /** Mean time between fault starts (default 8 s). */
  meanGapMs?: number;
}

/** The window faults may occupy: from 8% of the run to 80% (every fault healed by then). */
export function faultWindow(durationMs: number): { from: number; to: number } {
  return { from: Math.round(durationMs * 0.08), to: Math.round(durationMs * 0.8) };
}

export function drawSchedule(options: ScheduleOptions): Fault[] {
  const random = prng(options.seed);
  const between = (low: number, high: number) => Math.round(low + random() * (high - low));
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const { from, to } = faultWindow(options.durationMs);
  const meanGap = options.meanGapMs ?? 8000;
  const faults: Fault[] = [];
  let at = from;
  for (;;) {
    // Exponential gaps: a Poisson process of fault starts, so some bunch up and overlap.
    at += Math.round(-Math.log(1 - random()) * meanGap);
    if (at >= to) break;
    let roll = random();
    let kind: FaultKind = 'kill';
    for (const [candidate, weight] of kinds) {
      kind = candidate;
      roll -= weight;
      if (roll < 0) break;
    }
    let fault: Fault;
    switch (kind) {
      case 'kill':
        fault = { at, kind, target: pick(options.targets.processes), holdMs: between(500, 12_000) };
        break;
      case 'postgres-restart':
        fault = {
          at,
          kind,
          target: 'postgres',
          holdMs: between(500, 6000),
          stopMode: random() < 0.5 ? 'fast' : 'immediate',
        };
        break;
      case 'redis-stop':
        fault = { at, kind, target: 'redis', holdMs: between(1000, 15_000) };
        break;
      case 'nats-stop':
        fault = { at, kind, target: 'nats', holdMs: between(1000, 15_000) };
        break;
      default: {
        const mode = pick(modes);
        fault = {
          at,
          kind,
          target: pick(options.targets.proxies),
          mode,
          holdMs: mode === 'latency' ? between(2000, 15_000) : between(1000, 8000),
          ...(mode === 'latency' ? { latencyMs: between(20, 400) } : {}),
        };
      }
    }
    if (fault.at + fault.holdMs > to) fault.holdMs = Math.max(250, to - fault.at);
    // One fault per target at a time: a target still faulty when this one would start is skipped.
    const busy = faults.some(
      (other) => other.target === fault.target && other.at + other.holdMs + 2000 > fault.at,
    );
    if (!busy) faults.push(fault);
  }
  return faults;
}

export function describeFault(fault: Fault): string {
  const hold = `${(fault.holdMs / 1000).toFixed(1)} s`;
  switch (fault.kind) {
    case 'kill':
      return `kill -9 ${fault.target}, restarted after ${hold}`;
    case 'postgres-restart':
      return `PostgreSQL stopped (${fault.stopMode}), started after ${hold}`;
    case 'redis-stop':
      return `Redis killed, started after ${hold}`;
    case 'nats-stop':
      return `NATS killed, started after ${hold}`;
    default:
      return `network ${fault.mode}${fault.latencyMs ? ` +${fault.latencyMs} ms` : ''} on ${fault.target} for ${hold}`;
  }
}

/** `90`, `90s`, `10m`, `1h` → ms. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: "${text}" (e.g. 60s, 10m)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's']!;
  return Math.round(Number(match[1]) * unit);
}
