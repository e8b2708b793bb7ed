import { serviceNames } from '@armature/contracts/services';
import { useEffect, useState } from 'preact/hooks';
import { eventTypes } from '../event-types.ts';
import { html } from '../html.js';
import { api } from '../session.js';

function RecentEvents() {
  const [type, setType] = useState(eventTypes[0]);
  const [aggregateId, setAggregateId] = useState('');
  const [events, setEvents] = useState(undefined);
  const [error, setError] = useState('');
  const load = async () => {
    const query = aggregateId ? `aggregateId=${encodeURIComponent(aggregateId)}` : `type=${type}`;
    try {
      const list = await api('GET', `/v1/events?${query}&limit=20`);
      setEvents(list.data);
      setError('');
    } catch (failure) {
      setError(failure.message);
    }
  };
  useEffect(() => {
    load();
  }, [type]);
  return html`<section>
    <h2>Recent events</h2>
    <form class="filters" onSubmit=${(event) => {
      event.preventDefault();
      load();
    }}>
      <label>Type <select name="type" value=${type} onChange=${(event) => setType(event.currentTarget.value)}>
        ${eventTypes.map((name) => html`<option value=${name}>${name}</option>`)}
      </select></label>
      <label>Aggregate <input name="aggregateId" placeholder="usr_… or ord_…" value=${aggregateId} onInput=${(event) => setAggregateId(event.currentTarget.value.trim())} /></label>
      <button type="submit">Search</button>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${
      events &&
      html`<table class="events">
      <thead><tr><th>When</th><th>Type</th><th>Aggregate</th><th>Id</th></tr></thead>
      <tbody>
        ${events.length === 0 && html`<tr><td colspan="4">No events.</td></tr>`}
        ${events.map(
          (event) => html`<tr data-event=${event.id}>
            <td>${event.timestamp}</td><td>${event.type}</td><td><code>${event.aggregateId}</code></td><td><code>${event.id}</code></td>
          </tr>`,
        )}
      </tbody>
    </table>`
    }
  </section>`;
}

function DeadLetterRow({ deadLetter, onDone }) {
  const [open, setOpen] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [message, setMessage] = useState('');
  const path = `/v1/services/${deadLetter.service}/consumers/${deadLetter.consumer}/dead-letters/${deadLetter.id}`;
  const replay = async () => {
    try {
      const result = await api('POST', `${path}/replays`);
      setMessage(`replayed: ${result.outcome}`);
      onDone();
    } catch (failure) {
      setMessage(failure.message);
      onDone();
    }
  };
  const discard = async () => {
    try {
      await api('DELETE', path);
      onDone();
    } catch (failure) {
      setMessage(failure.message);
    }
  };
  return html`<tr data-dead-letter=${deadLetter.id}>
      <td>${deadLetter.deadLetteredAt}</td>
      <td>${deadLetter.service} / ${deadLetter.consumer}</td>
      <td>${deadLetter.event.type}</td>
      <td><code>${deadLetter.event.aggregateId}</code></td>
      <td>${deadLetter.attempts}</td>
      <td class="last-error">${deadLetter.lastError}</td>
      <td class="actions">
        <button type="button" onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Inspect'}</button>
        <button type="button" onClick=${replay}>Replay</button>
        ${
          confirming
            ? html`<button type="button" class="danger" onClick=${discard}>Confirm discard</button>`
            : html`<button type="button" onClick=${() => setConfirming(true)}>Discard</button>`
        }
        ${message && html`<span class="message" role="status">${message}</span>`}
      </td>
    </tr>
    ${open && html`<tr class="envelope"><td colspan="7"><pre>${JSON.stringify(deadLetter.event, null, 2)}</pre></td></tr>`}`;
}

function DeadLetters() {
  const [deadLetters, setDeadLetters] = useState(undefined);
  const [error, setError] = useState('');
  const load = async () => {
    try {
      const lists = await Promise.all(
        serviceNames.map((service) => api('GET', `/v1/services/${service}/dead-letters?limit=100`)),
      );
      setDeadLetters(lists.flatMap((list) => list.data));
      setError('');
    } catch (failure) {
      setError(failure.message);
    }
  };
  useEffect(() => {
    load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);
  return html`<section>
    <h2>Dead letters <button type="button" onClick=${load}>Refresh</button></h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${
      deadLetters &&
      html`<table class="dead-letters">
      <thead><tr><th>Dead-lettered</th><th>Consumer</th><th>Type</th><th>Aggregate</th><th>Attempts</th><th>Last error</th><th></th></tr></thead>
      <tbody>
        ${deadLetters.length === 0 && html`<tr><td colspan="7" class="empty">No dead letters.</td></tr>`}
        ${deadLetters.map((deadLetter) => html`<${DeadLetterRow} key=${deadLetter.id} deadLetter=${deadLetter} onDone=${load} />`)}
      </tbody>
    </table>`
    }
  </section>`;
}

export function EventsPage() {
  return html`<${DeadLetters} /><${RecentEvents} />`;
}
