export function freePort(): Promise<number>;
export function redisMissing(): string | null;
export interface LocalUpstash {
  url: string;
  token: string;
  redisPid: number;
  restPid: number;
  command(...args: unknown[]): Promise<unknown>;
  stop(): Promise<void>;
}
export function startUpstash(options?: { token?: string; redisPort?: number; restPort?: number }): Promise<LocalUpstash>;
