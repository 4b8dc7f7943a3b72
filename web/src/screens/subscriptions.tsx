// Subscriptions: the users allowed to host sessions (create, list, deactivate).
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
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

type Subscription = Schemas["Subscription"];

const PAGE_SIZE = 50;

export function Subscriptions(_props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const [showForm, setShowForm] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useLoad(
    () =>
      must(
        api.GET("/v1/orgs/{orgId}/subscriptions", {
          params: { path: { orgId }, query: { page, count: PAGE_SIZE } },
        }),
      ),
    [orgId, page],
  );
  const remove = useAction();

  const deactivate = (s: Subscription) => {
    if (!confirmed(`Deactivate the subscription of ${s.name} (${s.ref})? Their session links stop working.`)) {
      return;
    }
    setNotice(null);
    void remove.run(async () => {
      await must(
        api.DELETE("/v1/orgs/{orgId}/subscriptions/{subscriptionId}", {
          params: { path: { orgId, subscriptionId: s.subscriptionId } },
        }),
      );
      setNotice(`Deactivated ${s.name}.`);
      list.reload();
    });
  };

  return (
    <Page
      title="Subscriptions"
      actions={
        canChange && (
          <button type="button" class="primary" aria-expanded={showForm} onClick={() => setShowForm(!showForm)}>
            {showForm ? "Close form" : "New subscription"}
          </button>
        )
      }
    >
      <p class="muted">Users allowed to host sessions. Deactivated subscriptions stay listed with their end time.</p>
      {canChange && showForm && (
        <CreateForm
          orgId={orgId}
          onCreated={(s) => {
            setNotice(`Created a subscription for ${s.name}.`);
            setShowForm(false);
            list.reload();
          }}
        />
      )}
      {notice && <Notice kind="ok">{notice}</Notice>}
      {remove.error && <ErrorBox message={remove.error} />}
      <Async value={list}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>{page === 0 ? "No subscriptions yet." : "No more subscriptions."}</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table aria-label={`Subscriptions, page ${page + 1}`} style={{ minWidth: "52rem" }}>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Ref</th>
                      <th scope="col">Email</th>
                      <th scope="col">Status</th>
                      <th scope="col">Started</th>
                      <th scope="col">Ended</th>
                      {canChange && <th scope="col">Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {data.content.map(({ content: s }) => (
                      <tr key={s.subscriptionId}>
                        <td>{s.name}</td>
                        <td>
                          <code>{s.ref}</code>
                        </td>
                        <td>{s.email}</td>
                        <td>
                          <span class={s.active ? "badge ok" : "badge offline"}>{s.active ? "active" : "ended"}</span>
                        </td>
                        <td style={{ whiteSpace: "nowrap" }}>{formatTime(s.started)}</td>
                        <td style={{ whiteSpace: "nowrap" }}>{formatTime(s.ended)}</td>
                        {canChange && (
                          <td>
                            {s.active ? (
                              <button
                                type="button"
                                class="danger"
                                disabled={remove.busy}
                                onClick={() => deactivate(s)}
                                aria-label={`Deactivate ${s.name}`}
                              >
                                Deactivate
                              </button>
                            ) : (
                              <span class="muted">—</span>
                            )}
                          </td>
                        )}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          )
        }
      </Async>
      {list.state === "ready" && (
        <Pager page={page} hasNext={Boolean(list.data._links.next)} onPage={setPage} />
      )}
    </Page>
  );
}

function CreateForm(props: { orgId: string; onCreated: (s: Subscription) => void }) {
  const [reference, setReference] = useState("");
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const create = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void create.run(async () => {
      const made = await must(
        api.POST("/v1/orgs/{orgId}/subscriptions", {
          params: { path: { orgId: props.orgId } },
          body: { ref: reference.trim(), email: email.trim(), name: name.trim() },
        }),
      );
      setReference("");
      setEmail("");
      setName("");
      props.onCreated(made.content);
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="New subscription">
      <h2 style={{ marginTop: 0 }}>New subscription</h2>
      <p class="muted small">The ref is your own id for the user; it must be unique among active subscriptions.</p>
      <div class="row">
        <Field label="Ref">
          <input
            required
            maxLength={256}
            value={reference}
            onInput={(e) => setReference(e.currentTarget.value)}
          />
        </Field>
        <Field label="Email">
          <input type="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </Field>
        <Field label="Name">
          <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
      </div>
      {create.error && <ErrorBox message={create.error} />}
      <button type="submit" class="primary" disabled={create.busy}>
        {create.busy ? "Creating…" : "Create subscription"}
      </button>
    </form>
  );
}
