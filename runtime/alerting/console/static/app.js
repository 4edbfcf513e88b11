// @ts-check
/**
 * The console's shell: sign-in, who you are, the navigation and the current view.
 */
import { html, render, useEffect, useState } from "./lib/html.js";
import { loadConfig } from "./lib/api.js";
import { describeCaller, signIn, signOut, storedToken } from "./lib/session.js";
import { href, navigate, onLinkClick, useLocation } from "./lib/router.js";
import { ErrorBox } from "./lib/ui.js";
import { VIEWS } from "./views/index.js";

/** @typedef {import("./lib/session.js").Session} Session */

/** @param {{config: import("./lib/api.js").ConsoleConfig}} props */
function App({ config }) {
  const [session, setSession] = useState(/** @type {Session | null} */ (null));
  const [restoring, setRestoring] = useState(Boolean(storedToken()));
  const [error, setError] = useState(/** @type {unknown} */ (null));
  const expired = () => {
    signOut();
    setSession(null);
    setError(new Error("The token was refused (revoked or wrong): sign in again."));
  };
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    signIn(config, token, expired)
      .then(setSession, (err) => {
        signOut();
        setError(err);
      })
      .finally(() => setRestoring(false));
  }, []);

  if (restoring) return html`<p class="state" role="status">Signing in…</p>`;
  if (!session) {
    return html`<${SignIn}
      error=${error}
      onSubmit=${async (/** @type {string} */ token) => {
        setError(null);
        try {
          setSession(await signIn(config, token, expired));
        } catch (err) {
          setError(err);
        }
      }}
    />`;
  }
  return html`<${Shell}
    session=${session}
    onSignOut=${() => {
      signOut();
      setSession(null);
      navigate("clients");
    }}
  />`;
}

/** @param {{error: unknown, onSubmit: (token: string) => Promise<void>}} props */
function SignIn({ error, onSubmit }) {
  const [busy, setBusy] = useState(false);
  const submit = async (/** @type {Event} */ event) => {
    event.preventDefault();
    const form = /** @type {HTMLFormElement} */ (event.currentTarget);
    const token = String(new FormData(form).get("token") ?? "");
    setBusy(true);
    await onSubmit(token);
    setBusy(false);
  };
  return html`<main class="signin">
    <h1>alerting console</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <label for="token">API token (the admin token or a client key)</label>
      <input id="token" name="token" type="password" autocomplete="off" required autofocus />
      <button type="submit" disabled=${busy}>Sign in</button>
      <p class="hint">The token stays in this tab only and is sent as a bearer header.</p>
    </form>
    <${ErrorBox} error=${error} />
  </main>`;
}

/** @param {{session: Session, onSignOut: () => void}} props */
function Shell({ session, onSignOut }) {
  const loc = useLocation();
  const views = VIEWS.filter((v) => !v.adminOnly || session.caller.kind === "admin");
  const view = views.find((v) => v.id === loc.view) ?? views[0];
  useEffect(() => {
    document.title = `${view.title} · alerting console`;
  }, [view]);
  const View = view.component;
  return html`<div class="shell" onClick=${onLinkClick}>
    <header>
      <a class="brand" href=${href(views[0].id)}>alerting</a>
      <nav aria-label="Views">
        ${views.map(
          (v) => html`<a href=${href(v.id)} aria-current=${v.id === view.id ? "page" : undefined}>${v.title}</a>`,
        )}
      </nav>
      <div class="who">
        <span data-testid="who">Signed in as ${describeCaller(session.caller)}</span>
        <button type="button" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main id="view" data-view=${view.id}>
      <${View} session=${session} loc=${loc} />
    </main>
  </div>`;
}

async function start() {
  const root = /** @type {HTMLElement} */ (document.getElementById("app"));
  root.textContent = ""; // the "Loading" placeholder: render() appends to what is there
  try {
    render(html`<${App} config=${await loadConfig()} />`, root);
  } catch (err) {
    render(html`<${ErrorBox} error=${err} />`, root);
  }
}

start();
