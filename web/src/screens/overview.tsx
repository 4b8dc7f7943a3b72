// What an admin wants at a glance: who is in a meeting now, what starts next, what is broken.
import { useEffect } from "preact/hooks";
import { api, must } from "../api/client";
import { LiveBadge, useOrgEvents } from "../realtime";
import { Async, Empty, ErrorBox, Page, formatTime, useLoad, useSession } from "../ui";

/** How often the chat bridge's state is asked again (it sends no events). */
const BRIDGE_POLL_MS = 10_000;

export function Overview(_props: { params: string[] }) {
  const { orgId } = useSession();
  const rooms = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/rooms", { params: { path: { orgId }, query: { count: 500 } } })),
    [orgId],
  );
  const bookings = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/bookings", {
          params: { path: { orgId }, query: { from: new Date().toISOString(), count: 5 } },
        }),
      ),
    [orgId],
  );
  const webhooks = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/webhooks", { params: { path: { orgId }, query: { count: 500 } } })),
    [orgId],
  );
  const socket = useOrgEvents((e) => {
    if (e.room) rooms.reload();
    if (e.event.startsWith("booking")) bookings.reload();
  });
  return (
    <Page title="Overview" actions={<LiveBadge state={socket} />}>
      <div class="cards">
        <div class="card" data-testid="live-rooms">
          <h2>Live rooms</h2>
          <Async value={rooms}>
            {(page) => {
              const live = page.content.filter((r) => r.peers.length > 0);
              const peers = live.reduce((n, r) => n + r.peers.length, 0);
              return (
                <>
                  <p>
                    <span class="stat">{live.length}</span> of {page.content.length} rooms in use,{" "}
                    <strong>{peers}</strong> {peers === 1 ? "person" : "people"} in meetings
                  </p>
                  {live.length === 0 ? (
                    <Empty>Nobody is in a meeting right now.</Empty>
                  ) : (
                    <ul>
                      {live.map((r) => (
                        <li key={r.id}>
                          <a href={`#/room/${encodeURIComponent(r.domain)}/${encodeURIComponent(r.name)}`}>
                            {r.domain}/{r.name}
                          </a>{" "}
                          — {r.peers.length} of {r.capacity}
                        </li>
                      ))}
                    </ul>
                  )}
                </>
              );
            }}
          </Async>
        </div>
        <div class="card">
          <h2>Upcoming bookings</h2>
          <Async value={bookings}>
            {(page) =>
              page.content.length === 0 ? (
                <Empty>No bookings ahead.</Empty>
              ) : (
                <ul>
                  {page.content.map((b) => (
                    <li key={b.bookingId}>
                      {formatTime(b.startTime)}: {b.domain}/{b.roomName} <span class="badge">{b.state}</span>
                    </li>
                  ))}
                </ul>
              )
            }
          </Async>
          <a href="#/bookings">All bookings</a>
        </div>
        <div class="card">
          <h2>Failing webhooks</h2>
          <Async value={webhooks}>
            {(page) => {
              const failing = page.content.filter((w) => w.status !== "active" || w.failingSince);
              return failing.length === 0 ? (
                <Empty>Every webhook is delivering.</Empty>
              ) : (
                <ul>
                  {failing.map((w) => (
                    <li key={w.webhookId}>
                      <a href={`#/webhooks/${w.webhookId}`}>{w.url ?? `robot ${w.robotId}`}</a>{" "}
                      <span class="badge failing">{w.status}</span>
                      {w.failingSince && <span class="muted"> since {formatTime(w.failingSince)}</span>}
                    </li>
                  ))}
                </ul>
              );
            }}
          </Async>
        </div>
        <ChatBridgeCard />
      </div>
    </Page>
  );
}

/** Green when connected, red when down or failing to connect, plain while it is on its way. */
function badgeOf(b: { state: string; lastError?: string | null }) {
  if (b.state === "connected") return "ok";
  return (b.state === "connecting" || b.state === "standby") && !b.lastError ? "" : "failing";
}

/** The XMPP chat bridge, when one is configured: whether it is connected, and its last error. */
function ChatBridgeCard() {
  const bridge = useLoad(() => must(api.GET("/v1/chat-bridge")), []);
  const { reload } = bridge;
  useEffect(() => {
    const timer = setInterval(reload, BRIDGE_POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);
  if (bridge.state === "loading" || (bridge.state === "ready" && bridge.data.state === "disabled")) return null;
  return (
    <div class="card" data-testid="chat-bridge">
      <h2>XMPP chat bridge</h2>
      {bridge.state === "error" ? (
        <ErrorBox message={bridge.error} retry={reload} />
      ) : (
        <>
          <p>
            <span class={`badge ${badgeOf(bridge.data)}`}>{bridge.data.state}</span>{" "}
            {bridge.data.jid}
          </p>
          {bridge.data.state === "connected" && (
            <p class="muted">
              In {bridge.data.roomsJoined.length} of {bridge.data.roomsBridged.length} bridged rooms
              {bridge.data.connectedSince && `, connected since ${formatTime(bridge.data.connectedSince)}`}.
            </p>
          )}
          {bridge.data.state === "standby" && (
            <p class="muted">No node has reported bridging in the last 30 seconds.</p>
          )}
          {bridge.data.lastError && (
            <p class="small" data-testid="chat-bridge-error">
              Last error{bridge.data.lastErrorAt && ` (${formatTime(bridge.data.lastErrorAt)})`}: {bridge.data.lastError}
            </p>
          )}
        </>
      )}
    </div>
  );
}
