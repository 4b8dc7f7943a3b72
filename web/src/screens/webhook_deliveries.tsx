// Webhooks: one webhook's settings and delivery log, with redelivery (#/webhooks/{id}).
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { Async, Empty, ErrorBox, Field, Notice, Page, Pager, formatTime, toLocalInput, useAction, useLoad, useSession } from "../ui";
import { DeleteButton, PAGE_SIZE, StatusBadges, Validate, eventList, target } from "./webhooks_common";

type Delivery = Schemas["Delivery"];

export function WebhookDetail(props: { webhookId: number }) {
  const { orgId, canChange } = useSession();
  const webhookId = props.webhookId;
  const [page, setPage] = useState(0);
  const [status, setStatus] = useState("");
  const hook = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}",
    { params: { path: { orgId, webhookId } } })).then((r) => r.content), [orgId, webhookId]);
  const deliveries = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries", {
    params: { path: { orgId, webhookId }, query: { page, count: PAGE_SIZE, status: status || undefined } },
  })), [orgId, webhookId, page, status]);
  const refresh = () => (hook.reload(), deliveries.reload());
  return (
    <Page title={`Webhook #${webhookId}`}
      actions={<><a href="#/webhooks">← All webhooks</a><button type="button" onClick={refresh}>Refresh</button></>}>
      <Async value={hook}>
        {(w) => (
          <div class="card">
            <dl class="wh-settings">
              <dt>Target</dt><dd>{target(w)}</dd>
              <dt>Type</dt><dd>{w.type}</dd>
              <dt>Domain</dt><dd>{w.domain}</dd>
              <dt>Room</dt><dd>{w.roomName ?? "all rooms"}</dd>
              <dt>Events</dt><dd>{eventList(w)}</dd>
              <dt>Status</dt><dd><StatusBadges w={w} /></dd>
              {w.disabledReason && <><dt>Disabled</dt><dd>{w.disabledReason} ({formatTime(w.disabledAt)})</dd></>}
              <dt>Created</dt><dd>{formatTime(w.createdAt)}</dd>
              <dt>Updated</dt><dd>{formatTime(w.updatedAt)}</dd>
            </dl>
            {canChange && (
              <div class="wh-actions">
                <Validate w={w} onDone={refresh} />
                <DeleteButton w={w} onDeleted={() => (location.hash = "#/webhooks")} />
              </div>
            )}
          </div>
        )}
      </Async>
      {hook.state !== "error" && <section aria-labelledby="deliveries-title">
        <div class="row wh-head">
          <h2 id="deliveries-title">Deliveries</h2>
          <Field label="State">
            <select name="status" value={status} onChange={(e) => { setStatus(e.currentTarget.value); setPage(0); }}>
              <option value="">All</option>
              <option value="pending">Pending</option>
              <option value="delivered">Delivered</option>
              <option value="failed">Failed</option>
            </select>
          </Field>
        </div>
        {canChange && <RedeliverRange webhookId={webhookId} onDone={deliveries.reload} />}
        <Async value={deliveries}>
          {(data) =>
            data.content.length === 0 ? (
              <div data-testid="deliveries">
                <Empty>{status ? `No ${status} deliveries.` : "No deliveries yet. Events appear here once the webhook is validated and active."}</Empty>
              </div>
            ) : (
              <>
                <div class="table-wrap wh-list">
                  <table class="stack" data-testid="deliveries">
                    <thead><tr><th>Event</th><th>Time</th><th>Attempts</th><th>State</th><th>HTTP</th><th>Error</th><th>Actions</th></tr></thead>
                    <tbody>
                      {data.content.map((d) => <DeliveryRow key={d.deliveryId} d={d} onChanged={deliveries.reload} />)}
                    </tbody>
                  </table>
                </div>
                <Pager page={page} hasNext={!!data._links.next} onPage={setPage} />
              </>
            )
          }
        </Async>
      </section>}
    </Page>
  );
}

function DeliveryRow(props: { d: Delivery; onChanged: () => void }) {
  const { orgId, canChange } = useSession();
  const d = props.d;
  const act = useAction();
  const [queued, setQueued] = useState(false);
  const [open, setOpen] = useState(false);
  const redeliver = () => act.run(async () => {
    setQueued(false);
    await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver",
      { params: { path: { orgId, webhookId: d.webhookId, deliveryId: d.deliveryId } } }));
    setQueued(true);
    props.onChanged();
  });
  const stateClass = d.status === "delivered" ? "ok" : d.status === "failed" ? "failing" : "";
  return (
    <tr>
      <td data-label="Event"><strong>{d.event ?? "(event gone)"}</strong>
        {d.room && <div class="small">room {d.room}{d.seq != null && ` · #${d.seq}`}</div>}</td>
      <td data-label="Time"><time dateTime={d.createdAt}>{formatTime(d.createdAt)}</time>
        {d.lastAttemptAt && <div class="muted small">last try {formatTime(d.lastAttemptAt)}</div>}
      </td>
      <td data-label="Attempts">{d.attempts}</td>
      <td data-label="State"><span class={`badge ${stateClass}`}>{d.status}</span>
        {d.nextAttemptAt && <div class="muted small">next try {formatTime(d.nextAttemptAt)}</div>}
        {d.deliveredAt && <div class="muted small">delivered {formatTime(d.deliveredAt)}</div>}
      </td>
      <td data-label="HTTP">{d.lastStatusCode != null ? String(d.lastStatusCode) : "—"}
        {d.lastLatencyMs != null && <span class="muted small"> · {d.lastLatencyMs} ms</span>}</td>
      <td data-label="Error" class="wh-error">{d.lastError ?? "—"}</td>
      <td data-label="Actions">
        <div class="wh-actions">
          {canChange && d.status !== "pending" && (
            <button type="button" onClick={redeliver} disabled={act.busy}>{act.busy ? "Queueing…" : "Redeliver"}</button>
          )}
          {d.status === "pending" && !queued && <span class="muted small">Retried automatically</span>}
          {queued && <span class="wh-result muted small" role="status">Queued for redelivery.</span>}
          {act.error && <ErrorBox message={act.error} />}
        </div>
        <details class="wh-body" onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)}>
          <summary>Body</summary>
          {open && <DeliveryBody d={d} />}
        </details>
      </td>
    </tr>
  );
}

function DeliveryBody(props: { d: Delivery }) {
  const { orgId } = useSession();
  const { webhookId, deliveryId } = props.d;
  const body = useLoad(() => must(api.GET("/v1/orgs/{orgId}/webhooks/{webhookId}/deliveries/{deliveryId}/body",
    { params: { path: { orgId, webhookId, deliveryId } } })), [orgId, webhookId, deliveryId]);
  return <Async value={body}>{(b) => <pre tabIndex={0}>{JSON.stringify(b, null, 2)}</pre>}</Async>;
}

/** Send again every finished delivery created in a time range (pending ones are queued anyway). */
function RedeliverRange(props: { webhookId: number; onDone: () => void }) {
  const { orgId } = useSession();
  const [since, setSince] = useState(() => toLocalInput(new Date(Date.now() - 24 * 3600_000)));
  const [until, setUntil] = useState(() => toLocalInput(new Date(Date.now() + 60_000)));
  const [done, setDone] = useState<string | null>(null);
  const act = useAction();
  const submit = (e: Event) => {
    e.preventDefault(), setDone(null);
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void act.run(async () => {
      const [from, to] = [new Date(String(f.get("since"))), new Date(String(f.get("until")))];
      if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) throw new Error("Pick both times.");
      const r = await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/redeliver", {
        params: { path: { orgId, webhookId: props.webhookId } },
        body: { since: from.toISOString(), until: to.toISOString() },
      }));
      setDone(`${r.requeued} ${r.requeued === 1 ? "delivery" : "deliveries"} queued again.`);
      props.onDone();
    });
  };
  return (
    <details class="card wh-range">
      <summary>Redeliver a time range</summary>
      <form class="inline" onSubmit={submit}>
        <Field label="Created from">
          <input name="since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <Field label="Until (exclusive)">
          <input name="until" type="datetime-local" value={until} onInput={(e) => setUntil(e.currentTarget.value)} />
        </Field>
        <button type="submit" disabled={act.busy} class="field-button">{act.busy ? "Queueing…" : "Redeliver all in range"}</button>
      </form>
      <p class="muted small">Delivered and failed deliveries created in this range (your time zone) are sent again with the same webhook-id.</p>
      {act.error && <ErrorBox message={act.error} />}
      {done && <Notice kind="ok">{done}</Notice>}
    </details>
  );
}
