import { test as base, expect } from "@playwright/test";
import { createServer } from "node:net";

/** Problems a page must not have: console errors or warnings, and HTTP responses of 400 or more. */
export const test = base.extend<{ expectedHttpErrors: RegExp[] }>({
  // A test that provokes an error on purpose lists the URLs it expects to fail.
  expectedHttpErrors: [[], { option: true }],
  page: async ({ page, expectedHttpErrors }, use) => {
    const problems: string[] = [];
    const expected = (url: string) => expectedHttpErrors.some((pattern) => pattern.test(url));
    page.on("console", (message) => {
      const type = message.type();
      const failedExpected = message.text().startsWith("Failed to load resource") && expected(message.location().url);
      // Without JavaScript the preloaded wasm is never used, and Chromium says so; with it, a
      // machine busy compiling the debug build's wasm can take longer than Chromium's few
      // seconds to use it, which says nothing about the page.
      const unusedPreload = message.text().includes("was preloaded using link preload");
      if ((type === "error" || type === "warning") && !failedExpected && !unusedPreload) {
        problems.push(`console ${type}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400 && !expected(response.url())) {
        problems.push(`HTTP ${response.status()} for ${response.url()}`);
      }
    });
    await use(page);
    expect(problems, "console errors and failed requests").toEqual([]);
  },
});

export { expect };

/** Where the server under test is; its own pages send this as their Origin. */
const origin = `http://127.0.0.1:${process.env.MILLRACE_E2E_PORT ?? 3311}`;

/** The page's session as an API client. It sends the site's Origin as the app's own pages do:
 *  the server refuses signed-in writes without one (cross-site request forgery). */
export function api(page: import("@playwright/test").Page) {
  type Options = Parameters<typeof page.request.post>[1];
  const withOrigin = (options: Options = {}) => ({ ...options, headers: { Origin: origin, ...options.headers } });
  return {
    post: (url: string, options?: Options) => page.request.post(url, withOrigin(options)),
    delete: (url: string, options?: Options) => page.request.delete(url, withOrigin(options)),
    put: (url: string, options?: Options) => page.request.put(url, withOrigin(options)),
  };
}

/** Signs in through the login form, as a person would. */
export async function signIn(page: import("@playwright/test").Page, name: string, password: string) {
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Opens `path` and waits until the Miller view has hydrated (its keys and menus work). */
export async function openHydrated(page: import("@playwright/test").Page, path: string) {
  await page.goto(path);
  await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
}

/** Signs in and waits until the app has left the login page (the session cookie is set). */
export async function signedIn(page: import("@playwright/test").Page, name = "alice") {
  await page.goto("/login");
  await signIn(page, name, "millrace-demo");
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

/** A project of the signed-in user with `names.length` jobs (numbers 1, 2, ... in order), made
 *  through the MLflow API with the page's session; returns the project's name. */
export async function seedProject(
  page: import("@playwright/test").Page,
  prefix: string,
  names: string[],
  { ordered = true } = {},
): Promise<string> {
  const project = `${prefix}-${Date.now().toString(36)}`;
  const call = async (path: string, data: object) => {
    const response = await api(page).post(`/api/2.0/mlflow/${path}`, { data });
    expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
    return response.json();
  };
  const { experiment_id } = await call("experiments/create", { name: project });
  // One at a time, job numbers follow the order of `names`; unordered, 8 at a time.
  const runs: string[] = [];
  const width = ordered ? 1 : 8;
  for (let i = 0; i < names.length; i += width) {
    const created = await Promise.all(
      names.slice(i, i + width).map((run_name) => call("runs/create", { experiment_id, run_name, start_time: Date.now() })),
    );
    runs.push(...created.map(({ run }) => run.info.run_id));
  }
  if (runs.length > 0) {
    await call("runs/log-batch", {
      run_id: runs[0],
      params: [{ key: "lr", value: "0.01" }],
      metrics: [0, 1, 2].map((step) => ({ key: "loss", value: 1 / (step + 1), timestamp: Date.now(), step })),
    });
  }
  return project;
}

/** Creates a running job in `alice/project` through millrace's API; returns its number and id. */
export async function createJob(
  page: import("@playwright/test").Page,
  project: string,
  name: string,
  params: Record<string, unknown> = {},
): Promise<{ number: number; uid: string }> {
  const response = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name, params } });
  expect(response.status(), await response.text()).toBe(201);
  return response.json();
}

/** Logs metric points to job `uid` through millrace's API. */
export async function logPoints(
  page: import("@playwright/test").Page,
  uid: string,
  points: { key: string; step: number; value: number }[],
) {
  const response = await api(page).post(`/api/v1/jobs/${uid}/metrics`, { data: { points } });
  expect(response.status(), await response.text()).toBe(200);
}

/** Starts a random-search sweep "bowl" of 3 trials, 1 at a time, over `space` in alice's
 *  `project` through the REST API (no runner takes its trials); its id. */
export async function startSweep(
  page: import("@playwright/test").Page,
  project: string,
  space: object = { x: { uniform: [0, 1] } },
): Promise<number> {
  const spec = {
    sweep: "bowl",
    project: `alice/${project}`,
    job: { command: "python bowl.py --x {{x}}" },
    space,
    objective: { metric: "loss", goal: "minimize" },
    algorithm: "random",
    trials: 3,
    parallel: 1,
  };
  const created = await api(page).post(`/api/v1/projects/alice/${project}/sweeps`, { data: { spec } });
  expect(created.status(), await created.text()).toBe(201);
  return (await created.json()).id;
}

/** Starts a run of a diamond pipeline (a → b, c → d; c fans out to two jobs) in `project` of
 *  alice's through the API; returns its id. No runner takes its jobs: tests play them. */
export async function startPipeline(page: import("@playwright/test").Page, project: string): Promise<number> {
  const spec = {
    pipeline: "diamond",
    project: `alice/${project}`,
    steps: {
      a: { command: "echo a", outputs: ["a.txt"], metrics: { names: ["loss"] } },
      b: { needs: ["a"], command: "echo b" },
      c: { needs: ["a"], command: "echo c {{k}}", for_each: { k: [1, 2] } },
      d: { needs: ["b", "c"], command: "echo d" },
    },
  };
  const created = await api(page).post(`/api/v1/projects/alice/${project}/pipelines`, { data: { spec } });
  expect(created.status(), await created.text()).toBe(201);
  return (await created.json()).id;
}

/** The job of `step` (its first instance) of pipeline run `id`, once the run started it. */
export async function pipelineJob(page: import("@playwright/test").Page, id: number, step: string, instance = 0): Promise<string> {
  let uid = "";
  await expect(async () => {
    const run = await (await page.request.get(`/api/v1/pipelines/${id}`)).json();
    const found = run.steps.find((s: { step: string; instance: number }) => s.step === step && s.instance === instance);
    uid = found?.job?.uid ?? "";
    expect(uid, JSON.stringify(run.steps)).not.toBe("");
  }).toPass({ timeout: 10_000 });
  return uid;
}

/** Plays a runner for job `uid` through the API: running, then `status`. */
export async function finishJob(page: import("@playwright/test").Page, uid: string, status: "succeeded" | "failed") {
  for (const next of ["running", status]) {
    const response = await api(page).post(`/api/v1/jobs/${uid}/status`, { data: { status: next } });
    expect(response.status(), await response.text()).toBe(200);
  }
}

/** A TCP port free on loopback now, for a server a test starts of its own. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
