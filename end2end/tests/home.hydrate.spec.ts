import { test, expect, signedIn, seedProject, createJob, api, openHydrated } from "./fixtures";

test("the home view follows your jobs live: a new job appears, a failed one moves down", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "live-home", []);
  await openHydrated(page, "/");
  const home = page.getByRole("region", { name: "Home" });
  const inProgress = home.locator("h2", { hasText: "Your running and queued jobs" }).locator("xpath=following-sibling::*[1]");
  const failedList = home.locator("h2", { hasText: "Failed in the last day" }).locator("xpath=following-sibling::*[1]");
  const name = `fresh-${project}`;

  const job = await createJob(page, project, name);
  await expect(inProgress.getByRole("link", { name: new RegExp(name) })).toBeVisible();
  const ended = await api(page).post(`/api/v1/jobs/${job.uid}/status`, { data: { status: "failed" } });
  expect(ended.status()).toBe(200);
  await expect(failedList.getByRole("link", { name: new RegExp(name) })).toBeVisible();
  await expect(inProgress.getByRole("link", { name: new RegExp(name) })).toHaveCount(0);
});

test("home shows the projects this browser opened lately, the latest first", async ({ page }) => {
  await signedIn(page);
  const first = await seedProject(page, "seen-a", []);
  const second = await seedProject(page, "seen-b", []);
  await openHydrated(page, `/u/alice/p/${first}`);
  await openHydrated(page, `/u/alice/p/${second}`);
  await openHydrated(page, "/");
  const recent = page.getByRole("region", { name: "Home" }).locator("h2", { hasText: "Recently opened" }).locator("xpath=following-sibling::*[1]");
  // Each test has a fresh browser context, so its storage holds only these two.
  await expect(recent.getByRole("link")).toHaveText([`alice/${second}`, `alice/${first}`]);
  await recent.getByRole("link", { name: `alice/${first}` }).click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${first}$`));
});
