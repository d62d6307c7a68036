/**
 * Dev sign-in: pick a name (and, to try them out, the staff or admin role). Only where dev mode
 * is on; elsewhere the host site hands this page a token (`#token=…`, see session.ts).
 */
import { useSignal } from "@preact/signals";
import { ChatError, devLogin, type Session } from "../../src/client";
import type { ServiceRole } from "../../src/protocol";
import { userIdFromName } from "../session";

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (s: Session) => void }) {
  const name = useSignal("");
  const userId = useSignal("");
  const idEdited = useSignal(false);
  const staff = useSignal(false);
  const admin = useSignal(false);
  const error = useSignal(notice ?? "");
  const busy = useSignal(false);

  async function submit(e: Event) {
    e.preventDefault();
    busy.value = true;
    error.value = "";
    const roles: ServiceRole[] = [...(staff.value ? (["staff"] as const) : []), ...(admin.value ? (["admin"] as const) : [])];
    try {
      onSignedIn(await devLogin(location.origin, userId.value.trim(), name.value.trim(), roles.length ? roles : undefined));
    } catch (err) {
      error.value =
        err instanceof ChatError && err.code === "not_found"
          ? "Dev sign-in is turned off on this server. Sign in on the site that links here: it opens this page with your token."
          : `Sign-in failed: ${err instanceof Error ? err.message : String(err)}`;
      busy.value = false;
    }
  }

  return (
    <main class="center">
      <form class="card signin" onSubmit={submit}>
        <h1>edge-chat</h1>
        <p class="muted">Realtime chat at the edge. Pick a name to join; each tab signs in on its own.</p>
        <label>
          Your name
          <input
            name="name"
            required
            maxLength={60}
            autoComplete="nickname"
            placeholder="Ada Lovelace"
            autoFocus
            value={name.value}
            onInput={(e) => {
              name.value = e.currentTarget.value;
              if (!idEdited.value) userId.value = name.value.trim() ? userIdFromName(name.value) : "";
            }}
          />
        </label>
        <label>
          User id
          <input
            name="userId"
            required
            maxLength={64}
            pattern="[A-Za-z0-9_\-]+"
            placeholder="ada-lovelace"
            value={userId.value}
            onInput={(e) => {
              userId.value = e.currentTarget.value;
              idEdited.value = true;
            }}
          />
        </label>
        <fieldset class="roles">
          <legend>Roles (dev only)</legend>
          <label class="check">
            <input type="checkbox" checked={staff.value} onChange={(e) => (staff.value = e.currentTarget.checked)} /> Staff: answers website visitors
          </label>
          <label class="check">
            <input type="checkbox" checked={admin.value} onChange={(e) => (admin.value = e.currentTarget.checked)} /> Admin: stats and webhooks
          </label>
        </fieldset>
        {error.value && (
          <p class="error" role="alert">
            {error.value}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy.value}>
          Sign in
        </button>
      </form>
    </main>
  );
}
