/**
 * The portal's shell: sign-in (the hub's bearer token, kept in sessionStorage for this tab's
 * session only), the navigation, and the view the URL names.
 */
import { useState, type ReactNode } from 'react';
import { ApiClient } from './api/client.ts';
import { setLiveClient } from './state/live.ts';
import { useRoute, navigate } from './router.ts';
import { Link } from './components/Link.tsx';
import { SignIn } from './views/SignIn.tsx';
import { Overview } from './views/Overview.tsx';
import { Clusters } from './views/Clusters.tsx';
import { ClusterPage } from './views/ClusterPage.tsx';
import { Workloads, WorkloadPage } from './views/Workloads.tsx';
import { Policies, PolicyPage } from './views/Policies.tsx';
import { Events } from './views/Events.tsx';

const tokenKey = 'nephele.token';

function restoredClient(): ApiClient | undefined {
  const token = sessionStorage.getItem(tokenKey);
  return token ? new ApiClient(token) : undefined;
}

const sections = [
  { to: '/', label: 'Overview', match: (s: string | undefined) => s === undefined },
  { to: '/clusters', label: 'Clusters', match: (s: string | undefined) => s === 'clusters' },
  { to: '/workloads', label: 'Workloads', match: (s: string | undefined) => s === 'workloads' },
  { to: '/policies', label: 'Policies', match: (s: string | undefined) => s === 'policies' },
  { to: '/events', label: 'Events', match: (s: string | undefined) => s === 'events' },
];

export function App() {
  const [client, setClient] = useState<ApiClient | undefined>(restoredClient);
  const route = useRoute();
  setLiveClient(client);
  if (!client) {
    return <SignIn onSignedIn={(c) => { sessionStorage.setItem(tokenKey, c.token); setLiveClient(c); setClient(c); }} />;
  }
  const signOut = () => {
    sessionStorage.removeItem(tokenKey);
    setLiveClient(undefined);
    setClient(undefined);
    navigate('/');
  };
  const [section, a, b, c] = route.segments;
  let view: ReactNode;
  if (section === undefined) view = <Overview />;
  else if (section === 'clusters' && a) view = <ClusterPage name={a} />;
  else if (section === 'clusters') view = <Clusters />;
  else if (section === 'workloads' && a && b) view = <WorkloadPage namespace={a} name={b} />;
  else if (section === 'workloads') view = <Workloads />;
  else if (section === 'policies' && a && b && c) view = <PolicyPage kind={a} namespace={b} name={c} />;
  else if (section === 'policies' && a && b) view = <PolicyPage kind={a} namespace="" name={b} />;
  else if (section === 'policies' && a === 'new') view = <PolicyPage kind="new" namespace="" name="" />;
  else if (section === 'policies') view = <Policies />;
  else if (section === 'events') view = <Events />;
  else view = <section><h1>Not found</h1><p>The portal has no page at {route.path}. <Link to="/">Go to the overview</Link>.</p></section>;
  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <header>
        <span className="brand">Nephele</span>
        <nav aria-label="Sections">
          {sections.map((s) => <Link key={s.to} to={s.to} aria-current={s.match(section) ? 'page' : undefined}>{s.label}</Link>)}
        </nav>
        <button type="button" className="signout" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" key={section ?? 'overview'}>{view}</main>
    </div>
  );
}

/** A loading, error or empty placeholder, or the content when there is some. */
export function Placeholder(props: { loading: boolean; error?: string; empty: boolean; emptyText: string; children: ReactNode }) {
  if (props.error && props.loading) return <p role="alert" className="error">{props.error}</p>;
  if (props.loading) return <p role="status" className="loading">Loading…</p>;
  return (
    <>
      {props.error ? <p role="alert" className="error">{props.error} (retrying)</p> : null}
      {props.empty ? <p className="empty">{props.emptyText}</p> : props.children}
    </>
  );
}
