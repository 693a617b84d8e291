import { test, expect, openHydrated, signedIn, seedProject, startSweep, api } from "./fixtures";

test("a trial that finishes while the sweep view is open shows up without a reload", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "live-sweep", []);
  const id = await startSweep(page, project);
  // The scheduler queues the first trial; the test plays its runner through the API.
  let uid = "";
  await expect(async () => {
    const detail = await (await page.request.get(`/api/v1/sweeps/${id}`)).json();
    uid = detail.trials[0]?.job?.uid ?? "";
    expect(uid).not.toBe("");
  }).toPass({ timeout: 10_000 });
  await openHydrated(page, `/u/alice/p/${project}?pview=sweeps&sweep=${id}`);
  await expect(page.locator("[data-test=sweep-trials]")).toHaveText("0 of 3 done, 1 at a time");
  await expect(page.getByRole("region", { name: "Best trial" })).toContainText("No trial has completed yet.");
  const post = async (path: string, data: object) => {
    const response = await api(page).post(path, { data });
    expect(response.status(), await response.text()).toBe(200);
  };
  await post(`/api/v1/jobs/${uid}/status`, { status: "running" });
  await post(`/api/v1/jobs/${uid}/metrics`, { points: [{ key: "loss", step: 0, value: 0.75 }, { key: "loss", step: 1, value: 0.5 }] });
  await post(`/api/v1/jobs/${uid}/status`, { status: "succeeded" });
  await expect(page.locator("[data-test=sweep-trials]")).toHaveText("1 of 3 done, 1 at a time");
  await expect(page.locator("[data-test=best-value]")).toHaveText("0.5");
  await expect(page.getByRole("table", { name: "Trials" }).locator("tbody tr")).toHaveCount(2);
  await expect(page.getByRole("table", { name: "Trials" }).locator("tbody tr").first()).toContainText("completed");

  // The last trials: the sweep's end is recorded after the last job's own event, and the open
  // view still learns of it.
  for (const index of [1, 2]) {
    let next = "";
    await expect(async () => {
      const detail = await (await page.request.get(`/api/v1/sweeps/${id}`)).json();
      next = detail.trials[index]?.job?.uid ?? "";
      expect(next).not.toBe("");
    }).toPass({ timeout: 10_000 });
    await post(`/api/v1/jobs/${next}/status`, { status: "running" });
    await post(`/api/v1/jobs/${next}/metrics`, { points: [{ key: "loss", step: 0, value: 0.9 }] });
    await post(`/api/v1/jobs/${next}/status`, { status: "succeeded" });
  }
  await expect(page.locator("[data-test=sweep-state]")).toHaveText("finished");
  await expect(page.locator("[data-test=sweep-trials]")).toHaveText("3 of 3 done, 1 at a time");
});
