// The side panels: chat, and the people (with the lobby's knocks and a host's actions).
import { useEffect, useRef, useState } from "preact/hooks";
import { type Peer, isHostType, isViewerType } from "./api";
import type { ChatLine, MeetingSession } from "./session";

const time = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const at = (iso?: string | null) => (iso ? time.format(new Date(iso)) : "");

export function ChatPanel(props: { session: MeetingSession; lines: ChatLine[]; onError: (text: string) => void }) {
  const [text, setText] = useState("");
  const list = useRef<HTMLOListElement>(null);
  useEffect(() => {
    if (list.current) list.current.scrollTop = list.current.scrollHeight;
  }, [props.lines.length]);
  const send = async (e: Event) => {
    e.preventDefault();
    const t = text.trim();
    if (!t) return;
    try {
      await props.session.sendChat(t);
      setText("");
    } catch (err) {
      props.onError(`The message could not be sent: ${err instanceof Error ? err.message : err}`);
    }
  };
  return (
    <section class="panel chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      <ol ref={list} class="messages" aria-live="polite">
        {props.lines.map((m) => (
          <li key={m.id}>
            <span class="who">{m.displayName}</span> {m.text}{" "}
            <time class="muted" dateTime={m.createdAt}>
              {at(m.createdAt)}
            </time>
          </li>
        ))}
      </ol>
      <form class="send" onSubmit={send}>
        <input
          id="chat-text"
          aria-label="Message"
          maxLength={4000}
          autoComplete="off"
          placeholder="Write a message"
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit" aria-label="Send message">
          Send
        </button>
      </form>
    </section>
  );
}

const STATE_TEXT: Record<string, string> = {
  waiting: "in the lobby",
  admitted: "joining",
  connected: "connected",
  away: "reconnecting",
};

export function PeoplePanel(props: { session: MeetingSession; onError: (text: string) => void }) {
  const s = props.session;
  const act = (what: string, run: () => Promise<unknown>) => () =>
    run().catch((e) => props.onError(`${what} failed: ${e instanceof Error ? e.message : e}`));
  return (
    <section class="panel people" aria-labelledby="people-title">
      <h2 id="people-title">People ({s.present.length})</h2>
      <ul class="people-list">
        {s.present.map((p) => (
          <PersonRow
            key={p.id}
            peer={p}
            me={p.id === s.me}
            canKick={s.amHost && p.id !== s.me}
            onKick={act("Removing", () => s.api.kick(p.id))}
            // On the SFU, hosts can mute a person's microphone at the media server.
            mute={s.amHost && s.sfu && p.id !== s.me && !isViewerType(p.type) ? { muted: s.mutedByMe.has(p.id), toggle: act("Muting", () => s.hostMute(p.id)) } : undefined}
          />
        ))}
      </ul>
    </section>
  );
}

/** Who knocks, with Admit and Deny: always in view for hosts. */
export function Knocks(props: { session: MeetingSession; onError: (text: string) => void }) {
  const s = props.session;
  if (!s.knocks.length) return null;
  const act = (what: string, run: () => Promise<unknown>) => () =>
    run().catch((e) => props.onError(`${what} failed: ${e instanceof Error ? e.message : e}`));
  return (
    <section class="knocks" aria-labelledby="knocks-title">
      <h2 id="knocks-title">Waiting to be let in</h2>
      <ul>
        {s.knocks.map((p) => (
          <li key={p.id} data-peer-id={p.id}>
            <span>{p.displayName}</span>
            <button type="button" class="admit" aria-label={`Admit ${p.displayName}`} onClick={act("Admitting", () => s.api.admit(p.id))}>
              Admit
            </button>
            <button type="button" class="deny" aria-label={`Deny ${p.displayName}`} onClick={act("Denying", () => s.api.deny(p.id))}>
              Deny
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function PersonRow(props: { peer: Peer; me: boolean; canKick: boolean; onKick: () => void; mute?: { muted: boolean; toggle: () => void } }) {
  const p = props.peer;
  const role = isHostType(p.type) ? "host" : isViewerType(p.type) ? "viewer" : "";
  return (
    <li data-peer-id={p.id}>
      <span class="name">
        {p.displayName}
        {props.me && " (you)"}
      </span>
      {role && <span class="badge">{role}</span>}
      {p.state && <span class={`state ${p.state}`}>{STATE_TEXT[p.state] ?? p.state}</span>}
      {p.connectedAt && (
        <time class="muted" dateTime={p.connectedAt} title="connected at">
          {at(p.connectedAt)}
        </time>
      )}
      {props.mute && (
        <button type="button" class="host-mute" aria-pressed={props.mute.muted} aria-label={`${props.mute.muted ? "Unmute" : "Mute"} ${p.displayName}'s microphone`} onClick={props.mute.toggle}>
          {props.mute.muted ? "Unmute" : "Mute"}
        </button>
      )}
      {props.canKick && (
        <button type="button" class="kick" aria-label={`Remove ${p.displayName} from the meeting`} onClick={props.onKick}>
          Remove
        </button>
      )}
    </li>
  );
}
