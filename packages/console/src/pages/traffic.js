import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../session.js';
import { edgeFigures, routeFigures, serviceFigures } from '../traffic-series.ts';
import { Chart } from './chart.js';

const POLL_MS = 5000;
/** Ten minutes of snapshots, taken every five seconds. */
const KEEP = 120;
/** The route table's figures are over the last minute (or less, right after opening the page). */
const TABLE_WINDOW_MS = 60_000;

const ms = (value) => (value === null ? '–' : `${value.toFixed(1)} ms`);
const percent = (value) => (value === null ? '–' : `${(value * 100).toFixed(1)} %`);

/** The chart series of one figure, one per service, from consecutive snapshots. */
function seriesOf(history, pick) {
  const steps = history.slice(1).map((after, index) => serviceFigures(history[index], after));
  const services = [...new Set(steps.flatMap((step) => [...step.keys()]))].sort();
  return services.map((service) => ({
    label: service,
    values: steps.map((step) => {
      const figures = step.get(service);
      return figures ? pick(figures) : null;
    }),
  }));
}

/** The chart series of one route: its rate, and its p50 and p99 latency. */
function routeSeries(history, key) {
  const steps = history.slice(1).map((after, index) => routeFigures(history[index], after).get(key));
  return {
    rate: [{ label: 'requests/s', values: steps.map((step) => (step ? step.rate : null)) }],
    latency: [
      { label: 'p50', values: steps.map((step) => step?.p50 ?? null) },
      { label: 'p99', values: steps.map((step) => step?.p99 ?? null) },
    ],
  };
}

/**
 * Requests per second, error ratio and p50/p99 latency per service as charts over the last minutes,
 * and per route as a table, from snapshots of the services' own counters taken every 5 s while the
 * page is open; plus the gateway's rate-limit refusals and the caches' hit ratio.
 */
export function TrafficPage() {
  const [history, setHistory] = useState([]);
  const [error, setError] = useState('');
  const [route, setRoute] = useState(undefined);
  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const snapshot = { ...(await api('GET', '/v1/traffic')), at: Date.now() };
        if (!stopped) setHistory((kept) => [...kept, snapshot].slice(-KEEP));
        setError('');
      } catch (failure) {
        if (!stopped) setError(failure.message);
      }
    };
    poll();
    const timer = setInterval(poll, POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, []);
  if (history.length < 2) {
    return html`<section><h2>Traffic</h2>${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Reading the counters… the first figures come with the second reading (${POLL_MS / 1000} s).</p>`}</section>`;
  }
  const latest = history.at(-1);
  const first = history.find((snapshot) => latest.at - snapshot.at <= TABLE_WINDOW_MS) ?? history.at(-2);
  const since = first === latest ? history.at(-2) : first;
  const times = history.slice(1).map((snapshot) => Math.round(snapshot.at / 1000));
  const routes = [...routeFigures(since, latest).values()]
    .filter((item) => item.rate > 0 || item.requests > 0)
    .sort((a, b) => b.rate - a.rate || a.route.localeCompare(b.route));
  const edge = edgeFigures(since, latest);
  const allRefusals = Object.values(latest.rateLimitRefusals).reduce((a, b) => a + b, 0);
  const lifetimeLookups = latest.cache.hits + latest.cache.misses;
  const windowSeconds = Math.round((latest.at - since.at) / 1000);
  return html`<section>
    <h2>Traffic</h2>
    <p class="hint">From the gateway's and the services' own counters, read every ${POLL_MS / 1000} s while this page is open (${history.length} readings).${error ? ` ${error}` : ''}</p>
    <div class="figures">
      <div class="figure" data-figure="refusals"><strong>${edge.refusals}</strong> rate-limit refusals in the last ${windowSeconds} s <small>(${allRefusals} since start)</small></div>
      <div class="figure" data-figure="cache"><strong>${percent(edge.cacheHitRatio)}</strong> cache hits in the last ${windowSeconds} s <small>(${lifetimeLookups ? percent(latest.cache.hits / lifetimeLookups) : '–'} since start)</small></div>
    </div>
    <div class="charts">
      <${Chart} title="Requests per second" unit="req/s" times=${times} series=${seriesOf(history, (f) => f.rate)} />
      <${Chart} title="Errors (5xx)" unit="%" times=${times} series=${seriesOf(history, (f) => (f.errorRatio === null ? null : f.errorRatio * 100))} />
      <${Chart} title="p50 latency" unit="ms" times=${times} series=${seriesOf(history, (f) => f.p50)} />
      <${Chart} title="p99 latency" unit="ms" times=${times} series=${seriesOf(history, (f) => f.p99)} />
    </div>
    <h3>Routes, last ${windowSeconds} s <small class="hint">(a route opens its own charts)</small></h3>
    <table class="routes">
      <thead><tr><th>Service</th><th>Route</th><th>Requests/s</th><th>Errors</th><th>p50</th><th>p99</th><th>Requests since start</th></tr></thead>
      <tbody>
        ${routes.map(
          (
            item,
          ) => html`<tr data-route=${`${item.service} ${item.method} ${item.route}`} class=${route === `${item.service} ${item.method} ${item.route}` ? 'selected' : ''}>
            <td>${item.service}</td><td><button type="button" class="link" onClick=${() => setRoute(`${item.service} ${item.method} ${item.route}`)}>${item.method} ${item.route}</button></td>
            <td>${item.rate.toFixed(2)}</td><td>${percent(item.errorRatio)}</td>
            <td>${ms(item.p50)}</td><td>${ms(item.p99)}</td><td>${item.requests}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${
      route &&
      html`<h3>${route}</h3>
      <div class="charts">
        <${Chart} key=${`${route} rate`} title=${`${route}: requests per second`} unit="req/s" times=${times} series=${routeSeries(history, route).rate} />
        <${Chart} key=${`${route} latency`} title=${`${route}: latency`} unit="ms" times=${times} series=${routeSeries(history, route).latency} />
      </div>`
    }
  </section>`;
}
