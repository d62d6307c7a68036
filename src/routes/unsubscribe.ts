/**
 * One-click unsubscribe (RFC 8058), without signing in: the signed token in the link is the
 * proof (src/notify/email/unsubscribe.ts). Mounted before anything that needs auth under
 * /api/notifications.
 */
import { Hono, type Context } from "hono";
import { describeRoute } from "hono-openapi";
import { errors, json, PUBLIC } from "../openapi/describe";
import type { AppEnv } from "../env";
import { verifyUnsubscribeToken } from "../notify/email/unsubscribe";
import { setEmail } from "../notify/preferences";

const unsubscribe = new Hono<AppEnv>();

/**
 * The page behind the link. A GET changes nothing, because mail scanners and link previews
 * fetch links on their own; the page's button sends the same POST a mail client's
 * "Unsubscribe" button does.
 */
unsubscribe.get("/", describeRoute({
  tags: ["Notifications"],
  operationId: "getUnsubscribePage",
  summary: "The unsubscribe link's page",
  description: "Changes nothing (mail scanners fetch links); its button sends the POST below. The signed `token` is the proof.",
  security: PUBLIC,
  parameters: [{ in: "query", name: "token", required: true, schema: { type: "string" }, description: "From the email's link" }],
  responses: { 200: { description: "An HTML page", content: { "text/html": { schema: { type: "string" } } } }, ...errors(400, 403) },
}), async (c) => {
  const token = c.req.query("token");
  await verifyUnsubscribeToken(c.env, token);
  return page(
    c,
    "Unsubscribe from email notifications",
    `<p>Press the button to get no more email notifications from this chat. In-app and push notifications do not change.</p>
<form method="post" action="?token=${escapeHtml(token!)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Unsubscribe</button>
</form>`,
  );
});

/** The one-click POST (body `List-Unsubscribe=One-Click`): email notifications off. */
unsubscribe.post("/", describeRoute({
  tags: ["Notifications"],
  operationId: "unsubscribe",
  summary: "One-click unsubscribe (RFC 8058)",
  description: "Email notifications off, without signing in. A browser that asked for HTML gets a page.",
  security: PUBLIC,
  parameters: [{ in: "query", name: "token", required: true, schema: { type: "string" }, description: "From the email's link" }],
  responses: { 200: json("Email is off", { type: "object", properties: { email: { const: "off" } } }), ...errors(400, 403) },
}), async (c) => {
  const { userId } = await verifyUnsubscribeToken(c.env, c.req.query("token"));
  await setEmail(c.env.DB, userId, "off");
  // A mail client reads only the status; a browser that sent the page's form gets a page.
  if (c.req.header("accept")?.includes("text/html")) {
    return page(c, "Unsubscribed", "<p>You will get no more email notifications. Turn them on again in the chat's settings.</p>");
  }
  return c.json({ email: "off" });
});

function page(c: Context<AppEnv>, title: string, body: string) {
  return c.html(
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem}button{font:inherit;padding:.5rem 1rem}</style>
</head><body><h1>${title}</h1>
${body}
</body></html>`,
    200,
    {
      // The token is in the address: keep it out of Referer headers, caches and frames.
      "referrer-policy": "no-referrer",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    },
  );
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

export default unsubscribe;
