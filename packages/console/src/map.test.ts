import { describe, expect, it } from 'vitest';
// @ts-expect-error the console's pages are JavaScript (htm, no compiler step) without declarations
import { layout, runtimeStates } from './pages/map.js';

const dependency = (name: string, status: 'up' | 'down', latency: number) => ({ name, status, latency });
const instance = (
  name: string,
  dependencies: ReturnType<typeof dependency>[],
  outboxBacklog: number | null = 0,
) => ({
  service: name.replace(/-\d+$/, ''),
  instance: name,
  up: true,
  breaker: 'closed',
  outboxBacklog,
  dependencies,
});

describe('the map', () => {
  it('shows a service’s dependency down when any instance sees it down, with the slowest probe', () => {
    const runtime = runtimeStates({
      instances: [
        instance('orders-1', [dependency('database', 'up', 2), dependency('bus', 'up', 1)], 3),
        instance('orders-2', [dependency('database', 'down', 9), dependency('bus', 'up', 4)], 5),
        instance('users-1', [dependency('database', 'up', 1)]),
      ],
      gateways: [{ url: 'http://127.0.0.1:8081/', status: 'down', latency: 2000 }],
    });
    expect(Object.fromEntries(runtime.dependencies.get('orders'))).toEqual({
      database: { status: 'down', latency: 9 },
      bus: { status: 'up', latency: 4 },
    });
    expect(runtime.outboxes.get('orders')).toBe(5);
    expect(runtime.gateways).toEqual([{ url: 'http://127.0.0.1:8081/', status: 'down', latency: 2000 }]);
    expect(runtimeStates(undefined).gateways).toEqual([]);
  });

  it('reads services, their instances and the gateway’s own dependencies from the health report', () => {
    const up = { status: 'up', latency: 1 };
    const { services, dependencies } = layout({ orders: up, 'orders-1': up, 'orders-2': up, redis: up });
    expect(services.map((service: { name: string }) => service.name)).toEqual(['orders']);
    expect(services[0].instances.map((item: { name: string }) => item.name)).toEqual([
      'orders-1',
      'orders-2',
    ]);
    expect(dependencies.map((item: { name: string }) => item.name)).toEqual(['redis']);
  });
});
