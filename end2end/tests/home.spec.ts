import { test, expect, signedIn, seedProject, createJob, api } from "./fixtures";

// The home view at `/`: these hold with and without JavaScript.

test("home lists your running jobs and those that failed today, each a link into the columns", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "home", []);
  const running = await createJob(page, project, `train-${project}`);
  const failed = await createJob(page, project, `broken-${project}`);
  const ended = await api(page).post(`/api/v1/jobs/${failed.uid}/status`, { data: { status: "failed" } });
  expect(ended.status(), await ended.text()).toBe(200);

  await page.goto("/");
  const home = page.getByRole("region", { name: "Home" });
  const inProgress = home.locator("h2", { hasText: "Your running and queued jobs" }).locator("xpath=following-sibling::*[1]");
  const runningRow = inProgress.getByRole("link", { name: new RegExp(`train-${project}`) });
  await expect(runningRow).toContainText("running");
  await expect(runningRow).toHaveAttribute("href", `/u/alice/p/${project}/j/${running.number}`);
  const failedList = home.locator("h2", { hasText: "Failed in the last day" }).locator("xpath=following-sibling::*[1]");
  await expect(failedList.getByRole("link", { name: new RegExp(`broken-${project}`) })).toContainText("failed");
  await expect(inProgress.getByRole("link", { name: new RegExp(`broken-${project}`) })).toHaveCount(0);
  await expect(home.getByRole("link", { name: /runner.*waiting/ })).toHaveAttribute("href", "/runners");

  // The users column is still there, and the link opens the job in the columns.
  await expect(page.locator(".level.column").first()).toBeVisible();
  await runningRow.click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}/j/${running.number}`));
});

test("another person's home does not show your jobs", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "mine", []);
  await createJob(page, project, `only-alices-${project}`);
  await page.context().clearCookies();
  await signedIn(page, "bob");
  await page.goto("/");
  await expect(page.getByRole("region", { name: "Home" }).locator("h2").first()).toBeVisible();
  await expect(page.getByText(`only-alices-${project}`)).toHaveCount(0);
});

test("on a phone the home view comes first, above the users column", async ({ page }) => {
  await signedIn(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto("/");
  const home = await page.getByRole("region", { name: "Home" }).boundingBox();
  const users = await page.locator(".level.column").first().boundingBox();
  expect(home!.width).toBeGreaterThan(350);
  expect(home!.y).toBeLessThan(users!.y);
});
