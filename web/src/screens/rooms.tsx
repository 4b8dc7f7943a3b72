// Rooms, live: the list and one room's peers follow the org's realtime events; admins lock,
// set passwords, kick and destroy.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { LiveBadge, useOrgEvents } from "../realtime";
import {
  Async,
  Empty,
  ErrorBox,
  Field,
  Notice,
  Page,
  Pager,
  confirmed,
  formatTime,
  useAction,
  useLoad,
  useSession,
} from "../ui";

type Room = Schemas["Room"];

const PEER_TYPES: Record<number, string> = { 1: "host", 2: "participant", 3: "webinar host", 4: "viewer" };
const PEER_STATES: Record<string, string> = { waiting: "knocking (lobby)", admitted: "not connected yet", connected: "connected", away: "away (reconnecting)" };

function roomHref(r: { domain: string; name: string }) {
  return `#/room/${encodeURIComponent(r.domain)}/${encodeURIComponent(r.name)}`;
}

export function Rooms(_props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const rooms = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/rooms", { params: { path: { orgId }, query: { page, count: 50 } } })),
    [orgId, page],
  );
  const socket = useOrgEvents((e) => {
    if (e.room) rooms.reload();
  });
  return (
    <Page title="Rooms" actions={<LiveBadge state={socket} />}>
      {canChange && <NewRoomForm onCreated={rooms.reload} />}
      <Async value={rooms}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>No rooms yet. Create one above, or let an integration open one.</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table data-testid="rooms">
                  <thead>
                    <tr>
                      <th>Room</th>
                      <th>People</th>
                      <th>Locked</th>
                      <th>Created</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.content.map((r) => (
                      <tr key={r.id}>
                        <td>
                          <a href={roomHref(r)}>
                            {r.domain}/{r.name}
                          </a>
                        </td>
                        <td>
                          {r.peers.length} / {r.capacity}
                        </td>
                        <td>{r.isLocked ? "locked" : "open"}</td>
                        <td>{formatTime(r.createdAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <Pager page={page} hasNext={!!data._links.next} onPage={setPage} />
            </>
          )
        }
      </Async>
    </Page>
  );
}

function NewRoomForm(props: { onCreated: () => void }) {
  const { orgId } = useSession();
  const domains = useLoad(() => must(api.GET("/v1/orgs/{orgId}/domains", { params: { path: { orgId } } })), [orgId]);
  const [name, setName] = useState("");
  const [domain, setDomain] = useState("");
  const [capacity, setCapacity] = useState("");
  const [hostKey, setHostKey] = useState(false);
  const [created, setCreated] = useState<{ room: Room; hostKey?: string | null } | null>(null);
  const action = useAction();
  const domainNames = domains.state === "ready" ? domains.data.content.map((d) => d.name) : [];
  const chosen = domain || (domains.state === "ready" ? domains.data.content.find((d) => d.isDefault)?.name ?? domainNames[0] ?? "" : "");
  const submit = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const r = await must(
        api.POST("/v1/orgs/{orgId}/rooms", {
          params: { path: { orgId } },
          body: { domain: chosen, name, addHostKey: hostKey, ...(capacity ? { capacity: Number(capacity) } : {}) },
        }),
      );
      setCreated(r.content);
      setName("");
      props.onCreated();
    });
  };
  return (
    <form class="card" data-testid="room-form" onSubmit={submit}>
      <h2>New room</h2>
      <div class="row">
        <Field label="Domain">
          <select name="domain" value={chosen} onChange={(e) => setDomain(e.currentTarget.value)}>
            {domainNames.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Name" hint="Letters, digits, - and _">
          <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Capacity" hint="Empty: the server's default">
          <input name="capacity" type="number" min={1} value={capacity} onInput={(e) => setCapacity(e.currentTarget.value)} />
        </Field>
        <label class="field">
          <span class="label">Host key</span>
          <span>
            <input type="checkbox" checked={hostKey} onChange={(e) => setHostKey(e.currentTarget.checked)} /> create one
          </span>
        </label>
        <button type="submit" class="primary" disabled={action.busy || !chosen}>
          Create room
        </button>
      </div>
      {action.error && <ErrorBox message={action.error} />}
      {created && (
        <Notice kind="ok">
          Created <a href={roomHref(created.room)}>{created.room.domain}/{created.room.name}</a>.
          {created.hostKey && (
            <>
              {" "}
              Host key (shown only now): <span class="secret">{created.hostKey}</span> · host link:{" "}
              <span class="secret">
                {`${location.origin}/join/${encodeURIComponent(created.room.domain)}/${encodeURIComponent(created.room.name)}#hostKey=${encodeURIComponent(created.hostKey)}`}
              </span>
            </>
          )}
        </Notice>
      )}
    </form>
  );
}

export function RoomDetail(props: { params: string[] }) {
  const [domain, name] = props.params;
  const { orgId, canChange } = useSession();
  const path = { orgId, domain: domain ?? "", name: name ?? "" };
  const room = useLoad(() => must(api.GET("/v1/orgs/{orgId}/rooms/{domain}/{name}", { params: { path } })), [domain, name]);
  // Muting goes through the Janus SFU: without one (the server's readiness names none) the
  // buttons would only ever be refused.
  const sfu = useLoad(async () => {
    const r = await api.GET("/readyz");
    return (r.data ?? r.error)?.janus != null;
  }, []);
  const socket = useOrgEvents((e) => {
    if (e.domain === domain && e.room === name) room.reload();
  });
  const action = useAction();
  const [password, setPassword] = useState("");
  const [done, setDone] = useState<string | null>(null);
  if (!domain || !name) return <ErrorBox message="No room named in the address." />;

  const act = (what: string, call: () => Promise<unknown>) =>
    action.run(async () => {
      setDone(null);
      await call();
      setDone(what);
      room.reload();
    });
  const kick = (peerId: string, who: string) => {
    if (confirmed(`Remove ${who} from the room?`)) {
      act(`${who} was removed.`, () =>
        must(api.POST("/v1/orgs/{orgId}/rooms/{domain}/{name}/kick", { params: { path }, body: { peerId } })),
      );
    }
  };
  // Through the Janus SFU only; without it the server answers that no media server runs.
  const mute = (peerId: string, who: string, kind: "audio" | "video") =>
    act(kind === "audio" ? `${who}'s microphone was muted.` : `${who}'s camera was stopped.`, () =>
      must(
        api.POST("/v1/orgs/{orgId}/rooms/{domain}/{name}/peers/{peerId}/mute", {
          params: { path: { ...path, peerId } },
          body: { kind, muted: true },
        }),
      ),
    );
  const decide = (peerId: string, who: string, admit: boolean) => {
    const peerPath = { ...path, peerId };
    act(admit ? `${who} was let in.` : `${who} was turned away.`, () =>
      must(
        admit
          ? api.POST("/v1/orgs/{orgId}/rooms/{domain}/{name}/peers/{peerId}/admit", { params: { path: peerPath } })
          : api.POST("/v1/orgs/{orgId}/rooms/{domain}/{name}/peers/{peerId}/deny", { params: { path: peerPath } }),
      ),
    );
  };
  return (
    <Page title={`Room ${domain}/${name}`} actions={<LiveBadge state={socket} />}>
      <p>
        <a href="#/rooms">← All rooms</a> · <a href={`#/chat/${encodeURIComponent(domain)}/${encodeURIComponent(name)}`}>Chat transcript</a>
      </p>
      {action.error && <ErrorBox message={action.error} />}
      {done && <Notice kind="ok">{done}</Notice>}
      <Async value={room}>
        {(hal) => {
          const r = hal.content;
          const live = r.peers.filter((p) => !p.leftAt);
          const seated = live.filter((p) => p.state !== "waiting");
          return (
            <>
              <div class="card">
                <p>
                  {seated.length} of {r.capacity} places taken · {r.isLocked ? "locked" : "open"} · created{" "}
                  {formatTime(r.createdAt)}
                  {r.hasHostKey && " · has a host key"}
                </p>
                {canChange && (
                  <div class="row">
                    <button
                      type="button"
                      disabled={action.busy}
                      onClick={() =>
                        act(r.isLocked ? "The room is open." : "The room is locked.", () =>
                          must(api.PUT("/v1/orgs/{orgId}/rooms/{domain}/{name}/lock", { params: { path }, body: { lock: !r.isLocked } })),
                        )
                      }
                    >
                      {r.isLocked ? "Unlock" : "Lock"}
                    </button>
                    <form
                      class="inline"
                      onSubmit={(e) => {
                        e.preventDefault();
                        act(password ? "The password is set." : "The password is removed.", () =>
                          must(
                            api.PUT("/v1/orgs/{orgId}/rooms/{domain}/{name}/password", {
                              params: { path },
                              body: { password: password || undefined },
                            }),
                          ),
                        );
                        setPassword("");
                      }}
                    >
                      <Field label="Password" hint="Empty removes it">
                        <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
                      </Field>
                      <button type="submit" disabled={action.busy}>
                        Set password
                      </button>
                    </form>
                    <button
                      type="button"
                      class="danger"
                      disabled={action.busy || live.length === 0}
                      onClick={() => kick("all", "everyone")}
                    >
                      Kick everyone
                    </button>
                    <button
                      type="button"
                      class="danger"
                      disabled={action.busy}
                      onClick={() => {
                        if (confirmed(`Destroy ${domain}/${name}? Everyone in it is removed.`)) {
                          action.run(async () => {
                            await must(api.DELETE("/v1/orgs/{orgId}/rooms/{domain}/{name}", { params: { path } }));
                            location.hash = "#/rooms";
                          });
                        }
                      }}
                    >
                      Destroy room
                    </button>
                  </div>
                )}
              </div>
              <h2>People</h2>
              {live.length === 0 ? (
                <Empty>Nobody is in this room.</Empty>
              ) : (
                <div class="table-wrap">
                  <table data-testid="peers">
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Role</th>
                        <th>State</th>
                        <th>Joined</th>
                        {canChange && <th>Actions</th>}
                      </tr>
                    </thead>
                    <tbody>
                      {live.map((p) => (
                        <tr key={p.id}>
                          <td>{p.displayName}</td>
                          <td>{PEER_TYPES[p.type] ?? p.type}</td>
                          <td>
                            {PEER_STATES[p.state] ?? p.state}
                            {p.connectedAt && p.state === "connected" && <> since {formatTime(p.connectedAt)}</>}
                          </td>
                          <td>{formatTime(p.joinedAt)}</td>
                          {canChange && (
                            <td>
                              {p.state === "waiting" ? (
                                <>
                                  <button type="button" disabled={action.busy} onClick={() => decide(p.id, p.displayName, true)}>
                                    Admit
                                  </button>{" "}
                                  <button type="button" class="danger" disabled={action.busy} onClick={() => decide(p.id, p.displayName, false)}>
                                    Deny
                                  </button>
                                </>
                              ) : (
                                <>
                                  {p.state === "connected" && sfu.state === "ready" && sfu.data && (
                                    <>
                                      <button type="button" disabled={action.busy} aria-label={`Mute ${p.displayName}'s microphone`} onClick={() => mute(p.id, p.displayName, "audio")}>
                                        Mute
                                      </button>{" "}
                                      <button type="button" disabled={action.busy} aria-label={`Stop ${p.displayName}'s camera`} onClick={() => mute(p.id, p.displayName, "video")}>
                                        Stop video
                                      </button>{" "}
                                    </>
                                  )}
                                  <button type="button" class="danger" disabled={action.busy} onClick={() => kick(p.id, p.displayName)}>
                                    Kick
                                  </button>
                                </>
                              )}
                            </td>
                          )}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </>
          );
        }}
      </Async>
    </Page>
  );
}
