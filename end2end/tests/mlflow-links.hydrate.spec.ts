import { test, expect, api, signedIn, signIn } from "./fixtures";

// The official MLflow client prints `http://host/#/experiments/ID/runs/RUN` after every run; in
// millrace that link opens the job, also for someone who has to sign in first.

async function mlflowRun(page: import("@playwright/test").Page) {
  const call = async (path: string, data: object) => {
    const response = await api(page).post(`/api/2.0/mlflow/${path}`, { data });
    expect(response.status(), await response.text()).toBe(200);
    return response.json();
  };
  const name = `linked-${Date.now().toString(36)}`;
  const { experiment_id } = await call("experiments/create", { name });
  const { run } = await call("runs/create", { experiment_id, run_name: "printed", start_time: Date.now() });
  return { name, experiment: experiment_id as string, run: run.info.run_id as string };
}

test("an MLflow run link opens the job and an experiment link the project", async ({ page }) => {
  await signedIn(page);
  const { name, experiment, run } = await mlflowRun(page);
  await page.goto(`/#/experiments/${experiment}/runs/${run}`);
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${name}/j/1$`));
  await expect(page.getByRole("heading", { name: /printed/ })).toBeVisible();
  await page.goto(`/#/experiments/${experiment}`);
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${name}$`));
});

test("a signed-out reader signs in and lands on the run", async ({ page, browser }) => {
  await signedIn(page);
  const { name, experiment, run } = await mlflowRun(page);
  const other = await browser.newContext();
  const reader = await other.newPage();
  await reader.goto(`/#/experiments/${experiment}/runs/${run}`);
  await expect(reader).toHaveURL(/\/login\?next=%2Fexperiments%2F/);
  await signIn(reader, "alice", "millrace-demo");
  await expect(reader).toHaveURL(new RegExp(`/u/alice/p/${name}/j/1$`));
  await other.close();
});

test("an experiment with a free-text name is listed by that name and opened by its slug", async ({ page }) => {
  await signedIn(page);
  const suffix = Date.now().toString(36);
  const name = `X-ray segmentation v2 (${suffix})`;
  const response = await api(page).post("/api/2.0/mlflow/experiments/create", { data: { name } });
  expect(response.status(), await response.text()).toBe(200);
  await page.goto("/u/alice");
  const row = page.locator(`[role=listbox][aria-label="Projects"] [role=option][data-id="X-ray-segmentation-v2-${suffix}"]`);
  await expect(row).toContainText(name);
  await row.click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/X-ray-segmentation-v2-${suffix}`));
});
