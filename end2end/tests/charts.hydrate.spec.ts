import { test, expect, openHydrated, signedIn, seedProject, api } from "./fixtures";

test("chart settings round-trip through the URL, defaults left out", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "settings", ["curve"]);
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
  await page.getByRole("combobox", { name: "X" }).selectOption("relative");
  await expect(page).toHaveURL(/[?&]x=relative/);
  await page.getByRole("checkbox", { name: "log y" }).check();
  await expect(page).toHaveURL(/[?&]logy=1/);
  expect(page.url()).not.toMatch(/smooth=|psize=|keys=/);
  await page.reload();
  await expect(page.getByRole("combobox", { name: "X" })).toHaveValue("relative");
  await expect(page.getByRole("checkbox", { name: "log y" })).toBeChecked();
  await expect(page.getByRole("figure", { name: "loss" }).locator("svg")).toHaveCount(1);
});

test("a 1,000,000-point series opens in under a second and its panel transfers under 200 KB", async ({ page }) => {
  test.setTimeout(120_000);
  await signedIn(page);
  const project = await seedProject(page, "long", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "long" } });
  const { uid } = await created.json();
  const batch = (from: number) => ({
    points: Array.from({ length: 10_000 }, (_, i) => ({ key: "loss", step: from + i, value: Math.sin((from + i) / 5000) + (i % 13) / 100 })),
  });
  for (let from = 0; from < 1_000_000; from += 40_000) {
    await Promise.all([0, 1, 2, 3].map(async (k) => {
      const response = await api(page).post(`/api/v1/jobs/${uid}/metrics`, { data: batch(from + k * 10_000) });
      expect(response.status()).toBe(200);
    }));
  }
  await openHydrated(page, `/u/alice/p/${project}/j/1`);
  // The first panel call after the click; later revalidations are not waited for.
  const answered = page.waitForResponse((response) => response.url().includes("/api/get_metric_panels"));
  const started = Date.now();
  await page.getByRole("tab", { name: "metrics" }).click();
  const panel = page.getByRole("figure", { name: "loss" });
  await expect(panel).toContainText("loss · 1000000 points");
  const took = Date.now() - started;
  const bytes = (await (await answered).body()).length;
  console.log(`1,000,000-point panel: ${took} ms from click to chart, ${(bytes / 1024).toFixed(0)} KB`);
  expect(took).toBeLessThan(1000);
  expect(bytes).toBeLessThan(200 * 1024);
  await expect(panel.locator("svg polygon")).toHaveCount(1);
});
