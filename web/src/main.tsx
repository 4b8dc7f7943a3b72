// The dashboard shell: sign-in gate, navigation, and a hash router (so the server needs to
// serve only `/` and the assets).
import type { ComponentType } from "preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, must, setCsrfToken, whenSignedOut } from "./api/client";
import { Admins } from "./screens/admins";
import { Audit } from "./screens/audit";
import { Bookings } from "./screens/bookings";
import { Chat } from "./screens/chat";
import { Clients } from "./screens/clients";
import { Domains } from "./screens/domains";
import { Login } from "./screens/login";
import { Overview } from "./screens/overview";
import { RoomDetail, Rooms } from "./screens/rooms";
import { SessionEntries } from "./screens/sessions";
import { Subscriptions } from "./screens/subscriptions";
import { Webhooks } from "./screens/webhooks";
import { Widgets } from "./screens/widgets";
import { Loading, Session, type SessionInfo } from "./ui";
import "./styles.css";

/** A screen gets the route's parameters (e.g. `#/rooms/localhost/standup` → ["localhost", "standup"]). */
export type Screen = ComponentType<{ params: string[] }>;

const screens: { path: string; title: string; screen: Screen; hidden?: boolean }[] = [
  { path: "overview", title: "Overview", screen: Overview },
  { path: "rooms", title: "Rooms", screen: Rooms },
  { path: "room", title: "Room", screen: RoomDetail, hidden: true },
  { path: "bookings", title: "Bookings", screen: Bookings },
  { path: "webhooks", title: "Webhooks", screen: Webhooks },
  { path: "subscriptions", title: "Subscriptions", screen: Subscriptions },
  { path: "sessions", title: "Session entries", screen: SessionEntries },
  { path: "clients", title: "API clients", screen: Clients },
  { path: "domains", title: "Domains", screen: Domains },
  { path: "chat", title: "Chat transcripts", screen: Chat },
  { path: "widgets", title: "Chat widgets", screen: Widgets },
  { path: "admins", title: "Admin users", screen: Admins },
  { path: "audit", title: "Audit log", screen: Audit },
];

function parseHash(): { path: string; params: string[] } {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { path: parts[0] ?? "overview", params: parts.slice(1) };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const update = () => setRoute(parseHash());
    window.addEventListener("hashchange", update);
    return () => window.removeEventListener("hashchange", update);
  }, []);
  return route;
}

function App() {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const route = useRoute();
  const [menuOpen, setMenuOpen] = useState(false);

  const adopt = (s: { admin: SessionInfo["admin"]; csrfToken: string }) => {
    setCsrfToken(s.csrfToken);
    setSession({ admin: s.admin, orgId: s.admin.orgId, canChange: s.admin.role !== "viewer" });
  };

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    api.GET("/v1/admin/session").then(
      (r) => (r.data ? adopt(r.data) : setSession(null)),
      () => setSession(null),
    );
  }, []);
  useEffect(() => setMenuOpen(false), [route.path, route.params.join("/")]);

  if (session === undefined) return <Loading label="Starting…" />;
  if (session === null) return <Login onSignedIn={adopt} />;

  const current = screens.find((s) => s.path === route.path) ?? screens[0];
  const Current = current.screen;
  const signOut = async () => {
    await must(api.DELETE("/v1/admin/session")).catch(() => undefined);
    setCsrfToken("");
    setSession(null);
  };
  return (
    <Session.Provider value={session}>
      <div class="shell">
        <header class="topbar">
          <button
            type="button"
            class="menu-toggle"
            aria-expanded={menuOpen}
            aria-controls="nav"
            onClick={() => setMenuOpen(!menuOpen)}
          >
            ☰ Menu
          </button>
          <a class="brand" href="#/overview">
            meetplane
          </a>
          <span class="who muted">
            {session.admin.email} · {session.admin.role}
          </span>
          <button type="button" class="link" onClick={signOut}>
            Sign out
          </button>
        </header>
        <nav id="nav" class={menuOpen ? "nav open" : "nav"} aria-label="Sections">
          <ul>
            {screens
              .filter((s) => !s.hidden)
              .map((s) => (
                <li key={s.path}>
                  <a href={`#/${s.path}`} aria-current={s.path === current.path ? "page" : undefined}>
                    {s.title}
                  </a>
                </li>
              ))}
          </ul>
        </nav>
        <main class="content" id="main">
          <Current key={`${current.path}/${route.params.join("/")}`} params={route.params} />
        </main>
      </div>
    </Session.Provider>
  );
}

render(<App />, document.getElementById("app")!);
