import { useEffect, useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../session.js';
import { Waterfall } from './waterfall.js';

function TraceView({ traceId }) {
  const [trace, setTrace] = useState(undefined);
  const [error, setError] = useState('');
  useEffect(() => {
    setTrace(undefined);
    api('GET', `/v1/traces/${traceId}`).then(setTrace, (failure) => setError(failure.message));
  }, [traceId]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!trace) return html`<p>Loading the trace…</p>`;
  return html`<section class="trace" data-trace=${trace.traceId}>
    <h3>Trace <code>${trace.traceId}</code></h3>
    <p class="hint">${trace.spans.length} spans over ${trace.durationMs.toFixed(1)} ms, from ${trace.startedAt}. Hover a bar for its attributes.</p>
    <${Waterfall} trace=${trace} />
  </section>`;
}

/** The latest requests the gateway answered, searchable, each opening its trace as a waterfall. */
export function TracesPage() {
  const [filters, setFilters] = useState({ requestId: '', status: '', route: '' });
  const [list, setList] = useState(undefined);
  const [selected, setSelected] = useState(undefined);
  const [error, setError] = useState('');
  const load = async () => {
    const query = new URLSearchParams({ limit: '50' });
    for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
    try {
      setList(await api('GET', `/v1/traces?${query}`));
      setError('');
    } catch (failure) {
      setError(failure.message);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const field = (name) => (event) => setFilters({ ...filters, [name]: event.currentTarget.value.trim() });
  if (list && list.destination !== 'store') {
    return html`<section>
      <h2>Traces</h2>
      ${
        list.destination === 'collector'
          ? html`<p>Spans go to an OpenTelemetry collector. ${
              list.collectorUrl
                ? html`<a href=${list.collectorUrl} target="_blank" rel="noopener noreferrer">Read the traces there</a>.`
                : 'Read the traces there (set CONSOLE_TRACES_URL to link to it from here).'
            }</p>`
          : html`<p>Tracing is off (CONSOLE_TRACES=false).</p>`
      }
    </section>`;
  }
  return html`<section>
    <h2>Traces</h2>
    <form class="filters" onSubmit=${(event) => {
      event.preventDefault();
      load();
    }}>
      <label>Request id <input name="requestId" value=${filters.requestId} onInput=${field('requestId')} /></label>
      <label>Status <input name="status" placeholder="404 or 5xx" size="6" value=${filters.status} onInput=${field('status')} /></label>
      <label>Route <input name="route" placeholder="/orders" value=${filters.route} onInput=${field('route')} /></label>
      <button type="submit">Search</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${
      list &&
      html`<table class="traces">
      <thead><tr><th>When</th><th>Request</th><th>Status</th><th>Duration</th><th>Request id</th></tr></thead>
      <tbody>
        ${list.data.length === 0 && html`<tr><td colspan="5" class="empty">No requests match.</td></tr>`}
        ${list.data.map(
          (
            item,
          ) => html`<tr data-request=${item.requestId} class=${item.traceId === selected ? 'selected' : ''} onClick=${() => setSelected(item.traceId)}>
            <td>${item.startedAt}</td>
            <td><button type="button" class="link">${item.method} ${item.route}</button><br /><small><code>${item.path}</code></small></td>
            <td class=${item.status >= 500 ? 'error' : ''}>${item.status}</td>
            <td>${item.durationMs.toFixed(1)} ms</td>
            <td><code>${item.requestId}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>`
    }
    ${selected && html`<${TraceView} traceId=${selected} />`}
  </section>`;
}
