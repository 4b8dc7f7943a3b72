// The meeting page at /join/{domain}/{room}. It reads the peer token from the URL fragment
// (session links) and removes it from the address and history at once; the token stays in
// this tab's sessionStorage so a reload resumes the same seat. Room links and `#hostKey=`
// links ask for a name (and the password) and join through the public API. After the meeting
// the page goes only to the return URL the server gives for this peer (the link's `rtn`),
// never to one from the page's own URL.
import { render } from "preact";
import { useEffect, useReducer, useRef, useState } from "preact/hooks";
import { ApiFailure } from "../api/client";
import { PeerApi, type Room, joinByLink } from "./api";
import { type Entry, Prejoin } from "./prejoin";
import { InRoom, Lobby } from "./room";
import { MeetingSession } from "./session";
import "./meeting.css";

const [, , rawDomain = "", rawRoom = ""] = location.pathname.split("/");
const domain = decodeURIComponent(rawDomain);
const roomName = decodeURIComponent(rawRoom);
const fragment = new URLSearchParams(location.hash.slice(1));
// Keep tokens and keys out of history and referrers once read.
history.replaceState(null, "", location.pathname + location.search);
// Test-only and harmless: `?ice=relay` restricts this page to TURN relays.
const relayOnly = new URLSearchParams(location.search).get("ice") === "relay";
const stored = `meetplane.peerToken:${domain}/${roomName}`;
const hostKey = fragment.get("hostKey");

function initialToken(): string | null {
  const fromLink = fragment.get("peerToken");
  if (fromLink) sessionStorage.setItem(stored, fromLink);
  return fromLink ?? sessionStorage.getItem(stored);
}

type Phase =
  | { kind: "loading" }
  | { kind: "setup"; token: string | null; room: Room | null }
  | { kind: "in"; session: MeetingSession }
  | { kind: "over"; text: string }
  | { kind: "error"; text: string };

declare global {
  interface Window {
    __meetplane?: Record<string, unknown>;
    /** The media path in use once in the room: "mesh" or "sfu". */
    __meetplaneMediaMode?: "mesh" | "sfu";
  }
}

function App() {
  const [phase, setPhase] = useState<Phase>({ kind: "loading" });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const session = useRef<MeetingSession | null>(null);
  const finished = useRef(false);

  useEffect(() => {
    window.__meetplane = {
      stats: async () => (await session.current?.media?.stats()) ?? [],
      connections: () => session.current?.connections() ?? [],
      // SFU only: Janus sessions set up (1 + reconnects), the last failure, and a publisher
      // join attempt (a webinar viewer's is refused).
      sfuSessions: () => session.current?.sfu?.sessions ?? 0,
      sfuError: () => session.current?.sfu?.lastError ?? null,
      tryPublish: () => session.current?.sfu?.tryPublisherJoin() ?? Promise.resolve(null),
      peerId: () => session.current?.me ?? null,
      state: () => session.current?.myState ?? null,
      interrupt: () => session.current?.interruptSocket(),
      welcomes: () => session.current?.welcomes ?? 0,
      errors: () => session.current?.serverErrors ?? [],
    };
    const token = initialToken();
    if (!token) return setPhase({ kind: "setup", token: null, room: null });
    new PeerApi(domain, roomName, token).room().then(
      (room) => setPhase({ kind: "setup", token, room }),
      (e) => {
        if (e instanceof ApiFailure && e.status === 401) {
          sessionStorage.removeItem(stored);
          if (fragment.get("peerToken")) setPhase({ kind: "error", text: "This link's place in the meeting has ended. Open the link again." });
          else setPhase({ kind: "setup", token: null, room: null });
        } else setPhase({ kind: "error", text: e instanceof Error ? e.message : String(e) });
      },
    );
  }, []);

  const enter = async (entry: Entry, token: string | null) => {
    setBusy(true);
    setError(null);
    try {
      if (!token) {
        token = await joinByLink(domain, roomName, {
          displayName: entry.displayName,
          ...(hostKey ? { hostKey } : entry.password ? { key: entry.password } : {}),
        });
        sessionStorage.setItem(stored, token);
      }
      const api = new PeerApi(domain, roomName, token);
      const room = await api.room();
      const s = new MeetingSession(api, room, entry.stream.getTracks().length ? entry.stream : null, relayOnly, () => {
        redraw(0);
        if (s.over) finish(s.over.text, s.over.returnUrl);
      });
      session.current = s;
      setPhase({ kind: "in", session: s });
      s.start();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const finish = (text: string, returnUrl: string | null) => {
    if (finished.current) return;
    finished.current = true;
    sessionStorage.removeItem(stored);
    setPhase({ kind: "over", text });
    if (returnUrl && /^https?:\/\//i.test(returnUrl)) {
      window.setTimeout(() => location.assign(returnUrl), 800);
    }
  };

  switch (phase.kind) {
    case "loading":
      return <p class="center muted" role="status">Opening the meeting…</p>;
    case "error":
      return (
        <main class="center">
          <h1>Cannot join</h1>
          <p class="error" role="alert" id="status">{phase.text}</p>
        </main>
      );
    case "over":
      return (
        <main class="center">
          <h1>{roomName}</h1>
          <p role="status" id="status">{phase.text}</p>
        </main>
      );
    case "setup": {
      const askName = !phase.token;
      return (
        <Prejoin
          title={phase.room?.name ?? roomName}
          intro={askName ? (hostKey ? "You are invited as a host. Check your camera and microphone, then enter your name." : "Check your camera and microphone, then enter your name.") : "Check your camera and microphone, then join."}
          askName={askName}
          askPassword={askName && !hostKey}
          busy={busy}
          error={error}
          onEnter={(entry) => void enter(entry, phase.token)}
        />
      );
    }
    case "in":
      return phase.session.waiting ? <Lobby session={phase.session} /> : <InRoom session={phase.session} />;
  }
}

render(<App />, document.getElementById("meeting")!);
