import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { api } from '../session.js';

const enc = encodeURIComponent;

/** The events of one aggregate, as its service's outbox recorded them (up to 100). */
const eventsOf = async (aggregateId) =>
  (await api('GET', `/v1/events?aggregateId=${enc(aggregateId)}&limit=100`)).data;

/**
 * What an id or email names, with its history: a user (by `usr_…` id or email) with their events
 * and latest orders, or an order (`ord_…`) with its events, its payments and theirs. Read-only.
 */
export async function lookUp(text) {
  const query = text.trim();
  if (query.startsWith('ord_')) {
    const order = await api('GET', `/v1/orders/${enc(query)}`);
    const payments = (await api('GET', `/v1/payments?orderId=${enc(query)}&limit=100`)).data;
    const paymentEvents = (await Promise.all(payments.map((payment) => eventsOf(payment.id)))).flat();
    return {
      kind: 'order',
      id: order.id,
      state: order,
      events: await eventsOf(order.id),
      payments,
      paymentEvents,
    };
  }
  let id = query;
  if (query.includes('@')) {
    const found = (await api('GET', `/v1/users?email=${enc(query)}&limit=1`)).data[0];
    if (!found) throw new Error(`No user has the email ${query}.`);
    id = found.id;
  } else if (!query.startsWith('usr_')) {
    throw new Error('Enter a user id (usr_…), an email, or an order id (ord_…).');
  }
  const user = await api('GET', `/v1/users/${enc(id)}`);
  const orders = (await api('GET', `/v1/users/${enc(id)}/orders?limit=20`)).data;
  return { kind: 'user', id: user.id, state: user, events: await eventsOf(user.id), orders };
}

function State({ state }) {
  return html`<table class="state">
    <tbody>
      ${Object.entries(state).map(
        ([key, value]) =>
          html`<tr><th>${key}</th><td><code>${typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}</code></td></tr>`,
      )}
    </tbody>
  </table>`;
}

function Events({ events }) {
  const sorted = [...events].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  return html`<table class="history">
    <thead><tr><th>When</th><th>Event</th><th>Aggregate</th><th>Data</th></tr></thead>
    <tbody>
      ${sorted.length === 0 && html`<tr><td colspan="4">No events.</td></tr>`}
      ${sorted.map(
        (event) => html`<tr data-history-event=${event.type}>
          <td>${event.timestamp}</td><td>${event.type}${event.version ? html` <small>v${event.version}</small>` : ''}</td>
          <td><code>${event.aggregateId}</code></td><td><code class="data">${JSON.stringify(event.data)}</code></td>
        </tr>`,
      )}
    </tbody>
  </table>`;
}

/** Look up a user or an order and read its history: current state and version, events, payments. */
export function DataPage() {
  const [query, setQuery] = useState('');
  const [found, setFound] = useState(undefined);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const search = async (text) => {
    setBusy(true);
    setError('');
    try {
      setFound(await lookUp(text));
    } catch (failure) {
      setFound(undefined);
      setError(failure.status === 404 ? `Nothing found for ${text}.` : failure.message);
    } finally {
      setBusy(false);
    }
  };
  const open = (id) => {
    setQuery(id);
    search(id);
  };
  return html`<section>
    <h2>Data</h2>
    <form class="filters" onSubmit=${(event) => {
      event.preventDefault();
      search(query);
    }}>
      <label>User id, email or order id <input name="lookup" size="40" placeholder="usr_…, someone@example.com or ord_…" value=${query} onInput=${(event) => setQuery(event.currentTarget.value)} /></label>
      <button type="submit" disabled=${busy}>Look up</button>
    </form>
    <p class="hint">Read-only: what the API answers now, and the events its services recorded.</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${
      found &&
      html`<div class="found" data-found=${found.id}>
      <h3>${found.kind === 'order' ? 'Order' : 'User'} <code>${found.id}</code> ${found.state.version !== undefined ? html`<small>version ${found.state.version}</small>` : ''}</h3>
      <${State} state=${found.state} />
      <h3>Events</h3>
      <${Events} events=${found.events} />
      ${
        found.kind === 'order' &&
        html`<h3>Payments</h3>
        <table class="payments">
          <thead><tr><th>Payment</th><th>Status</th><th>Amount</th><th>Updated</th></tr></thead>
          <tbody>
            ${found.payments.length === 0 && html`<tr><td colspan="4">No payment for this order.</td></tr>`}
            ${found.payments.map(
              (payment) => html`<tr data-payment=${payment.status}>
                <td><code>${payment.id}</code></td><td>${payment.status}</td>
                <td>${typeof payment.amount === 'object' ? `${payment.amount.amount} ${payment.amount.currency}` : payment.amount}</td>
                <td>${payment.updatedAt}</td>
              </tr>`,
            )}
          </tbody>
        </table>
        ${found.paymentEvents.length > 0 && html`<h3>Payment events</h3><${Events} events=${found.paymentEvents} />`}`
      }
      ${
        found.kind === 'user' &&
        html`<h3>Latest orders</h3>
        <table class="orders">
          <thead><tr><th>Order</th><th>Status</th><th>Created</th></tr></thead>
          <tbody>
            ${found.orders.length === 0 && html`<tr><td colspan="3">No orders.</td></tr>`}
            ${found.orders.map(
              (order) => html`<tr>
                <td><button type="button" class="link" onClick=${() => open(order.id)}>${order.id}</button></td>
                <td>${order.status}</td><td>${order.createdAt}</td>
              </tr>`,
            )}
          </tbody>
        </table>`
      }
    </div>`
    }
  </section>`;
}
