// What an admin wants at a glance: who is in a meeting now, what starts next, what is broken.
import { api, must } from "../api/client";
import { LiveBadge, useOrgEvents } from "../realtime";
import { Async, Empty, Page, formatTime, useLoad, useSession } from "../ui";

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
      </div>
    </Page>
  );
}
