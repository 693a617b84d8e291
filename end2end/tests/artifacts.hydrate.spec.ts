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

test("files kept while the tab is open appear, and removed ones go, without a reload", async ({ page }) => {
  await signedIn(page);
  const { project, number, uid } = await runningJob(page, "live");
  await openHydrated(page, `/u/alice/p/${project}/j/${number}?tab=artifacts`);
  await expect(page.getByRole("region", { name: "Job" })).toContainText("No artifacts yet");
  const tree = page.getByRole("navigation", { name: "Artifacts" });
  // As a runner or a training script keeps them, the job still running.
  for (const path of ["model.pt", "plots/loss.png"]) {
    const put = await api(page).put(`/api/v1/jobs/${uid}/artifacts/${path}`, { data: Buffer.from([1, 2, 3]) });
    expect(put.status(), await put.text()).toBe(201);
  }
  await expect(tree.getByRole("link", { name: "model.pt", exact: true })).toBeVisible();
  await expect(tree.getByRole("link", { name: "plots/", exact: true })).toBeVisible();
  // MLflow's artifact proxy removes files, and the tab follows.
  const { run } = await (await page.request.get(`/api/2.0/mlflow/runs/get?run_id=${uid}`)).json();
  const gone = await api(page).delete(`/api/2.0/mlflow-artifacts/artifacts/${run.info.experiment_id}/${uid}/artifacts/model.pt`);
  expect(gone.status(), await gone.text()).toBe(200);
  await expect(tree.getByRole("link", { name: "model.pt", exact: true })).toHaveCount(0);
  await expect(tree.getByRole("link", { name: "plots/", exact: true })).toBeVisible();
});
