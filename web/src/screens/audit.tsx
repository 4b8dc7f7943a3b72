// The audit log: who changed what, when and from where (newest first), filtered by action on
// the server, with a CSV download of everything that matches.
import { useState } from "preact/hooks";
import { api, must } from "../api/client";
import { Async, Empty, Field, Page, Pager, formatTime, useLoad, useSession } from "../ui";

/** Action groups offered in the filter (the API also takes exact actions). */
const GROUPS = ["client.", "room.", "booking.", "webhook.", "domain.", "link.", "admin."];
const WIDE = { minWidth: "44rem" };
const NOWRAP = { whiteSpace: "nowrap" } as const;

export function Audit() {
  const { orgId } = useSession();
  const [page, setPage] = useState(0);
  const [action, setAction] = useState("");
  const list = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/audit", {
          params: { path: { orgId }, query: { page, count: 50, ...(action ? { action } : {}) } },
        }),
      ),
    [orgId, page, action],
  );
  const csv = `/v1/orgs/${encodeURIComponent(orgId)}/audit.csv${action ? `?action=${encodeURIComponent(action)}` : ""}`;

  return (
    <Page title="Audit log" actions={<a href={csv} download="audit.csv">Download CSV</a>}>
      <p class="muted">Changes made by API clients, dashboard users and hosts, newest first. Entries are never changed or removed.</p>
      <div class="row">
        <Field label="Actions">
          <select
            name="action"
            value={action}
            onChange={(e) => {
              setAction(e.currentTarget.value);
              setPage(0);
            }}
          >
            <option value="">all</option>
            {GROUPS.map((g) => (
              <option key={g} value={g}>
                {g.slice(0, -1)}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <Async value={list}>
        {(data) => {
          if (data.content.length === 0) {
            return <Empty>{page === 0 ? "Nothing has been recorded yet." : "No more entries."}</Empty>;
          }
          return (
            <div class="table-wrap">
              <table aria-label={`Audit log, page ${page + 1}`} style={WIDE}>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Who</th>
                    <th scope="col">Action</th>
                    <th scope="col">Target</th>
                    <th scope="col">From</th>
                  </tr>
                </thead>
                <tbody>
                  {data.content.map((e) => (
                    <tr key={e.id}>
                      <td style={NOWRAP}>{formatTime(e.at)}</td>
                      <td>
                        <span class="badge">{e.actorType}</span> {e.actorName ?? e.actorId}
                      </td>
                      <td style={NOWRAP}>
                        <code>{e.action}</code>
                      </td>
                      <td>
                        <code>{e.targetId}</code>
                        {e.detail != null && (
                          <div class="muted small" style={{ wordBreak: "break-all" }}>
                            {JSON.stringify(e.detail)}
                          </div>
                        )}
                      </td>
                      <td>{e.sourceIp ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          );
        }}
      </Async>
      {list.state === "ready" && <Pager page={page} hasNext={Boolean(list.data._links.next)} onPage={setPage} />}
    </Page>
  );
}
