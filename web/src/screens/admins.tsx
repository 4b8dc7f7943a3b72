// Admin users of the organisation: list, add (with a role), remove.
import { useState } from "preact/hooks";
import { api, must, type Schemas } from "../api/client";
import {
  Async,
  Empty,
  ErrorBox,
  Field,
  Notice,
  Page,
  confirmed,
  formatTime,
  useAction,
  useLoad,
  useSession,
} from "../ui";

type AdminUser = Schemas["AdminUser"];
type Role = Schemas["AdminRole"];

const ROLES: { value: Role; label: string }[] = [
  { value: "viewer", label: "viewer — reads only" },
  { value: "admin", label: "admin — changes everything" },
  { value: "owner", label: "owner — also makes owners" },
];
const MIN_PASSWORD = 10;

export function Admins(_props: { params: string[] }) {
  const { orgId, canChange, admin } = useSession();
  const [adding, setAdding] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const list = useLoad(() => must(api.GET("/v1/orgs/{orgId}/admins", { params: { path: { orgId } } })), [orgId]);
  const remove = useAction();

  const removeUser = (u: AdminUser) => {
    const you = u.adminId === admin.adminId;
    const question = you
      ? "Remove your own account? You will be signed out."
      : `Remove ${u.email} (${u.role})? They are signed out everywhere.`;
    if (!confirmed(question)) return;
    setNotice(null);
    void remove.run(async () => {
      await must(
        api.DELETE("/v1/orgs/{orgId}/admins/{adminId}", { params: { path: { orgId, adminId: u.adminId } } }),
      );
      setNotice(`Removed ${u.email}.`);
      list.reload();
    });
  };

  return (
    <Page
      title="Admin users"
      actions={
        canChange && (
          <button type="button" class="primary" aria-expanded={adding} onClick={() => setAdding(!adding)}>
            {adding ? "Close form" : "Add admin user"}
          </button>
        )
      }
    >
      <p class="muted">
        People who can sign in to this dashboard. Owners and admins change everything (only owners make owners);
        viewers only read.
      </p>
      {canChange && adding && (
        <AddForm
          orgId={orgId}
          myRole={admin.role}
          onAdded={(u) => {
            setAdding(false);
            setNotice(`Added ${u.email} as ${u.role}.`);
            list.reload();
          }}
        />
      )}
      {notice && <Notice kind="ok">{notice}</Notice>}
      {remove.error && <ErrorBox message={remove.error} />}
      <Async value={list}>
        {(users) =>
          users.length === 0 ? (
            <Empty>No admin users.</Empty>
          ) : (
            <div class="table-wrap">
              <table aria-label="Admin users" style={{ minWidth: "32rem" }}>
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Created</th>
                    {canChange && <th scope="col">Actions</th>}
                  </tr>
                </thead>
                <tbody>
                  {users.map((u) => (
                    <tr key={u.adminId}>
                      <td>
                        {u.email}{" "}
                        {u.adminId === admin.adminId && <span class="badge ok">you</span>}
                      </td>
                      <td>
                        <span class="badge">{u.role}</span>
                      </td>
                      <td style={{ whiteSpace: "nowrap" }}>{formatTime(u.createdAt)}</td>
                      {canChange && (
                        <td>
                          <button
                            type="button"
                            class="danger"
                            disabled={remove.busy}
                            onClick={() => removeUser(u)}
                            aria-label={`Remove ${u.email}`}
                          >
                            Remove
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </Page>
  );
}

function AddForm(props: { orgId: string; myRole: Role; onAdded: (u: AdminUser) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const add = useAction();
  const roles = props.myRole === "owner" ? ROLES : ROLES.filter((r) => r.value !== "owner");
  const tooShort = password.length > 0 && password.length < MIN_PASSWORD;
  const submit = (e: Event) => {
    e.preventDefault();
    if (password.length < MIN_PASSWORD) {
      add.setError(`The password needs at least ${MIN_PASSWORD} characters.`);
      return;
    }
    void add.run(async () => {
      const u = await must(
        api.POST("/v1/orgs/{orgId}/admins", {
          params: { path: { orgId: props.orgId } },
          body: { email: email.trim(), password, role },
        }),
      );
      props.onAdded(u);
    });
  };
  return (
    <form class="card" onSubmit={submit} aria-label="Add an admin user">
      <h2 style={{ marginTop: 0 }}>Add an admin user</h2>
      <div class="row" style={{ alignItems: "flex-start" }}>
        <Field label="Email">
          <input
            type="email"
            required
            autoComplete="off"
            value={email}
            onInput={(e) => setEmail(e.currentTarget.value)}
          />
        </Field>
        <Field
          label="Password"
          hint={tooShort ? `${password.length}/${MIN_PASSWORD} characters` : `At least ${MIN_PASSWORD} characters.`}
        >
          <input
            type="password"
            required
            minLength={MIN_PASSWORD}
            autoComplete="new-password"
            aria-invalid={tooShort}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </Field>
        <Field label="Role" hint={props.myRole === "owner" ? undefined : "Only owners can add owners."}>
          <select value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {roles.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>
      </div>
      {add.error && <ErrorBox message={add.error} />}
      <button type="submit" class="primary" disabled={add.busy}>
        {add.busy ? "Adding…" : "Add admin user"}
      </button>
    </form>
  );
}
