import { test, expect, api, signedIn } from "./fixtures";

// The project's Models view (`?pview=models`): the model registry's models whose versions came
// from the project's jobs, registered here through the MLflow API as training code does.

async function registerModels(page: import("@playwright/test").Page) {
  const call = async (path: string, data: object) => {
    const response = await api(page).post(`/api/2.0/mlflow/${path}`, { data });
    expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
    return response.json();
  };
  const suffix = Date.now().toString(36);
  const project = `registry-${suffix}`;
  const model = `churn-${suffix}`;
  const { experiment_id } = await call("experiments/create", { name: project });
  const runs: string[] = [];
  for (const run_name of ["train", "finetune"]) {
    const { run } = await call("runs/create", { experiment_id, run_name, start_time: Date.now() });
    runs.push(run.info.run_id);
  }
  await call("runs/log-batch", { run_id: runs[1], metrics: [{ key: "accuracy", value: 0.9375, timestamp: Date.now(), step: 3 }] });
  await call("registered-models/create", { name: model, description: "Predicts who leaves" });
  for (const run_id of runs) {
    await call("model-versions/create", { name: model, source: `runs:/${run_id}/model`, run_id });
  }
  await call("registered-models/alias", { name: model, alias: "champion", version: "2" });
  return { project, model };
}

test("the models view lists versions with aliases, jobs and metrics, and links to the job", async ({ page }) => {
  await signedIn(page);
  const { project, model } = await registerModels(page);
  await page.goto(`/u/alice/p/${project}?pview=models`);
  await expect(page.getByRole("tab", { name: "models" })).toHaveAttribute("aria-selected", "true");
  const section = page.locator("[data-test=registered-model]", { hasText: model });
  await expect(section.getByRole("heading", { name: model })).toBeVisible();
  await expect(section).toContainText("Predicts who leaves");
  const rows = section.locator("[data-test=model-version]");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0).locator("th")).toHaveText("v2");
  await expect(rows.nth(0)).toContainText("@champion");
  await expect(rows.nth(0)).toContainText("#2 finetune");
  await expect(rows.nth(0)).toContainText("accuracy 0.9375");
  await expect(rows.nth(1)).not.toContainText("@champion");
  await rows.nth(1).getByRole("link", { name: "#1 train" }).click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}/j/1(\\?|$)`));
  await expect(page.getByRole("heading", { name: /train/ })).toBeVisible();
});

test("the demo registers its sweep's two best trials, the better one the champion", async ({ page }) => {
  await signedIn(page);
  await page.goto("/u/alice/p/hpo-demo?pview=models");
  const rows = page.locator("[data-test=registered-model]", { hasText: "hpo-demo-model" }).locator("[data-test=model-version]");
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toContainText("@champion");
  await expect(rows.nth(0)).toContainText("val_loss");
});

test("a project without registered models says how to register one", async ({ page }) => {
  await signedIn(page);
  const name = `no-models-${Date.now().toString(36)}`;
  const made = await api(page).post("/api/2.0/mlflow/experiments/create", { data: { name } });
  expect(made.status(), await made.text()).toBe(200);
  await page.goto(`/u/alice/p/${name}?pview=models`);
  await expect(page.getByRole("region", { name: "Project view" })).toContainText("No registered models yet");
});
