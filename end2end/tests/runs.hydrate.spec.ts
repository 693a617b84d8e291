import { test, expect, openHydrated, signedIn, seedProject, api } from "./fixtures";

// What needs the hydrated app: the logs tab following a job, search, stop and rerun.

test("the logs tab follows new output and searches it", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "follow", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "live" } });
  const { uid } = await created.json();
  await api(page).post(`/api/v1/jobs/${uid}/logs`, { data: { lines: [{ text: "first line" }] } });
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=logs`);
  const output = page.getByRole("log", { name: "Job output" });
  await expect(output).toContainText("first line");

  const lines = Array.from({ length: 500 }, (_, i) => ({ text: `step=${i} loss=${(1 / (i + 1)).toFixed(4)}` }));
  const sent = Date.now();
  await api(page).post(`/api/v1/jobs/${uid}/logs`, { data: { lines } });
  await expect(output).toContainText("step=499 loss=0.0020");
  console.log(`500 new lines shown ${Date.now() - sent} ms after they were logged`);
  // Virtualised: 501 lines, far fewer in the DOM.
  expect(await output.locator(".log-line").count()).toBeLessThan(501);

  await page.getByRole("searchbox", { name: "Search the output" }).fill("step=42 ");
  await expect(page.getByText("1 of 501 lines match")).toBeVisible();
  await expect(output.locator(".log-line")).toHaveText(["step=42 loss=0.0233"]);
});

test("stop and rerun from the context menu act on a spec job", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "stop", []);
  const applied = await api(page).post(`/api/v1/projects/alice/${project}/apply`, {
    data: { name: "queued-job", plan: { command: { shell: "sleep 60" } } },
  });
  const { uid } = await applied.json();
  await openHydrated(page, `/u/alice/p/${project}`);
  const jobs = page.getByRole("listbox", { name: "Jobs" });
  await jobs.getByRole("option").first().click({ button: "right" });
  await page.getByRole("menu", { name: "Actions for queued-job" }).getByRole("menuitem", { name: "Stop" }).click();
  await expect.poll(async () => (await (await page.request.get(`/api/v1/jobs/${uid}`)).json()).status).toBe("cancelled");

  await jobs.getByRole("option").first().click({ button: "right" });
  await page.getByRole("menu", { name: "Actions for queued-job" }).getByRole("menuitem", { name: "Rerun" }).click();
  await expect(jobs.getByRole("option")).toHaveCount(2);
  const rerun = await (await page.request.get(`/api/v1/projects/alice/${project}/jobs/2`)).json();
  expect([rerun.name, rerun.status, rerun.command]).toEqual(["queued-job", "queued", "sleep 60"]);
});

test("the logs tab reads output larger than one answer, page by page, every line once", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "bulky", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "chatty" } });
  const { uid } = await created.json();
  // Lines of 100 bytes, 10,000 per request: each request is one chunk of 1,000,000 bytes.
  const batch = (from: number) =>
    Array.from({ length: 10_000 }, (_, i) => ({ text: `line ${from + i} `.padEnd(99, "x") }));
  await api(page).post(`/api/v1/jobs/${uid}/logs`, { data: { lines: batch(0) } });
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=logs`);
  const output = page.getByRole("log", { name: "Job output" });
  await expect(page.getByText("10000 lines")).toBeVisible();

  // 2 MB more: over the 1 MiB an answer holds, so the tab follows the cursor across answers.
  for (const from of [10_000, 20_000]) {
    await api(page).post(`/api/v1/jobs/${uid}/logs`, { data: { lines: batch(from) } });
  }
  await expect(page.getByText("30000 lines")).toBeVisible();
  await expect(output).toContainText("line 29999 ");
  await page.getByRole("searchbox", { name: "Search the output" }).fill("line 20485 ");
  await expect(page.getByText("1 of 30000 lines match")).toBeVisible();
});
