// Session entries: the attendance ledger (newest first), one session's entries and live
// peers (`#/sessions/{sessionId}`), and a CSV export of a time range.
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import {
  Async,
  Empty,
  Field,
  Notice,
  Page,
  Pager,
  formatTime,
  toLocalInput,
  useLoad,
  useSession,
} from "../ui";

const PAGE_SIZES = [25, 50, 100, 200];
/** Tables keep their columns readable on phones and scroll sideways in `.table-wrap`. */
const WIDE = { minWidth: "34rem" };
const NOWRAP = { whiteSpace: "nowrap" } as const;

export function SessionEntries(props: { params: string[] }) {
  const sessionId = props.params[0];
  return sessionId ? <SessionDetail sessionId={sessionId} /> : <EntryList />;
}

function sessionHref(sessionId: string) {
  return `#/sessions/${encodeURIComponent(sessionId)}`;
}

function EntryList() {
  const { orgId } = useSession();
  const [page, setPage] = useState(0);
  const [count, setCount] = useState(50);
  const [name, setName] = useState("");
  const [sessionId, setSessionId] = useState("");
  const [role, setRole] = useState<"" | "owner" | "guest">("");
  const [open, setOpen] = useState("");
  // Filtered on the server, so every page of the result is filtered, not just the loaded one.
  const list = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/sessions", {
          params: {
            path: { orgId },
            query: {
              page,
              count,
              ...(name.trim() ? { name: name.trim() } : {}),
              ...(sessionId.trim() ? { sessionId: sessionId.trim() } : {}),
              ...(role ? { role } : {}),
            },
          },
        }),
      ),
    [orgId, page, count, name, sessionId, role],
  );
  const filtered = Boolean(name.trim() || sessionId.trim() || role);

  const openSession = (e: Event) => {
    e.preventDefault();
    if (open.trim()) location.hash = sessionHref(open.trim());
  };

  return (
    <Page title="Session entries">
      <p class="muted">Who entered which session, newest first.</p>
      <div class="row" style={{ alignItems: "flex-start" }}>
        <Field label="Name contains">
          <input
            type="search"
            name="name"
            value={name}
            onInput={(e) => {
              setName(e.currentTarget.value);
              setPage(0);
            }}
          />
        </Field>
        <Field label="Session id">
          <input
            type="search"
            name="sessionId"
            value={sessionId}
            onInput={(e) => {
              setSessionId(e.currentTarget.value);
              setPage(0);
            }}
          />
        </Field>
        <Field label="Role">
          <select
            name="role"
            value={role}
            onChange={(e) => {
              setRole(e.currentTarget.value as "" | "owner" | "guest");
              setPage(0);
            }}
          >
            <option value="">any</option>
            <option value="owner">owner</option>
            <option value="guest">guest</option>
          </select>
        </Field>
        <Field label="Entries per page">
          <select
            value={count}
            onChange={(e) => {
              setCount(Number(e.currentTarget.value));
              setPage(0);
            }}
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <form class="inline" onSubmit={openSession} aria-label="Open a session">
          <Field label="Open session by id">
            <input value={open} onInput={(e) => setOpen(e.currentTarget.value)} />
          </Field>
          <button type="submit" style={{ marginBottom: "0.75rem" }} disabled={!open.trim()}>
            Open session
          </button>
        </form>
      </div>
      <Async value={list}>
        {(data) => {
          if (data.content.length === 0) {
            if (filtered) return <Empty>No entry matches these filters.</Empty>;
            return <Empty>{page === 0 ? "No one has entered a session yet." : "No more entries."}</Empty>;
          }
          const shown = data.content.map((h) => h.content);
          return (
            <div class="table-wrap">
              <table aria-label={`Session entries, page ${page + 1}`} style={WIDE}>
                <thead>
                  <tr>
                    <th scope="col">Entered</th>
                    <th scope="col">Name</th>
                    <th scope="col">Role</th>
                    <th scope="col">Session</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map((e) => (
                    <tr key={e.entryId}>
                      <td style={NOWRAP}>{formatTime(e.entryTime)}</td>
                      <td>{e.name}</td>
                      <td>
                        <span class="badge">{e.role}</span>
                      </td>
                      <td>
                        <a href={sessionHref(e.sessionId)}>
                          <code>{e.sessionId}</code>
                        </a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Async>
      {list.state === "ready" && <Pager page={page} hasNext={Boolean(list.data._links.next)} onPage={setPage} />}
      <CsvExport orgId={orgId} />
    </Page>
  );
}

/** A plain download link: the browser's session cookie authenticates the GET. */
function CsvExport(props: { orgId: string }) {
  const [from, setFrom] = useState(() => toLocalInput(new Date(Date.now() - 30 * 24 * 3600 * 1000)));
  const [to, setTo] = useState(() => toLocalInput(new Date(Date.now() + 60 * 1000)));
  // datetime-local values are local wall-clock times; the API wants RFC 3339 instants.
  const instant = (v: string) => {
    if (!v) return null;
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  };
  const fromIso = instant(from);
  const toIso = instant(to);
  const query = new URLSearchParams();
  if (fromIso) query.set("from", fromIso);
  if (toIso) query.set("to", toIso);
  const qs = query.toString();
  const href = `/v1/orgs/${encodeURIComponent(props.orgId)}/session-entries.csv${qs ? `?${qs}` : ""}`;
  const backwards = fromIso !== null && toIso !== null && fromIso >= toIso;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (
    <section class="card" aria-labelledby="csv-title" style={{ marginTop: "1.5rem" }}>
      <h2 id="csv-title" style={{ marginTop: 0 }}>
        Export as CSV
      </h2>
      <p class="muted small">
        Entries at or after “From” and before “To”, oldest first. Times are in your time zone ({zone}); leave a
        field empty for no limit.
      </p>
      <div class="row" style={{ alignItems: "flex-start" }}>
        <Field label="From">
          <input type="datetime-local" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </Field>
        <Field label="To">
          <input type="datetime-local" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </Field>
      </div>
      {backwards ? (
        <Notice kind="error">“From” must be before “To”.</Notice>
      ) : (
        <p style={{ margin: 0 }}>
          <a href={href} download="session-entries.csv">
            <strong>Download session-entries.csv</strong>
          </a>
        </p>
      )}
    </section>
  );
}

const PEER_TYPES: Record<number, string> = {
  1: "conference host",
  2: "conference user",
  3: "webinar host",
  4: "webinar viewer",
};

function SessionDetail(props: { sessionId: string }) {
  const { orgId } = useSession();
  const session = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/sessions/{sessionId}", {
          params: { path: { orgId, sessionId: props.sessionId } },
        }),
      ),
    [orgId, props.sessionId],
  );
  return (
    <Page
      title={`Session ${props.sessionId}`}
      actions={
        <>
          <a href="#/sessions">← All session entries</a>
          <button type="button" onClick={session.reload}>
            Refresh
          </button>
        </>
      }
    >
      <Async value={session}>
        {({ content: s }) => {
          const roomPath = s.room.split("/").map(encodeURIComponent).join("/");
          return (
            <>
              <div class="card">
                <p style={{ margin: 0 }}>
                  Room <code>{s.room}</code>{" "}
                  <span class={s.live ? "badge live" : "badge offline"}>{s.live ? "open" : "closed"}</span>
                </p>
                <p class="row" style={{ margin: "0.5rem 0 0" }}>
                  {s.live && <a href={`#/room/${roomPath}`}>Open the room</a>}
                  <a href={`#/chat/${roomPath}`}>Chat transcript</a>
                </p>
              </div>
              <h2>Peers in the session now</h2>
              {s.peers.length === 0 ? (
                <Empty>No one is in the session now.</Empty>
              ) : (
                <div class="table-wrap">
                  <table aria-label="Peers in the session now" style={WIDE}>
                    <thead>
                      <tr>
                        <th scope="col">Name</th>
                        <th scope="col">Type</th>
                        <th scope="col">Joined</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.peers.map((p) => (
                        <tr key={p.id}>
                          <td>{p.displayName}</td>
                          <td>{PEER_TYPES[p.type] ?? `type ${p.type}`}</td>
                          <td style={NOWRAP}>{formatTime(p.joinedAt)}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              <h2>Entries ({s.entries.length})</h2>
              {s.entries.length === 0 ? (
                <Empty>No entries recorded for this session.</Empty>
              ) : (
                <div class="table-wrap">
                  <table aria-label="Entries of the session, newest first" style={{ minWidth: "52rem" }}>
                    <thead>
                      <tr>
                        <th scope="col">Entered</th>
                        <th scope="col">Name</th>
                        <th scope="col">Role</th>
                        <th scope="col">Subscription</th>
                        <th scope="col">Token id</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.entries.map((e) => (
                        <tr key={e.entryId}>
                          <td style={NOWRAP}>{formatTime(e.entryTime)}</td>
                          <td>{e.name}</td>
                          <td>
                            <span class="badge">{e.role}</span>
                          </td>
                          <td>
                            <code class="small">{e.subscriptionId}</code>
                          </td>
                          <td>
                            <code class="small">{e.accessToken}</code>
                          </td>
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
