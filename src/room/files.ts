/** The room's use of uploaded files, bound to this Worker's D1 and R2. */
import type { Bindings } from "../env";
import { fail, type Files } from "./parts";

export function roomFiles(_env: Bindings): Files {
  return {
    claim: async () => fail("bad_request", "attachments are not available yet"),
    drop: async () => {},
  };
}
