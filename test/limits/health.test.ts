import { describe, expect, it } from "vitest";
import { api } from "../helpers";
import { BACKEND } from "./helpers";

describe(`The health check (${BACKEND})`, () => {
  it("says which store serves the limits and whether it answers", async () => {
    const res = await api("/api/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; checks: { d1: string; redis: string } };
    expect(body).toMatchObject({ status: "ok", checks: { d1: "ok", redis: BACKEND === "upstash" ? "ok" : "embedded" } });
  });
});
