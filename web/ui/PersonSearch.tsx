/** Finds members in the directory (`GET /api/users`) as the person types. */
import { useSignal, useSignalEffect } from "@preact/signals";
import type { ComponentChild } from "preact";
import { useId } from "preact/hooks";
import type { Identity } from "../../src/protocol";
import { app } from "../state/app";
import { reason } from "../state/toasts";

export function PersonSearch({ exclude, action, label = "Search people" }: { exclude: Set<string>; action(u: Identity): ComponentChild; label?: string }) {
  const q = useSignal("");
  const results = useSignal<Identity[]>([]);
  const error = useSignal("");
  const id = useId();
  useSignalEffect(() => {
    const query = q.value.trim();
    const timer = setTimeout(() => {
      app()
        .client.users(query, 30)
        .then(
          (r) => ((results.value = r.users), (error.value = "")),
          (err) => (error.value = reason(err)),
        );
    }, 150);
    return () => clearTimeout(timer);
  });
  const shown = results.value.filter((u) => !exclude.has(u.id) && u.id !== app().me.id);
  return (
    <div class="person-search">
      <label for={id}>{label}</label>
      <input id={id} type="search" placeholder="Name or user id" value={q.value} onInput={(e) => (q.value = e.currentTarget.value)} autoComplete="off" />
      {error.value && <p class="error">{error.value}</p>}
      <ul class="people-results" aria-label="People">
        {shown.map((u) => (
          <li key={u.id}>{action(u)}</li>
        ))}
        {shown.length === 0 && <li class="muted">Nobody found{q.value ? ` for “${q.value}”` : ""}. People appear here once they have signed in.</li>}
      </ul>
    </div>
  );
}
