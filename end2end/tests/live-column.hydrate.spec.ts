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
