// API clients: the key + secret integrations use. The secret is shown once, at creation.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import { Async, Empty, ErrorBox, Field, Page, Pager, confirmed, formatTime, useAction, useLoad, useSession } from "../ui";

export function Clients(_props: { params: string[] }) {
  const { orgId, canChange } = useSession();
  const [page, setPage] = useState(0);
  const clients = useLoad(
    () => must(api.GET("/v1/orgs/{orgId}/clients", { params: { path: { orgId }, query: { page, count: 50 } } })),
    [orgId, page],
  );
  const [name, setName] = useState("");
  const [created, setCreated] = useState<Schemas["NewClientSecret"] | null>(null);
  const action = useAction();
  const create = (e: Event) => {
    e.preventDefault();
    action.run(async () => {
      const r = await must(api.POST("/v1/orgs/{orgId}/clients", { params: { path: { orgId } }, body: { name } }));
      setCreated(r.content);
      setName("");
      clients.reload();
    });
  };
  const revoke = (c: Schemas["Client"]) => {
    if (!confirmed(`Revoke ${c.name}? Its secret and tokens stop working at once.`)) return;
    action.run(async () => {
      await must(api.DELETE("/v1/orgs/{orgId}/clients/{clientId}", { params: { path: { orgId, clientId: c.clientId } } }));
      clients.reload();
    });
  };
  return (
    <Page title="API clients">
      {canChange && (
        <form class="card" data-testid="client-form" onSubmit={create}>
          <h2>New API client</h2>
          <div class="row">
            <Field label="Name" hint="Who uses it, e.g. booking-site">
              <input name="name" required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <button type="submit" class="primary" disabled={action.busy}>
              Create client
            </button>
          </div>
          {created && (
            <div class="notice ok" data-testid="client-secret" role="status">
              <div>
                <p>
                  <strong>{created.client.name}</strong> is ready. Copy the secret now: it is shown only this once.
                </p>
                <p>
                  API key: <span class="secret">{created.client.apiKey}</span>
                </p>
                <p>
                  Secret: <span class="secret" data-testid="secret-value">{created.apiKeySecret}</span>
                </p>
                <button type="button" onClick={() => setCreated(null)}>
                  I have stored it
                </button>
              </div>
            </div>
          )}
        </form>
      )}
      {action.error && <ErrorBox message={action.error} />}
      <Async value={clients}>
        {(data) =>
          data.content.length === 0 ? (
            <Empty>No API clients yet.</Empty>
          ) : (
            <>
              <div class="table-wrap">
                <table data-testid="clients">
                  <thead>
                    <tr>
                      <th>Name</th>
                      <th>API key</th>
                      <th>State</th>
                      <th>Created</th>
                      {canChange && <th>Actions</th>}
                    </tr>
                  </thead>
                  <tbody>
                    {data.content.map((c) => (
                      <tr key={c.clientId}>
                        <td>{c.name}</td>
                        <td>
                          <code>{c.apiKey}</code>
                        </td>
                        <td>{c.active ? <span class="badge ok">active</span> : <span class="badge failing">revoked {formatTime(c.revokedAt)}</span>}</td>
                        <td>{formatTime(c.createdAt)}</td>
                        {canChange && (
                          <td>
                            {c.active && (
                              <button type="button" class="danger" disabled={action.busy} onClick={() => revoke(c)}>
                                Revoke
                              </button>
                            )}
                          </td>
                        )}
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
