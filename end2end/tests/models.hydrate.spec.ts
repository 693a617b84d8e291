import { test, expect, api, signedIn, openHydrated } from "./fixtures";

// The Models view follows the registry live: a version registered or an alias moved through
// MLflow's API while the view is open shows without a reload.

test("versions registered and aliases moved elsewhere show in the open Models view", async ({ page }) => {
  await signedIn(page);
  const call = async (path: string, data: object) => {
    const response = await api(page).post(`/api/2.0/mlflow/${path}`, { data });
    expect(response.status(), `${path}: ${await response.text()}`).toBe(200);
    return response.json();
  };
  const suffix = Date.now().toString(36);
  const project = `live-registry-${suffix}`;
  const model = `live-${suffix}`;
  const { experiment_id } = await call("experiments/create", { name: project });
  const { run } = await call("runs/create", { experiment_id, run_name: "train", start_time: Date.now() });
  const run_id = run.info.run_id;
  await call("registered-models/create", { name: model });
  await call("model-versions/create", { name: model, source: `runs:/${run_id}/model`, run_id });

  await openHydrated(page, `/u/alice/p/${project}?pview=models`);
  const rows = page.locator("[data-test=registered-model]", { hasText: model }).locator("[data-test=model-version]");
  await expect(rows).toHaveCount(1);
  await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));

  await call("model-versions/create", { name: model, source: `runs:/${run_id}/model`, run_id });
  await expect(rows).toHaveCount(2);
  await call("registered-models/alias", { name: model, alias: "champion", version: "2" });
  await expect(rows.nth(0)).toContainText("@champion");
  expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
});
