import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { DataPage } from './pages/data.js';
import { EventsPage } from './pages/events.js';
import { MapPage } from './pages/map.js';
import { TracesPage } from './pages/traces.js';
import { TrafficPage } from './pages/traffic.js';
import { onSessionEnd, signIn, signOut } from './session.js';

const pages = {
  map: ['Map', MapPage],
  traffic: ['Traffic', TrafficPage],
  traces: ['Traces', TracesPage],
  events: ['Events', EventsPage],
  data: ['Data', DataPage],
};

function currentPage() {
  const name = location.hash.replace(/^#\/?/, '');
  return name in pages ? name : 'map';
}

function SignIn({ onSignedIn }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError('');
    try {
      onSignedIn(await signIn(String(form.get('email')), String(form.get('password'))));
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="sign-in">
    <h1>Armature console</h1>
    <p>Sign in with an admin account.</p>
    <form onSubmit=${submit}>
      <label>Email <input name="email" type="email" autocomplete="username" required /></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
      <button type="submit" disabled=${busy}>Sign in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
  </main>`;
}

function Shell() {
  const [user, setUser] = useState(undefined);
  const [page, setPage] = useState(currentPage());
  useEffect(() => {
    onSessionEnd(() => setUser(undefined));
    const follow = () => setPage(currentPage());
    addEventListener('hashchange', follow);
    return () => removeEventListener('hashchange', follow);
  }, []);
  if (!user) return html`<${SignIn} onSignedIn=${setUser} />`;
  const [, Page] = pages[page];
  return html`<div class="shell">
    <header>
      <strong>Armature console</strong>
      <nav>
        ${Object.entries(pages).map(
          ([name, [title]]) =>
            html`<a href=${`#/${name}`} class=${name === page ? 'active' : ''} aria-current=${name === page ? 'page' : undefined}>${title}</a>`,
        )}
      </nav>
      <span class="who">${user.email} <button type="button" onClick=${signOut}>Sign out</button></span>
    </header>
    <main><${Page} /></main>
  </div>`;
}

export function App() {
  return html`<${Shell} />`;
}
