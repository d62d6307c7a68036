/**
 * Start a conversation: pick one person for a direct message, or several (and a name) for a
 * group. Only people who have signed in once are in the directory.
 */
import { useSignal } from "@preact/signals";
import type { Identity } from "../../src/protocol";
import { app } from "../state/app";
import { navigate } from "../state/route";
import { upsertRoom, load } from "../state/rooms";
import { reason } from "../state/toasts";
import { Dialog } from "./Dialog";
import { Avatar } from "./format";
import { PersonSearch } from "./PersonSearch";

export function PeoplePicker({ onClose }: { onClose(): void }) {
  const picked = useSignal<Identity[]>([]);
  const title = useSignal("");
  const error = useSignal("");
  const busy = useSignal(false);
  const ids = new Set(picked.value.map((u) => u.id));

  function toggle(u: Identity) {
    picked.value = ids.has(u.id) ? picked.value.filter((p) => p.id !== u.id) : [...picked.value, u];
  }

  async function run(work: () => Promise<string>) {
    busy.value = true;
    error.value = "";
    try {
      const roomId = await work();
      onClose();
      navigate({ kind: "room", roomId });
      void load();
    } catch (err) {
      error.value = reason(err);
      busy.value = false;
    }
  }

  const direct = () =>
    run(async () => {
      const { room } = await app().client.directRoom(picked.value[0]!.id);
      upsertRoom(room);
      return room.id;
    });
  const group = (e: Event) => {
    e.preventDefault();
    void run(async () => {
      const { room } = await app().client.createGroup(title.value.trim(), picked.value.map((u) => u.id));
      upsertRoom(room);
      return room.id;
    });
  };

  return (
    <Dialog title="New conversation" onClose={onClose}>
      <PersonSearch
        exclude={new Set()}
        action={(u) => (
          <label class="check person-row">
            <input type="checkbox" checked={ids.has(u.id)} onChange={() => toggle(u)} />
            <Avatar user={u} size={24} />
            <span>
              {u.name} <small class="muted">@{u.id}</small>
            </span>
          </label>
        )}
      />
      {picked.value.length > 0 && (
        <div class="picked" aria-live="polite">
          <p>
            With: <b>{picked.value.map((u) => u.name).join(", ")}</b>
          </p>
          {picked.value.length === 1 && (
            <button type="button" class="primary" disabled={busy.value} onClick={() => void direct()}>
              Message {picked.value[0]!.name}
            </button>
          )}
          <form class="group-form" onSubmit={group}>
            <label>
              Group name
              <input required maxLength={100} value={title.value} onInput={(e) => (title.value = e.currentTarget.value)} placeholder="Launch plans" />
            </label>
            <button type="submit" class={picked.value.length > 1 ? "primary" : ""} disabled={busy.value}>
              Create group
            </button>
          </form>
        </div>
      )}
      {error.value && (
        <p class="error" role="alert">
          {error.value}
        </p>
      )}
    </Dialog>
  );
}
