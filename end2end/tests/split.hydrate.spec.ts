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
  for (const path of [`?pview=table`, `?pview=charts`, `?pview=sweeps`, `/j/${number}?tab=metrics`]) {
    const chunks = chunksFetched(page);
    await openHydrated(page, `/u/alice/p/${project}${path}`);
    expect(chunks.length, `chunks fetched for ${path}`).toBeGreaterThan(0);
  }
  // The last page, the metrics tab, shows its panel (the fixture fails the test on any hydration
  // error the others met).
  await expect(page.getByRole("figure", { name: "loss" })).toBeVisible();
});
