/**
 * The room's own settings: its title and slow mode. Written through to D1 (room lists and
 * details read them there) and then applied here, one change at a time.
 */
import { updateRoom } from "../db/rooms";
import type { Role } from "../db/schema";
import { fail, ok, type RoomParts, type RoomResult } from "./parts";
import { canChangeSettings } from "./rules";

export interface RoomPatch {
  title?: string;
  slowModeSeconds?: number;
}

export class Settings {
  constructor(private readonly p: RoomParts) {}

  update(roomId: string, role: Role, patch: RoomPatch): Promise<RoomResult<null>> {
    return this.p.ctx.blockConcurrencyWhile(async () => {
      const { kind } = this.p.membership.info!;
      if (!canChangeSettings(kind, role)) {
        return fail("forbidden", kind === "group" || kind === "community" ? "only admins change the room" : `a ${kind} room has no settings`);
      }
      await updateRoom(this.p.env.DB, roomId, patch);
      if (patch.title !== undefined) this.p.membership.rename(patch.title);
      if (patch.slowModeSeconds !== undefined) this.p.guards.setSlowMode(patch.slowModeSeconds);
      return ok(null);
    });
  }
}
