import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../session.js';

const REFRESH_MS = 3000;

/**
 * The gateway's health report read as a map: the gateway, each service behind it and each of its
 * instances, plus the gateway's own dependencies, with status and probe latency.
 */
export function layout(checks) {
  const names = Object.keys(checks);
  const instanceOf = /^(.*)-(\d+)$/;
  const services = names
    .filter((name) => names.some((other) => instanceOf.exec(other)?.[1] === name))
    .map((name) => ({
      name,
      check: checks[name],
      instances: names
        .filter((other) => instanceOf.exec(other)?.[1] === name)
        .map((instance) => ({ name: instance, check: checks[instance] })),
    }));
  const known = new Set(
    services.flatMap((service) => [service.name, ...service.instances.map((i) => i.name)]),
  );
  const dependencies = names
    .filter((name) => !known.has(name))
    .map((name) => ({ name, check: checks[name] }));
  return { services, dependencies };
}

/**
 * What the traffic snapshot adds to the map: each instance's circuit breaker, each service's outbox,
 * and each service's dependencies (its database, bus, cache, mail, provider), down when any instance
 * sees it down, with the slowest instance's probe.
 */
export function runtimeStates(traffic) {
  const instances = new Map();
  const outboxes = new Map();
  const dependencies = new Map();
  for (const state of traffic?.instances ?? []) {
    instances.set(state.instance, state);
    // Instances of a service share its database, so each reports the same backlog: keep the largest.
    if (state.outboxBacklog !== null)
      outboxes.set(state.service, Math.max(outboxes.get(state.service) ?? 0, state.outboxBacklog));
    const own = dependencies.get(state.service) ?? new Map();
    dependencies.set(state.service, own);
    for (const dependency of state.dependencies ?? []) {
      const seen = own.get(dependency.name);
      own.set(dependency.name, {
        status: seen?.status === 'down' || dependency.status === 'down' ? 'down' : 'up',
        latency: Math.max(seen?.latency ?? 0, dependency.latency),
      });
    }
  }
  return { instances, outboxes, dependencies, gateways: traffic?.gateways ?? [] };
}

function Node({ x, y, label, check, kind, detail, breaker, width = 170 }) {
  const status = check?.status ?? 'unknown';
  return html`<g class=${`node ${kind} ${status}${breaker && breaker !== 'closed' ? ' tripped' : ''}`} data-node=${label} data-status=${status} data-breaker=${breaker} transform=${`translate(${x},${y})`}>
    <rect width=${width} height="46" rx="8" />
    <text x="12" y="20" class="label">${label}</text>
    <text x="12" y="37" class="detail">${detail ?? `${status}${check ? ` · ${check.latency} ms` : ''}`}</text>
  </g>`;
}

export function MapPage() {
  const [report, setReport] = useState(undefined);
  const [error, setError] = useState('');
  const [runtime, setRuntime] = useState(runtimeStates(undefined));
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const [response, traffic] = await Promise.all([
          fetch('/health'),
          // Circuit breakers and outbox backlogs come from the admin API; the map works without them.
          api('GET', '/v1/traffic').catch(() => undefined),
        ]);
        const body = await response.json();
        if (!stopped) {
          setReport(body);
          setRuntime(runtimeStates(traffic));
          setError('');
        }
      } catch (failure) {
        if (!stopped) setError(`the gateway did not answer: ${failure.message}`);
      }
    };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (!report) return html`<p>${error || 'Loading the map…'}</p>`;
  const { services, dependencies } = layout(report.checks);
  const rows = services.reduce(
    (sum, service) =>
      sum + Math.max(1, service.instances.length, runtime.dependencies.get(service.name)?.size ?? 0),
    0,
  );
  const height = Math.max(rows, dependencies.length + runtime.gateways.length + 1) * 62 + 40;
  const gatewayY = height / 2 - 23;
  let row = 0;
  const edges = [];
  const nodes = [];
  for (const service of services) {
    const own = [...(runtime.dependencies.get(service.name) ?? new Map())];
    const span = Math.max(1, service.instances.length, own.length);
    const y = 20 + (row + (span - 1) / 2) * 62;
    edges.push(html`<line x1="190" y1=${gatewayY + 23} x2="260" y2=${y + 23} />`);
    const backlog = runtime.outboxes.get(service.name);
    const serviceDetail =
      backlog === undefined ? undefined : `${service.check?.status ?? 'unknown'} · outbox ${backlog} waiting`;
    nodes.push(
      html`<${Node} x=${260} y=${y} label=${service.name} check=${service.check} kind="service" detail=${serviceDetail} />`,
    );
    service.instances.forEach((instance, index) => {
      const iy = 20 + (row + index) * 62;
      edges.push(html`<line x1="430" y1=${y + 23} x2="500" y2=${iy + 23} />`);
      const breaker = runtime.instances.get(instance.name)?.breaker;
      const check = instance.check;
      const detail = breaker
        ? `${check?.status ?? 'unknown'}${check ? ` · ${check.latency} ms` : ''} · circuit ${breaker}`
        : undefined;
      nodes.push(
        html`<${Node} x=${500} y=${iy} label=${instance.name} check=${check} kind="instance" detail=${detail} breaker=${breaker} width=${210} />`,
      );
    });
    own.forEach(([name, check], index) => {
      const dy = 20 + (row + index) * 62;
      edges.push(html`<line x1="710" y1=${y + 23} x2="760" y2=${dy + 23} class="dependency" />`);
      nodes.push(
        html`<${Node} x=${760} y=${dy} label=${`${service.name}:${name}`} check=${check} kind="dependency" width=${190} />`,
      );
    });
    row += span;
  }
  // The deployment's other gateways (GATEWAY_PEER_URLS), under this one's own dependencies.
  runtime.gateways.forEach((peer, index) => {
    const y = 20 + (dependencies.length + index) * 62;
    const label = `gateway ${new URL(peer.url).host}`;
    nodes.push(
      html`<${Node} x=${-200} y=${y} label=${label} check=${peer} kind="gateway" detail=${`${peer.status} · ${peer.latency} ms · a peer`} />`,
    );
  });
  dependencies.forEach((dependency, index) => {
    const y = 20 + index * 62;
    edges.push(html`<line x1="20" y1=${gatewayY + 23} x2="-30" y2=${y + 23} class="dependency" />`);
    nodes.push(
      html`<${Node} x=${-200} y=${y} label=${dependency.name} check=${dependency.check} kind="dependency" />`,
    );
  });
  return html`<section>
    <h2>Map <small class=${`status ${report.status}`} data-system-status=${report.status}>${report.status}</small></h2>
    <p class="hint">From the gateway's health report (circuit breakers, outbox backlogs and each service's own dependencies from its traffic snapshot), refreshed every ${REFRESH_MS / 1000} s (${report.timestamp}).${error ? ` ${error}` : ''}</p>
    <svg class="map" viewBox=${`-220 0 1160 ${height}`} role="img" aria-label="Service map">
      ${edges}
      <${Node} x=${20} y=${gatewayY} label="gateway" check=${{ status: 'up', latency: 0 }} detail=${`answering · system ${report.status}`} kind="gateway" />
      ${nodes}
    </svg>
  </section>`;
}
