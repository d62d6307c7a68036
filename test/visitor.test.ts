import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import app from "../src/app";
import { limitsFor } from "../src/limits";
import { BASE, uniqueId } from "./helpers";

const count = async (sql: string, ...params: unknown[]) =>
  ((await env.DB.prepare(sql).bind(...params).first<{ n: number }>())?.n ?? -1);

function visit(name: unknown, ip: string, bindings: object) {
  return app.request(
    `${BASE}/api/auth/visitor`,
    { method: "POST", headers: { "content-type": "application/json", "cf-connecting-ip": ip }, body: JSON.stringify({ name }) },
    bindings,
  );
}

describe("POST /api/auth/visitor checks before it writes", () => {
  it("refuses with 401 and says why when the Worker has no signing secret, writing nothing and spending no budget", async () => {
    const deployed = { ...env, DEV_MODE: "false", JWT_SECRET: undefined };
    const name = uniqueId("Guest");
    const ip = uniqueId("ip");
    for (let i = 0; i < 3; i++) {
      const res = await visit(name, ip, deployed);
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.message).toMatch(/JWT_SECRET/);
    }
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE name = ?", name)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM rooms WHERE title = ?", `Visitor: ${name}`)).toBe(0);
    // The address's budget is untouched: this is its first token.
    const { limit, remaining } = (await limitsFor(env).hit("visitorTokens", ip))!;
    expect(remaining).toBe(limit - 1);
  });

  it("refuses a bad name with 400 before counting it", async () => {
    const ip = uniqueId("ip");
    for (const name of ["", "x".repeat(65), 42]) expect((await visit(name, ip, env)).status).toBe(400);
    const { limit, remaining } = (await limitsFor(env).hit("visitorTokens", ip))!;
    expect(remaining).toBe(limit - 1);
  });

  it("writes the user and the room, and counts the token, once everything can succeed", async () => {
    const name = uniqueId("Guest");
    const ip = uniqueId("ip");
    const res = await visit(name, ip, env);
    expect(res.status).toBe(200);
    const { user, roomId, token } = (await res.json()) as { user: { id: string }; roomId: string; token: string };
    expect(token.split(".")).toHaveLength(3);
    expect(await count("SELECT COUNT(*) AS n FROM users WHERE id = ? AND kind = 'visitor'", user.id)).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM rooms WHERE id = ? AND kind = 'visitor'", roomId)).toBe(1);
    const { limit, remaining } = (await limitsFor(env).hit("visitorTokens", ip))!;
    expect(remaining).toBe(limit - 2);
  });
});
