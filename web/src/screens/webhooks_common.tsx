// Webhooks: what the list (webhooks.tsx) and one webhook's page (webhook_deliveries.tsx) share.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { ErrorBox, confirmed, errorText, formatTime, useAction, useSession } from "../ui";

export type Webhook = Schemas["Webhook"];

export const PAGE_SIZE = 20;

export const target = (w: Webhook) => (w.type === "robot" ? `robot ${w.robotId ?? "?"}` : (w.url ?? "(no URL)"));
export const eventList = (w: Webhook) => (w.events?.length ? w.events.join(", ") : "all events");

export function StatusBadges({ w }: { w: Webhook }) {
  return (
    <span class="wh-badges">
      <span class={`badge ${w.status === "active" ? "ok" : "failing"}`}>{w.status}</span>
      <span class={`badge ${w.validated ? "ok" : "failing"}`}>{w.validated ? "validated" : "not validated"}</span>
      {w.failingSince && <span class="badge failing">failing since {formatTime(w.failingSince)}</span>}
    </span>
  );
}

/** The Validate button and, after a run, its outcome (the receiver's failure, if any). */
export function Validate(props: { w: Webhook; onDone: () => void }) {
  const { orgId } = useSession();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const run = async () => {
    setBusy(true), setResult(null);
    try {
      const v = (await must(api.POST("/v1/orgs/{orgId}/webhooks/{webhookId}/validate",
        { params: { path: { orgId, webhookId: props.w.webhookId } } }))).content;
      setResult(v.validated
        ? { ok: true, text: props.w.type === "robot" ? "Valid: robot webhooks need no handshake." : "Validated: the receiver answered the handshake correctly." }
        : { ok: false, text: `Validation failed: ${v.reason ?? "no reason given"}` });
      props.onDone();
    } catch (e) {
      setResult({ ok: false, text: `Validation failed: ${errorText(e)}` });
    }
    setBusy(false);
  };
  return <>
    <button type="button" onClick={run} disabled={busy}>{busy ? "Validating…" : "Validate"}</button>
    {result && <span data-testid="validate-result" class={`notice wh-result ${result.ok ? "ok" : "error"}`} role="status">{result.text}</span>}
  </>;
}

/** Delete (after confirming) a webhook with its delivery log. */
export function DeleteButton(props: { w: Webhook; onDeleted: () => void }) {
  const { orgId } = useSession();
  const del = useAction();
  const remove = () => {
    if (!confirmed(`Delete the webhook to ${target(props.w)}? Its delivery log is deleted too.`)) return;
    void del.run(async () => {
      await must(api.DELETE("/v1/orgs/{orgId}/webhooks/{webhookId}", { params: { path: { orgId, webhookId: props.w.webhookId } } }));
      props.onDeleted();
    });
  };
  return <>
    <button type="button" class="danger" onClick={remove} disabled={del.busy}>{del.busy ? "Deleting…" : "Delete"}</button>
    {del.error && <ErrorBox message={del.error} />}
  </>;
}
