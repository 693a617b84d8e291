import { test, expect, signedIn, seedProject, api } from "./fixtures";

// Running jobs in the web app, rendered on the server: these hold with and without JavaScript.

/** A running tracked job in a new project with `lines` of output; returns [project, uid]. */
async function jobWithOutput(page: import("@playwright/test").Page, lines: { text: string; stream?: string }[]) {
  const project = await seedProject(page, "logs", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "talkative" } });
  expect(created.status()).toBe(201);
  const { uid } = await created.json();
  const logged = await api(page).post(`/api/v1/jobs/${uid}/logs`, { data: { lines } });
  expect(logged.status()).toBe(200);
  return [project, uid] as const;
}

test("the logs tab holds the job's output in its first HTML", async ({ page }) => {
  await signedIn(page);
  const [project] = await jobWithOutput(page, [
    { text: "epoch 1 loss=0.52" },
    { text: "warning: <b>not bold</b>", stream: "stderr" },
  ]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=logs`);
  const output = page.getByRole("log", { name: "Job output" });
  await expect(output).toContainText("epoch 1 loss=0.52");
  await expect(output.locator(".stderr")).toHaveText("warning: <b>not bold</b>");
  await expect(page.getByText("2 lines · following (running)")).toBeVisible();
});

test("a queued spec job shows its state, and the runners page says how to add a runner", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "queue", []);
  const applied = await api(page).post(`/api/v1/projects/alice/${project}/apply`, {
    data: { name: "waits", plan: { command: { shell: "python3 train.py" } }, gpus: 2 },
  });
  expect(applied.status()).toBe(201);
  await page.goto(`/u/alice/p/${project}/j/1`);
  const pane = page.getByRole("region", { name: "Job" });
  await expect(pane.locator("dd").first()).toHaveText("queued");
  await page.goto("/runners");
  await expect(page.getByRole("heading", { name: "Runners" })).toBeVisible();
  await expect(page.getByText("millrace runner-token create")).toBeVisible();
});
