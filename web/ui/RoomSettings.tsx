/**
 * A group's settings: its name, slow mode, members and their roles, muting, leaving. What a
 * person may change follows their role (the server checks it again): admins everything,
 * moderators may remove plain members, everyone may mute and leave. For the community room,
 * its admins get the slow mode.
 */
import { useSignal, useSignalEffect } from "@preact/signals";
import type { RoomRole } from "../../src/client";
import type { LiveRoom } from "../room/live-room";
import { app } from "../state/app";
import { navigate } from "../state/route";
import { load, upsertRoom } from "../state/rooms";
import { reason, toast } from "../state/toasts";
import { Dialog } from "./Dialog";
import { Avatar } from "./format";
import { PersonSearch } from "./PersonSearch";

const SLOW_MODES = [0, 5, 10, 30, 60, 120];

export function RoomSettings({ live, onClose }: { live: LiveRoom; onClose(): void }) {
  const room = live.details.value;
  const me = app().me;
  const role = live.myRole.value;
  const isAdmin = role === "admin";
  const title = useSignal(room?.title ?? "");
  const muted = useSignal<boolean | null>(null);
  const successor = useSignal("");
  const members = live.members.value;
  const isGroup = room?.kind === "group";

  useSignalEffect(() => {
    app()
      .client.notificationPreferences()
      .then(
        (p) => (muted.value = p.mutedRooms.includes(live.roomId)),
        () => {},
      );
  });

  async function act(what: string, work: () => Promise<unknown>) {
    try {
      await work();
      await live.refreshDetails();
      toast(what);
    } catch (err) {
      toast(`${what.replace(/\.$/, "")} failed: ${reason(err)}`, "error");
    }
  }

  async function save(patch: { title?: string; slowModeSeconds?: number }, what: string) {
    await act(what, async () => {
      const { room } = await app().client.updateRoom(live.roomId, patch);
      upsertRoom(room);
    });
  }

  async function mute(on: boolean) {
    try {
      const prefs = await app().client.notificationPreferences();
      const rooms = on ? [...new Set([...prefs.mutedRooms, live.roomId])] : prefs.mutedRooms.filter((r) => r !== live.roomId);
      muted.value = (await app().client.setNotificationPreferences({ mutedRooms: rooms })).mutedRooms.includes(live.roomId);
    } catch (err) {
      toast(`Could not change notifications: ${reason(err)}`, "error");
    }
  }

  async function leave(e: Event) {
    e.preventDefault();
    try {
      await app().client.removeMember(live.roomId, me.id, { successor: successor.value || undefined });
      onClose();
      toast(`You left ${live.title.value}.`);
      navigate({ kind: "home" });
      void load();
    } catch (err) {
      toast(`Could not leave: ${reason(err)}`, "error");
    }
  }

  const otherAdmins = members.filter((m) => m.role === "admin" && m.id !== me.id);
  const needsSuccessor = isAdmin && otherAdmins.length === 0 && members.length > 1;

  return (
    <Dialog title={isGroup ? "Group settings" : "Room settings"} onClose={onClose} wide>
      {isGroup && isAdmin && (
        <form
          class="row-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save({ title: title.value.trim() }, "Name saved.");
          }}
        >
          <label>
            Group name
            <input required maxLength={100} value={title.value} onInput={(e) => (title.value = e.currentTarget.value)} />
          </label>
          <button type="submit">Save name</button>
        </form>
      )}
      {isAdmin && (
        <label class="row-form">
          Slow mode (how often each member may send)
          <select value={String(room?.slowModeSeconds ?? 0)} onChange={(e) => void save({ slowModeSeconds: Number(e.currentTarget.value) }, "Slow mode changed.")}>
            {SLOW_MODES.map((s) => (
              <option key={s} value={String(s)}>
                {s === 0 ? "Off" : `One message every ${s} s`}
              </option>
            ))}
          </select>
        </label>
      )}
      {!isAdmin && (room?.slowModeSeconds ?? 0) > 0 && <p class="muted">Slow mode: one message every {room?.slowModeSeconds} s.</p>}

      {muted.value !== null && (
        <label class="check">
          <input type="checkbox" checked={muted.value} onChange={(e) => void mute(e.currentTarget.checked)} /> Mute notifications from this conversation
        </label>
      )}

      {isGroup && (
        <>
          <h3>Members ({members.length})</h3>
          <ul class="member-list">
            {members.map((m) => {
              const self = m.id === me.id;
              const canRemove = !self && (isAdmin || (role === "moderator" && m.role === "member"));
              return (
                <li key={m.id}>
                  <Avatar user={m} size={24} />
                  <span class="name">
                    {m.name} {self && <span class="muted">(you)</span>}
                  </span>
                  {isAdmin && !self ? (
                    <select aria-label={`Role of ${m.name}`} value={m.role} onChange={(e) => void act(`${m.name} is now ${e.currentTarget.value}.`, () => app().client.setMemberRole(live.roomId, m.id, e.currentTarget.value as RoomRole))}>
                      <option value="member">member</option>
                      <option value="moderator">moderator</option>
                      <option value="admin">admin</option>
                    </select>
                  ) : (
                    <span class="tag">{m.role}</span>
                  )}
                  {canRemove && (
                    <button type="button" aria-label={`Remove ${m.name}`} onClick={() => void act(`${m.name} was removed.`, () => app().client.removeMember(live.roomId, m.id))}>
                      Remove
                    </button>
                  )}
                </li>
              );
            })}
          </ul>
          {isAdmin && (
            <PersonSearch
              label="Add people"
              exclude={new Set(members.map((m) => m.id))}
              action={(u) => (
                <button type="button" class="person-row" onClick={() => void act(`${u.name} was added.`, () => app().client.addMember(live.roomId, u.id))}>
                  <Avatar user={u} size={24} /> Add {u.name}
                </button>
              )}
            />
          )}
          <form class="row-form leave" onSubmit={leave}>
            {needsSuccessor && (
              <label>
                You are the last admin: hand over to
                <select required value={successor.value} onChange={(e) => (successor.value = e.currentTarget.value)}>
                  <option value="">Choose a member…</option>
                  {members
                    .filter((m) => m.id !== me.id)
                    .map((m) => (
                      <option key={m.id} value={m.id}>
                        {m.name}
                      </option>
                    ))}
                </select>
              </label>
            )}
            <button type="submit" class="danger">
              Leave group
            </button>
          </form>
        </>
      )}
    </Dialog>
  );
}
