import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { api, unwrap } from "../api/client.js";
import { useSignIn } from "../session.js";

/** Sign-in: an API token, or single sign-on when the server has it configured. */
export function SignInPage() {
  const signIn = useSignIn();
  const options = useQuery({
    queryKey: ["session-options"],
    queryFn: () => unwrap(api.GET("/api/session/options")),
  });
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(takeSignInError);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token.trim());
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  const oidc = options.data?.oidc;
  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Tenure</h1>
      {error !== null && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {oidc?.enabled && (
        <p>
          <a className="button primary" href="/auth/oidc/start">
            Sign in with {oidc.label ?? "single sign-on"}
          </a>
        </p>
      )}
      <form onSubmit={(e) => void submit(e)}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby="token-hint"
        />
        <p id="token-hint" className="muted">
          A token from <code>tenure token create</code>; it starts with <code>tnr_</code>.
        </p>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

/** Why the last single sign-on was refused, set by the server in a short-lived cookie; read once. */
function takeSignInError(): string | null {
  const match = /(?:^|;\s*)tenure_signin_error=([^;]*)/.exec(document.cookie);
  if (match === null) return null;
  // biome-ignore lint/suspicious/noDocumentCookie: the Cookie Store API is not in every browser the console supports
  document.cookie = "tenure_signin_error=; Max-Age=0; Path=/; SameSite=Lax";
  try {
    return decodeURIComponent(match[1] ?? "");
  } catch {
    return null;
  }
}
