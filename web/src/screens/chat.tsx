// Chat transcripts: pick a room, read its messages newest first, page to older ones.
// `#/chat/{domain}/{name}` opens one room's transcript directly.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import {
  Async,
  Empty,
  ErrorBox,
  Field,
  Page,
  formatTime,
  useAction,
  useLoad,
  useSession,
} from "../ui";

type Message = Schemas["Message"];

const PAGE_SIZE = 50;

function chatHref(domain: string, name: string) {
  return `#/chat/${encodeURIComponent(domain)}/${encodeURIComponent(name)}`;
}

export function Chat(props: { params: string[] }) {
  const [domain, name] = props.params;
  return domain && name ? <Transcript domain={domain} name={name} /> : <RoomPicker />;
}

function RoomPicker() {
  const { orgId } = useSession();
  const rooms = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/rooms", { params: { path: { orgId }, query: { count: 500 } } })),
    [orgId],
  );
  const [typed, setTyped] = useState("");
  const [typedError, setTypedError] = useState<string | null>(null);
  const [picked, setPicked] = useState("");

  const openTyped = (e: Event) => {
    e.preventDefault();
    const value = typed.trim().replace(/^\/+|\/+$/g, "");
    const slash = value.indexOf("/");
    if (slash <= 0 || slash === value.length - 1) {
      setTypedError("Write the room as domain/name, e.g. meet.example.com/standup.");
      return;
    }
    setTypedError(null);
    location.hash = chatHref(value.slice(0, slash), value.slice(slash + 1));
  };
  const openPicked = (e: Event) => {
    e.preventDefault();
    const slash = picked.indexOf("/");
    if (slash > 0) location.hash = chatHref(picked.slice(0, slash), picked.slice(slash + 1));
  };

  return (
    <Page title="Chat transcripts">
      <p class="muted">Choose a room to read its chat, newest messages first.</p>
      <section class="card" aria-labelledby="live-rooms">
        <h2 id="live-rooms" style={{ marginTop: 0 }}>
          Live rooms
        </h2>
        <Async value={rooms}>
          {(data) =>
            data.content.length === 0 ? (
              <Empty>No room is open now. Enter a room below.</Empty>
            ) : (
              <form class="inline" onSubmit={openPicked} aria-label="Open a live room's transcript">
                <Field label="Room">
                  <select value={picked} onChange={(e) => setPicked(e.currentTarget.value)} required>
                    <option value="">Choose a room…</option>
                    {data.content.map((r) => (
                      <option key={r.id} value={`${r.domain}/${r.name}`}>
                        {r.domain}/{r.name} ({r.peers.length} {r.peers.length === 1 ? "peer" : "peers"})
                      </option>
                    ))}
                  </select>
                </Field>
                <button type="submit" class="primary" disabled={!picked} style={{ marginBottom: "0.75rem" }}>
                  Show transcript
                </button>
              </form>
            )
          }
        </Async>
      </section>
      <section class="card" aria-labelledby="any-room">
        <h2 id="any-room" style={{ marginTop: 0 }}>
          Any room by name
        </h2>
        <form class="inline" onSubmit={openTyped} aria-label="Open a room's transcript by name">
          <Field label="Room (domain/name)">
            <input
              value={typed}
              placeholder="meet.example.com/standup"
              autoCapitalize="off"
              spellcheck={false}
              onInput={(e) => setTyped(e.currentTarget.value)}
            />
          </Field>
          <button type="submit" disabled={!typed.trim()} style={{ marginBottom: "0.75rem" }}>
            Open transcript
          </button>
        </form>
        {typedError && <ErrorBox message={typedError} />}
      </section>
    </Page>
  );
}

function Transcript(props: { domain: string; name: string }) {
  const { orgId } = useSession();
  const path = { orgId, domain: props.domain, name: props.name };
  const first = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/rooms/{domain}/{name}/messages", {
          params: { path, query: { count: PAGE_SIZE } },
        }),
      ),
    [orgId, props.domain, props.name],
  );
  // Older pages fetched with `before`; cleared when the first page reloads.
  const [older, setOlder] = useState<{ messages: Message[]; more: boolean } | null>(null);
  const loadOlder = useAction();

  const refresh = () => {
    setOlder(null);
    first.reload();
  };

  const more = () => {
    if (first.state !== "ready") return;
    const shown = [...first.data.content, ...(older?.messages ?? [])];
    const oldest = shown[shown.length - 1];
    if (!oldest) return;
    void loadOlder.run(async () => {
      const page = await must(
        api.GET("/v1/orgs/{orgId}/rooms/{domain}/{name}/messages", {
          params: { path, query: { count: PAGE_SIZE, before: oldest.messageId } },
        }),
      );
      setOlder({ messages: [...(older?.messages ?? []), ...page.content], more: Boolean(page._links.next) });
    });
  };

  const room = `${props.domain}/${props.name}`;
  return (
    <Page
      title={`Chat: ${room}`}
      actions={
        <>
          <a href="#/chat">← Choose another room</a>
          <button type="button" onClick={refresh}>
            Refresh
          </button>
        </>
      }
    >
      <Async value={first}>
        {(data) => {
          const messages = [...data.content, ...(older?.messages ?? [])];
          const hasOlder = older ? older.more : Boolean(data._links.next);
          if (messages.length === 0) return <Empty>No messages in this room yet.</Empty>;
          return (
            <>
              <p class="muted small">
                {messages.length} {messages.length === 1 ? "message" : "messages"} shown, newest first.
              </p>
              <ol class="card" style={{ listStyle: "none", padding: 0 }} aria-label={`Messages of ${room}`}>
                {messages.map((m) => (
                  <MessageItem key={m.messageId} message={m} />
                ))}
              </ol>
              {loadOlder.error && <ErrorBox message={loadOlder.error} retry={more} />}
              {hasOlder ? (
                <button type="button" onClick={more} disabled={loadOlder.busy}>
                  {loadOlder.busy ? "Loading…" : "Load older messages"}
                </button>
              ) : (
                <p class="muted small">This is the beginning of the room's chat.</p>
              )}
            </>
          );
        }}
      </Async>
      {first.state === "error" && (
        <p class="muted small">Transcripts can be read only for rooms that still exist in this organisation.</p>
      )}
    </Page>
  );
}

const SENDER_KINDS: Record<string, string> = {
  peer: "participant",
  client: "API client",
  xmpp: "XMPP",
};

function MessageItem(props: { message: Message }) {
  const m = props.message;
  return (
    <li style={{ padding: "0.6rem 1rem", borderBottom: "1px solid var(--line)" }}>
      <div class="row" style={{ gap: "0.5rem", alignItems: "baseline" }}>
        <strong>{m.displayName || "(no name)"}</strong>
        <span class="badge">{SENDER_KINDS[m.senderKind] ?? m.senderKind}</span>
        <time class="muted small" dateTime={m.createdAt}>
          {formatTime(m.createdAt)}
        </time>
      </div>
      <p style={{ margin: "0.25rem 0 0", whiteSpace: "pre-wrap", overflowWrap: "anywhere" }}>{m.text}</p>
    </li>
  );
}
