/**
 * POST /api/auth/visitor/renew: a visitor who still holds a valid token gets a fresh one for the
 * same user, so the same room; nobody else gets anything from it.
 */
import { describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { signToken } from "../src/lib/jwt";
import { DEV_JWT_SECRET } from "../src/middleware/auth";
import { api, expectError, tokenFor, uniqueId } from "./helpers";

interface Visit {
  token: string;
  user: { id: string; name: string; kind: string };
  roomId: string;
}

async function visit(name: string): Promise<Visit> {
  const res = await api("/api/auth/visitor", { method: "POST", json: { name }, headers: { "cf-connecting-ip": uniqueId("ip") } });
  expect(res.status).toBe(200);
  return (await res.json()) as Visit;
}

const renew = (token: string) => api("/api/auth/visitor/renew", { method: "POST", token });

describe("POST /api/auth/visitor/renew", () => {
  it("gives a visitor a later-expiring token for the same user, which still opens their room", async () => {
    const v = await visit("Vera");
    // An older token than the one the visitor route just signed: its expiry is sooner.
    const old = await signToken({ sub: v.user.id, name: "Vera", kind: "visitor", exp: Math.floor(Date.now() / 1000) + 60 }, DEV_JWT_SECRET);
    const res = await renew(old);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { token: string; user: Visit["user"] };
    expect(body.user).toEqual({ id: v.user.id, name: "Vera", kind: "visitor" });
    const claims = decodeJwt(body.token);
    expect(claims.sub).toBe(v.user.id);
    expect(claims.kind).toBe("visitor");
    expect(claims.roles ?? []).toEqual([]);
    expect(claims.exp! - Math.floor(Date.now() / 1000)).toBeGreaterThan(3600);

    const history = await api(`/api/rooms/${v.roomId}/messages`, { token: body.token });
    expect(history.status).toBe(200);
  });

  it("refuses members with 403, and a token past its expiry (and the 30 s leeway) or none with 401", async () => {
    await expectError(await renew(await tokenFor("alice")), 403, "forbidden");
    const v = await visit("Late");
    const expired = await signToken({ sub: v.user.id, name: "Late", kind: "visitor", exp: Math.floor(Date.now() / 1000) - 120 }, DEV_JWT_SECRET);
    await expectError(await renew(expired), 401, "unauthorized");
    await expectError(await api("/api/auth/visitor/renew", { method: "POST" }), 401, "unauthorized");
  });
});
