/** Administration, for the admin role: live stats, webhooks, a broadcast. */
import { useSignal, useSignalEffect } from "@preact/signals";
import type { AdminStats, Webhook, WebhookEventType } from "../../src/client";
import { WEBHOOK_EVENT_TYPES } from "../../src/webhooks/events";
import { app, isAdmin } from "../state/app";
import { reason, toast } from "../state/toasts";
import { Icon } from "./icons";

const STAT_LABELS: [keyof AdminStats, string][] = [
  ["connectedClients", "Open sockets"],
  ["onlineUsers", "People online"],
  ["typingUsers", "Typing now"],
  ["rooms", "Rooms"],
  ["activeRooms", "Active rooms"],
  ["messagesLastHour", "Messages in the last hour"],
];

export function AdminPage() {
  if (!isAdmin.value) {
    return (
      <section class="page" aria-labelledby="admin-title">
        <h1 id="admin-title">Administration</h1>
        <p>Only admins can see this page.</p>
      </section>
    );
  }
  return (
    <section class="page admin" aria-labelledby="admin-title">
      <header class="page-head">
        <a class="back" href="#" aria-label="Back to conversations">
          <Icon name="back" size={22} />
        </a>
        <h1 id="admin-title">Administration</h1>
      </header>
      <StatsPanel />
      <Webhooks />
      <Broadcast />
    </section>
  );
}

function StatsPanel() {
  const stats = useSignal<AdminStats | null>(null);
  const error = useSignal("");
  useSignalEffect(() => {
    const load = () =>
      app().client.adminStats().then(
        (s) => ((stats.value = s), (error.value = "")),
        (err) => (error.value = reason(err)),
      );
    void load();
    // The counters trail reality by a few seconds (docs/administration.md); so does this.
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  });
  return (
    <section aria-labelledby="stats-title">
      <h2 id="stats-title">Now</h2>
      {error.value && <p class="error">{error.value}</p>}
      <dl class="stats">
        {STAT_LABELS.map(([key, label]) => (
          <div key={key} class="stat">
            <dt>{label}</dt>
            <dd data-stat={key}>{stats.value ? stats.value[key] : "…"}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function Webhooks() {
  const hooks = useSignal<Webhook[]>([]);
  const url = useSignal("");
  const events = useSignal<WebhookEventType[]>(["message.created"]);
  const secret = useSignal<{ url: string; secret: string } | null>(null);
  const load = () => app().client.webhooks().then((r) => (hooks.value = r.webhooks), (err) => toast(`Could not load webhooks: ${reason(err)}`, "error"));
  useSignalEffect(() => void load());

  async function create(e: Event) {
    e.preventDefault();
    try {
      const { webhook } = await app().client.createWebhook(url.value.trim(), events.value);
      secret.value = { url: webhook.url, secret: webhook.secret };
      url.value = "";
      await load();
    } catch (err) {
      toast(`Could not add the webhook: ${reason(err)}`, "error");
    }
  }

  async function remove(h: Webhook) {
    try {
      await app().client.deleteWebhook(h.id);
      await load();
    } catch (err) {
      toast(`Could not delete it: ${reason(err)}`, "error");
    }
  }

  return (
    <section aria-labelledby="hooks-title">
      <h2 id="hooks-title">Webhooks</h2>
      {secret.value && (
        <div class="secret" role="status">
          <p>
            Signing secret for {secret.value.url}. It is shown only now: copy it into the receiver.
          </p>
          <code>{secret.value.secret}</code>
          <button type="button" onClick={() => (secret.value = null)}>
            Done
          </button>
        </div>
      )}
      <table class="hooks">
        <caption class="visually-hidden">Webhooks</caption>
        <thead>
          <tr>
            <th scope="col">URL</th>
            <th scope="col">Events</th>
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {hooks.value.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                No webhooks yet.
              </td>
            </tr>
          )}
          {hooks.value.map((h) => (
            <tr key={h.id}>
              <td class="url">{h.url}</td>
              <td>{h.events.join(", ")}</td>
              <td>
                <button type="button" class="danger" aria-label={`Delete webhook ${h.url}`} onClick={() => void remove(h)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form class="hook-form" onSubmit={create}>
        <label>
          Receiver URL
          <input type="url" required placeholder="https://example.com/hooks/chat" value={url.value} onInput={(e) => (url.value = e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Events</legend>
          {WEBHOOK_EVENT_TYPES.map((ev) => (
            <label key={ev} class="check">
              <input
                type="checkbox"
                checked={events.value.includes(ev)}
                onChange={(e) => (events.value = e.currentTarget.checked ? [...events.value, ev] : events.value.filter((x) => x !== ev))}
              />{" "}
              {ev}
            </label>
          ))}
        </fieldset>
        <button type="submit" class="primary" disabled={events.value.length === 0}>
          Add webhook
        </button>
      </form>
    </section>
  );
}

function Broadcast() {
  const title = useSignal("");
  const body = useSignal("");
  async function send(e: Event) {
    e.preventDefault();
    try {
      await app().client.broadcast(title.value.trim(), body.value.trim());
      toast("Broadcast sent to every member.");
      title.value = "";
      body.value = "";
    } catch (err) {
      toast(`Could not send it: ${reason(err)}`, "error");
    }
  }
  return (
    <section aria-labelledby="broadcast-title">
      <h2 id="broadcast-title">Broadcast a notification</h2>
      <form class="hook-form" onSubmit={send}>
        <label>
          Title
          <input required maxLength={100} value={title.value} onInput={(e) => (title.value = e.currentTarget.value)} />
        </label>
        <label>
          Message
          <textarea required rows={3} maxLength={1000} value={body.value} onInput={(e) => (body.value = e.currentTarget.value)} />
        </label>
        <button type="submit">Send to everyone</button>
      </form>
    </section>
  );
}
