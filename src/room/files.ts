/** The room's use of uploaded files, bound to this Worker's D1 and R2 (`src/attachments/`). */
import { claimAttachments } from "../attachments/claim";
import { dropAttachments } from "../attachments/store";
import type { Bindings } from "../env";
import type { Files } from "./parts";

export function roomFiles(env: Bindings): Files {
  return {
    claim: (roomId, ownerId, clientId, ids) => claimAttachments(env.DB, roomId, ownerId, clientId, ids),
    drop: (ids) => dropAttachments(env, ids),
  };
}
