import { test, expect, signedIn, seedProject, createJob, logPoints } from "./fixtures";

/** A project with three jobs: `lr` differs, `opt` is the same; each logs `loss` and one `acc`. */
async function threeJobs(page: import("@playwright/test").Page, prefix: string) {
  const project = await seedProject(page, prefix, []);
  const lrs = ["0.1", "1e-3", "0.01"];
  for (const [i, lr] of lrs.entries()) {
    const { uid } = await createJob(page, project, `run-${"abc"[i]}`, { lr, opt: "adam" });
    await logPoints(page, uid, [0, 1, 2, 3].map((step) => ({ key: "loss", step, value: (i + 1) / (step + 1) })));
    await logPoints(page, uid, [{ key: "acc", step: 3, value: 0.5 + i / 10 }]);
  }
  return project;
}

test("the graph view overlays the compared jobs with a legend and their parameter differences", async ({ page }) => {
  await signedIn(page);
  const project = await threeJobs(page, "compare");
  await page.goto(`/u/alice/p/${project}?pview=charts&cmp=1,3`);
  const pane = page.getByRole("region", { name: "Project view" });
  await expect(pane.getByRole("heading", { name: "Comparing 2 jobs" })).toBeVisible();
  await expect(pane.getByRole("list", { name: "Jobs" })).toHaveText(/#1 run-a.*#3 run-c/s);
  const loss = pane.getByRole("figure", { name: "loss" });
  await expect(loss).toContainText("loss · 2 of 2 jobs");
  // One drawn line per job, each in its own colour.
  const strokes = await loss.locator("svg polyline[stroke-width='2']").evaluateAll((lines) =>
    [...new Set(lines.map((l) => l.getAttribute("stroke")))],
  );
  expect(strokes).toHaveLength(2);
  const params = pane.locator("table.compare-params");
  await expect(params.locator("tbody tr")).toHaveCount(1);
  await expect(params.locator("tbody tr").first()).toHaveText(/lr\s*0\.1\s*0\.01/);
  await pane.getByRole("link", { name: "All parameters" }).click();
  await expect(page).toHaveURL(/pall=1/);
  await expect(params.locator("tbody tr")).toHaveCount(2);
  await expect(params).toContainText("adam");
});

test("without a choice the graph view shows the jobs column's first jobs", async ({ page }) => {
  await signedIn(page);
  const project = await threeJobs(page, "top");
  await page.goto(`/u/alice/p/${project}?pview=charts&jsort=name`);
  const pane = page.getByRole("region", { name: "Project view" });
  await expect(pane.getByRole("heading", { name: "The first 3 jobs of the list" })).toBeVisible();
  await expect(pane.getByRole("list", { name: "Jobs" })).toHaveText(/#1 run-a.*#2 run-b.*#3 run-c/s);
  await page.goto(`/u/alice/p/${project}?pview=charts&cmp=2,999`);
  await expect(pane).toContainText("Not in this project: #999.");
});

test("the table view shows chosen columns in the first HTML and sorts by a parameter", async ({ page }) => {
  await signedIn(page);
  const project = await threeJobs(page, "table");
  await page.goto(`/u/alice/p/${project}?pview=table&tcols=p:lr,m:loss,max:acc&tsort=p:lr`);
  const grid = page.getByRole("grid", { name: "Jobs table" });
  const headers = grid.getByRole("columnheader");
  await expect(headers).toHaveText(["", "Name", "lr ▲", "loss", "acc (max)"]);
  const names = grid.locator(".tbody .td.name");
  // 1e-3 < 0.01 < 0.1: numbers by value, not as text.
  await expect(names).toHaveText(["#2 run-b", "#3 run-c", "#1 run-a"]);
  await expect(grid.locator('.trow[data-number="1"] .td').nth(3)).toHaveText("0.25");
  await expect(grid.locator('.trow[data-number="3"] .td').nth(4)).toHaveText("0.7");
  await grid.getByRole("link", { name: "lr ▲" }).click();
  await expect(page).toHaveURL(/tsort=-p%3Alr|tsort=-p:lr/);
  await expect(names).toHaveText(["#1 run-a", "#3 run-c", "#2 run-b"]);
});

test("project views and bad view URLs degrade to something sensible", async ({ page }) => {
  await signedIn(page);
  const project = await threeJobs(page, "garbage");
  await page.goto(`/u/alice/p/${project}?pview=pie&cmp=x,-1&tcols=%00,bogus&tsort=what`);
  await expect(page.getByRole("region", { name: "Project view" })).toHaveCount(0);
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toHaveCount(3);
  await page.goto(`/u/alice/p/${project}?pview=table&tcols=bogus&cmp=x`);
  await expect(page.getByRole("grid", { name: "Jobs table" }).getByRole("columnheader")).toHaveText(["", "Name"]);
});
