import { useState } from "preact/hooks";
import { api, describeError, type Schemas } from "../api/client";
import { ErrorBox, Field } from "../ui";

export function Login(props: { onSignedIn: (s: Schemas["AdminSession"]) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api.POST("/v1/admin/session", { body: { email, password } });
      if (r.data) {
        props.onSignedIn(r.data);
      } else {
        const retry = r.response.headers.get("Retry-After");
        setError(describeError(r.error) + (retry ? ` (retry in ${retry} s)` : ""));
      }
    } catch (err) {
      setError(`the server could not be reached (${describeError(err)})`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to meetplane</h1>
        <Field label="Email">
          <input
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </Field>
        <Field label="Password">
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        {error && <ErrorBox message={error} />}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="muted small">
          No account yet? On the server run <code>meetplane admin create-user --org Default --email you@example.com --role owner</code>.
        </p>
      </form>
    </main>
  );
}
