import { test, expect, openHydrated, signedIn, seedProject, createJob, api } from "./fixtures";

test("the jobs column shows new jobs on top and status changes in place, keeping the selection", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "livecol", []);
  const first = await createJob(page, project, "first");
  await createJob(page, project, "second");
  await openHydrated(page, `/u/alice/p/${project}`);
  const jobs = page.getByRole("listbox", { name: "Jobs" });
  await expect(jobs.getByRole("option")).toHaveCount(2);
  await jobs.getByRole("option", { name: /first/ }).click({ modifiers: ["Control"] });
  const started = Date.now();
  await createJob(page, project, "third");
  await expect(jobs.getByRole("option").first()).toContainText("third");
  console.log(`a new job reached the open jobs column in ${Date.now() - started} ms`);
  const response = await api(page).post(`/api/v1/jobs/${first.uid}/status`, { data: { status: "failed" } });
  expect(response.status()).toBe(200);
  const row = jobs.getByRole("option", { name: /first/ });
  await expect(row.locator(".status")).toHaveText("failed");
  await expect(row).toHaveAttribute("aria-selected", "true");
  await expect(jobs.getByRole("option")).toHaveCount(3);
  await expect(page.getByRole("toolbar", { name: "Selection" })).toContainText("1 selected");
});

test("one event stream per tab, whatever the page shows", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "onestream", ["a"]);
  const streams: string[] = [];
  page.on("request", (request) => {
    if (request.url().includes("/api/v1/events")) streams.push(request.url());
  });
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
  await expect.poll(() => streams.length).toBe(1);
  await page.getByRole("tab", { name: "logs" }).click();
  await page.goto(`/u/alice/p/${project}?pview=table`);
  await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
  await expect.poll(() => streams.length).toBe(2);
  await page.waitForTimeout(300);
  expect(streams.length, "the reload opened one, the table and jobs column share it").toBe(2);
});

test("sorted by a metric, the jobs column reorders as new points change the order", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "livesort", []);
  const a = await createJob(page, project, "alpha");
  const b = await createJob(page, project, "beta");
  const log = async (uid: string, step: number, value: number) => {
    const response = await api(page).post(`/api/v1/jobs/${uid}/metrics`, { data: { points: [{ key: "acc", step, value }] } });
    expect(response.status()).toBe(200);
  };
  await log(a.uid, 0, 0.9);
  await log(b.uid, 0, 0.5);
  await openHydrated(page, `/u/alice/p/${project}?jsort=-metric:acc`);
  const jobs = page.getByRole("listbox", { name: "Jobs" });
  await expect(jobs.getByRole("option").first()).toContainText("alpha");
  // beta overtakes alpha: no status changes, only points.
  await log(b.uid, 1, 0.95);
  await expect(jobs.getByRole("option").first()).toContainText("beta", { timeout: 2000 });
});
