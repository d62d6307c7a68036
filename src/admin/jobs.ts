/**
 * Long jobs that must finish even if interrupted (erasure, retention): a Durable Object holds the
 * job's state and progress in its own storage and is driven by its alarm. A job is a list of
 * steps; a step does one bounded piece of work per call, stores its progress before returning,
 * and says whether anything is left. Every piece may be done twice (a run cut off after the work
 * but before the bookkeeping repeats it), so steps are idempotent.
 *
 * Each alarm works for up to `budgetMs`, then sets the next alarm. Before working it sets a
 * watchdog alarm, so a run cut off by an eviction, a crash or a deploy is picked up again from
 * the stored progress. A failing piece is retried with backoff (1 s, doubling, at most 5 min);
 * the job's status shows the failures and the last error.
 */
import { DurableObject } from "cloudflare:workers";
import type { Bindings } from "../env";
import { log } from "../lib/log";

export type StepResult = "more" | "done";

export interface JobContext<P> {
  env: Bindings;
  params: P;
  storage: DurableObjectStorage;
}

export interface JobStep<P> {
  /** Stored as the job's position: rename a step only between runs. */
  readonly name: string;
  /** A new run starts: forget what the step stored for the last one. */
  reset?(job: JobContext<P>): Promise<void> | void;
  /** One bounded piece of work, its progress stored before returning. */
  run(job: JobContext<P>): Promise<StepResult>;
}

interface JobState<P> {
  params: P;
  status: "running" | "done";
  step: string;
  startedAt: string;
  finishedAt: string | null;
  /** Failed pieces in a row (0 after any success), and the last failure. */
  failures: number;
  lastError: string | null;
  /** How many times the job was started. */
  runs: number;
}

export type JobStatus<P> = Omit<JobState<P>, "params"> & P & { progress: Record<string, number> };

const STATE = "job";
/** When a run is cut off, the job goes on after this long. */
export const WATCHDOG_MS = 30_000;
const MAX_BACKOFF_MS = 5 * 60_000;

export abstract class JobObject<P extends object> extends DurableObject<Bindings> {
  protected abstract readonly steps: readonly JobStep<P>[];
  /** How long one alarm works before handing over to the next. */
  protected readonly budgetMs: number = 10_000;

  /**
   * Starts the job, or (when it is running) lets it go on with these parameters and its progress.
   * A job that finished starts over: a new run finds what is left, which may be nothing. Its
   * first alarm is at `at` (now; tests start jobs later and drive them with `runPieces`).
   */
  async begin(params: P, at = Date.now()): Promise<JobStatus<P>> {
    const state = await this.load();
    if (state?.status === "running") {
      await this.save({ ...state, params });
      if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(at);
    } else {
      const next: JobState<P> = {
        params,
        status: "running",
        step: this.steps[0]!.name,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        failures: 0,
        lastError: null,
        runs: (state?.runs ?? 0) + 1,
      };
      for (const step of this.steps) await step.reset?.(this.context(params));
      await this.save(next);
      await this.ctx.storage.setAlarm(at);
    }
    return (await this.status())!;
  }

  /** The job as stored, with its progress; null if it never ran here. */
  async status(): Promise<JobStatus<P> | null> {
    const state = await this.load();
    if (state === null) return null;
    const { params, ...rest } = state;
    return { ...params, ...rest, progress: this.progress() };
  }

  async alarm(): Promise<void> {
    const state = await this.load();
    if (state === null || state.status !== "running") return;
    await this.ctx.storage.setAlarm(Date.now() + WATCHDOG_MS);
    const deadline = Date.now() + this.budgetMs;
    let finished: boolean;
    try {
      finished = await this.advance(state, () => Date.now() >= deadline);
    } catch (err) {
      const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(state.failures - 1, 20));
      log.error({ msg: "job step failed", job: this.constructor.name, step: state.step, failures: state.failures, retryInMs: backoff, err });
      await this.ctx.storage.setAlarm(Date.now() + backoff);
      return;
    }
    if (finished) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(Date.now());
  }

  /**
   * Runs up to `pieces` pieces of work and returns, without touching the alarm: what an alarm
   * does, in a size tests can stop at.
   */
  async runPieces(pieces: number): Promise<JobStatus<P> | null> {
    const state = await this.load();
    if (state?.status === "running") {
      let left = pieces;
      await this.advance(state, () => --left <= 0);
    }
    return this.status();
  }

  /** Counts for the status (e.g. rooms done of all), from the steps' stored progress. */
  protected progress(): Record<string, number> {
    return {};
  }

  /** Runs pieces until the job is done (true) or `stop` says so; stores the state after each. */
  private async advance(state: JobState<P>, stop: () => boolean): Promise<boolean> {
    const job = this.context(state.params);
    for (;;) {
      const index = this.steps.findIndex((s) => s.name === state.step);
      if (index < 0) {
        // A step that no longer exists (renamed between deploys): nothing of it can be done.
        this.finish(state);
        await this.save(state);
        return true;
      }
      let result: StepResult;
      try {
        result = await this.steps[index]!.run(job);
      } catch (err) {
        state.failures++;
        state.lastError = err instanceof Error ? err.message : String(err);
        await this.save(state);
        throw err;
      }
      state.failures = 0;
      if (result === "done") {
        const next = this.steps[index + 1];
        if (next) state.step = next.name;
        else this.finish(state);
      }
      await this.save(state);
      if (state.status === "done") return true;
      if (stop()) return false;
    }
  }

  private finish(state: JobState<P>): void {
    state.status = "done";
    state.finishedAt = new Date().toISOString();
  }

  private context(params: P): JobContext<P> {
    return { env: this.env, params, storage: this.ctx.storage };
  }

  private async load(): Promise<JobState<P> | null> {
    return (await this.ctx.storage.get<JobState<P>>(STATE)) ?? null;
  }

  private async save(state: JobState<P>): Promise<void> {
    await this.ctx.storage.put(STATE, state);
  }
}
