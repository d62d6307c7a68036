/**
 * zod for the Worker and its Durable Objects: `zod/mini`, set up as classic zod sets itself up
 * on its first schema (English messages; the memoizer that object and array schemas pick up
 * when built). Server files import `z` from here, never from "zod": classic zod's methods keep
 * every check, all of its locales and the JSON Schema code in the bundle, used or not.
 * src/protocol.ts is shared with the browser and does the same setup in its own `schema`.
 */
import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// At import, so before the importing file builds any schema.
if (!z.config().localeError) z.config(en());
if (!z.config().memoizer) z.config({ memoizer: z.memoizer() });

export * from "zod/mini";
