import { test, expect, openHydrated, signedIn, seedProject, createJob, logPoints } from "./fixtures";

// The wasm files the page fetched besides the main bundle: the lazily loaded views' chunks.
function chunksFetched(page: import("@playwright/test").Page): string[] {
  const chunks: string[] = [];
  page.on("request", (request) => {
    const name = new URL(request.url()).pathname.split("/").pop() ?? "";
    if (name.endsWith(".wasm") && !name.startsWith("millrace")) chunks.push(name);
  });
  return chunks;
}

test("the jobs column needs no view's chunk, and a view's chunk loads when it opens", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "split", ["one", "two"]);
  const chunks = chunksFetched(page);
  await openHydrated(page, `/u/alice/p/${project}`);
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toHaveCount(2);
  expect(chunks, "chunks fetched for the jobs column alone").toEqual([]);

  await page.getByRole("navigation", { name: "Project views" }).getByRole("link", { name: "table" }).click();
  const grid = page.getByRole("grid", { name: "Jobs table" });
  await expect(grid.locator(".tbody .trow")).toHaveCount(2);
  expect(chunks.length, "chunks fetched to open the table").toBeGreaterThan(0);
  // Interactive, not just drawn: selecting a row is the browser's own doing.
  await grid.locator(".tbody .trow").first().getByRole("checkbox").check();
  await expect(page.getByRole("toolbar", { name: "Table selection" })).toContainText("1 selected");
});

test("a URL that opens a split view hydrates it with its chunk loaded first", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "split-deep", []);
  const { number, uid } = await createJob(page, project, "curves");
  await logPoints(page, uid, [0, 1, 2].map((step) => ({ key: "loss", step, value: 1 / (step + 1) })));
  const base = `/u/alice/p/${project}`;
  const deep = [`${base}?pview=table`, `${base}?pview=charts`, `${base}?pview=sweeps`, `${base}/j/${number}?tab=metrics`];
  for (const path of deep) {
    const chunks = chunksFetched(page);
    await openHydrated(page, path);
    expect(chunks.length, `chunks fetched for ${path}`).toBeGreaterThan(0);
  }
  // The last page, the metrics tab, shows its panel (the fixture fails the test on any hydration
  // error the others met).
  await page.goto(`${base}/j/${number}?tab=metrics`);
  await expect(page.getByRole("figure", { name: "loss" })).toBeVisible();
});

test("the pages split off hydrate with their chunks loaded first", async ({ page }) => {
  await signedIn(page);
  for (const [path, ready] of [
    ["/runners", page.locator("main.runners-page")],
    ["/settings/tokens", page.getByRole("button", { name: "Create token" })],
    ["/projects/new", page.getByRole("button", { name: "Create project" })],
  ] as const) {
    const chunks = chunksFetched(page);
    await page.goto(path);
    await expect(ready).toBeVisible();
    await page.waitForLoadState("networkidle");
    expect(chunks.length, `chunks fetched for ${path}`).toBeGreaterThan(0);
    // Hydrated: the app's router takes the top bar's link without loading a new document.
    await page.evaluate(() => ((window as unknown as { same: boolean }).same = true));
    await page.locator("header.top-bar").getByRole("link", { name: "Projects" }).click();
    await expect(page).toHaveURL(/\/$/);
    expect(await page.evaluate(() => (window as unknown as { same?: boolean }).same), `${path} hydrated`).toBe(true);
  }
});
