/// <reference types="node" />
/**
 * A stand-in for an integrator's webhook endpoint: a real HTTP server that verifies every
 * delivery with `standardwebhooks` as a receiver would, and records it. Started by Vitest's
 * globalSetup for the workers project (port from vitest.config.ts, which hands the Worker its URL
 * as the `TEST_WEBHOOK_URL` binding).
 *
 * Any number of independent endpoints, by name:
 * - `POST /hooks/:name`: a delivery. Verified with the endpoint's secret (`Webhook.verify`: the
 *   signature, and a timestamp within 5 minutes); recorded; answered with the next planned
 *   answer, else 200 (401 when it does not verify, as a receiver would).
 * - `POST /control/:name` `{ secret?, answers? }`: the secret to verify with (the one the test
 *   got when it created the webhook), and answers to give before the 200s: HTTP statuses, or
 *   `"drop"` to close the connection without answering.
 * - `GET  /control/:name`: `{ received: Received[] }`, oldest first.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import { listen, onConfiguredPort } from "./listen";

export type PlannedAnswer = number | "drop";

export interface Received {
  webhookId: string;
  timestamp: string;
  signature: string;
  contentType: string;
  body: string;
  /** The payload as `Webhook.verify` returned it, when the delivery verified. */
  payload: unknown;
  verified: boolean;
  error?: string;
  /** What the endpoint answered. */
  answered: PlannedAnswer;
}

interface Endpoint {
  secret: string | null;
  answers: PlannedAnswer[];
  received: Received[];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function verify(secret: string | null, body: string, headers: Record<string, string>): { payload: unknown; error?: string } {
  if (secret === null) return { payload: null, error: "no secret registered for this endpoint" };
  try {
    return { payload: new Webhook(secret).verify(body, headers) };
  } catch (error) {
    return { payload: null, error: error instanceof Error ? error.message : String(error) };
  }
}

export async function startWebhookReceiver(port = 0): Promise<{ url: string; close(): Promise<void> }> {
  const endpoints = new Map<string, Endpoint>();
  const endpointOf = (name: string) => {
    let endpoint = endpoints.get(name);
    if (!endpoint) endpoints.set(name, (endpoint = { secret: null, answers: [], received: [] }));
    return endpoint;
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/(hooks|control)\/([A-Za-z0-9_-]{1,100})$/.exec(url.pathname);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const body = await readBody(req);
    if (!match) return send(404, { error: "no such route" });
    const [, kind, name] = match as unknown as [string, string, string];
    const endpoint = endpointOf(name);

    if (kind === "control") {
      if (req.method === "GET") return send(200, { received: endpoint.received });
      const plan = JSON.parse(body || "{}") as { secret?: string; answers?: PlannedAnswer[] };
      if (plan.secret !== undefined) endpoint.secret = plan.secret;
      if (plan.answers !== undefined) endpoint.answers = [...plan.answers];
      return send(200, { ok: true });
    }

    if (req.method !== "POST") return send(405, { error: "POST" });
    const headers = {
      "webhook-id": String(req.headers["webhook-id"] ?? ""),
      "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
      "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
    };
    const { payload, error } = verify(endpoint.secret, body, headers);
    const verified = error === undefined;
    const answered: PlannedAnswer = endpoint.answers.shift() ?? (verified ? 200 : 401);
    endpoint.received.push({
      webhookId: headers["webhook-id"],
      timestamp: headers["webhook-timestamp"],
      signature: headers["webhook-signature"],
      contentType: String(req.headers["content-type"] ?? ""),
      body,
      payload,
      verified,
      ...(error === undefined ? {} : { error }),
      answered,
    });
    if (answered === "drop") return res.socket?.destroy();
    return send(answered, { received: verified });
  });
  return listen(server, port);
}

/** Vitest globalSetup: the port comes from vitest.config.ts. */
export default onConfiguredPort("TEST_WEBHOOK_PORT", startWebhookReceiver);
