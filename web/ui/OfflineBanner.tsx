/** Says when messages cannot go out, and how many are waiting. */
import { currentRoom } from "../room/ChatRoom";
import { online } from "../state/net";

export function OfflineBanner() {
  const room = currentRoom.value;
  const waiting = room?.waiting.value ?? 0;
  const reconnecting = room?.state.value === "reconnecting";
  if (online.value && !reconnecting) return null;
  const pending = waiting === 0 ? "" : waiting === 1 ? " 1 message is waiting to be sent." : ` ${waiting} messages are waiting to be sent.`;
  return (
    <div class="banner" role="status">
      {online.value ? "Connection lost. Reconnecting…" : "You are offline."}
      {pending || " Messages you send now will go out when the connection is back."}
    </div>
  );
}
