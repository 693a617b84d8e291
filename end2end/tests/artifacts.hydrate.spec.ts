import { test, expect, api, signedIn, createJob, openHydrated } from "./fixtures";

// The Artifacts tab in the hydrated app: folders open without a page load, and a job that ends
// (its runner uploads what it kept as it finishes) shows its files without a reload.

/** A new project of alice's with one running job, made through millrace's API. */
async function runningJob(page: import("@playwright/test").Page, prefix: string) {
  const project = `${prefix}-${Date.now().toString(36)}`;
  const made = await api(page).post("/api/v1/projects", { data: { name: project } });
  expect(made.status(), await made.text()).toBe(201);
  return { project, ...(await createJob(page, project, "train")) };
}

test("folders open in place without loading the page again, and Back closes them", async ({ page }) => {
  await signedIn(page);
  const { project, number, uid } = await runningJob(page, "tree");
  for (const path of ["plots/a.txt", "plots/deep/b.txt", "top.txt"]) {
    const put = await api(page).put(`/api/v1/jobs/${uid}/artifacts/${path}`, { data: `${path}\n` });
    expect(put.status(), await put.text()).toBe(201);
  }
  await openHydrated(page, `/u/alice/p/${project}/j/${number}?tab=artifacts`);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
  const tree = page.getByRole("navigation", { name: "Artifacts" });
  await tree.getByRole("link", { name: "plots/", exact: true }).click();
  await tree.getByRole("link", { name: "deep/", exact: true }).click();
  await tree.getByRole("link", { name: "b.txt", exact: true }).click();
  await expect(page.getByRole("region", { name: "Preview" }).locator("pre")).toHaveText("plots/deep/b.txt\n");
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
  await page.goBack();
  await page.goBack();
  await expect(page).toHaveURL(/file=plots(&|$)/);
  await expect(tree.getByRole("link", { name: "deep/", exact: true })).toHaveAttribute("aria-expanded", "false");
  await expect(page.getByRole("region", { name: "Preview" })).toHaveCount(0);
});

test("a job that ends shows the files it kept without a reload", async ({ page }) => {
  await signedIn(page);
  const { project, number, uid } = await runningJob(page, "ending");
  await openHydrated(page, `/u/alice/p/${project}/j/${number}?tab=artifacts`);
  await expect(page.getByRole("region", { name: "Job" })).toContainText("No artifacts yet");
  const put = await api(page).put(`/api/v1/jobs/${uid}/artifacts/model.pt`, { data: Buffer.from([1, 2, 3]) });
  expect(put.status(), await put.text()).toBe(201);
  const ended = await api(page).post(`/api/v1/jobs/${uid}/status`, { data: { status: "succeeded" } });
  expect(ended.status(), await ended.text()).toBe(200);
  await expect(page.getByRole("navigation", { name: "Artifacts" }).getByRole("link", { name: "model.pt", exact: true })).toBeVisible();
});
