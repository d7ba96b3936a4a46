/** The sign-in form: the hub's bearer token, checked against the API before it is kept. */
import { useState, type FormEvent } from 'react';
import { ApiClient, ApiError } from '../api/client.ts';

export function SignIn(props: { onSignedIn: (client: ApiClient) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) {
      setError('Enter the hub\'s bearer token: `npx nephele ui-token` prints it.');
      return;
    }
    setBusy(true);
    setError(undefined);
    const client = new ApiClient(value);
    try {
      await client.verify();
      props.onSignedIn(client);
    } catch (err) {
      if (err instanceof ApiError && err.code === 401) setError(`The hub refused this token (401 Unauthorized). Copy the token that \`npx nephele ui-token\` prints and try again.`);
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <h1>Nephele portal</h1>
      <p>Sign in with the hub's bearer token. Print it with <code>npx nephele ui-token</code> (add <code>--home DIR</code> if the hub does not use <code>.nephele</code>). It is kept for this browser tab's session only.</p>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <label htmlFor="token">Bearer token</label>
        <input id="token" name="token" type="password" autoComplete="off" autoFocus value={token} onChange={(e) => setToken(e.target.value)} aria-invalid={error ? true : undefined} />
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
      {error ? <p id="signin-error" role="alert" className="error">{error}</p> : null}
    </main>
  );
}
