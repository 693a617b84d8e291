import { test, expect, signedIn, seedProject, startPipeline, pipelineJob, finishJob } from "./fixtures";

test("a run's graph shows each step's state, why one was skipped, and a step's jobs", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "pipe", []);
  const id = await startPipeline(page, project);
  await finishJob(page, await pipelineJob(page, id, "a"), "succeeded");
  await finishJob(page, await pipelineJob(page, id, "b"), "failed");
  for (const instance of [0, 1]) {
    await finishJob(page, await pipelineJob(page, id, "c", instance), "succeeded");
  }
  await expect(async () => {
    const run = await (await page.request.get(`/api/v1/pipelines/${id}`)).json();
    expect(run.state).toBe("failed");
  }).toPass({ timeout: 10_000 });

  await page.goto(`/u/alice/p/${project}?pview=pipelines`);
  const row = page.getByRole("table", { name: "Pipeline runs" }).locator("[data-test=pipeline-row]");
  await expect(row).toHaveCount(1);
  await expect(row).toContainText("failed");
  await expect(row).toContainText("5 / 5");
  await row.getByRole("link", { name: `diamond · run ${id}` }).click();
  await expect(page).toHaveURL(new RegExp(`pview=pipelines&prun=${id}`));

  const graph = page.getByRole("img", { name: `The steps of run ${id}` });
  const node = (step: string) => graph.locator(`[data-step=${step}] g.node`);
  await expect(node("a")).toHaveClass(/succeeded/);
  await expect(node("b")).toHaveClass(/failed/);
  await expect(node("c")).toHaveClass(/succeeded/);
  await expect(node("c")).toContainText("c ×2");
  await expect(node("d")).toHaveClass(/skipped/);
  await expect(graph.locator(".edges path")).toHaveCount(4);
  // Laid out in layers: a, then b and c side by side in depth, then d.
  const x = async (step: string) => (await node(step).boundingBox())!.x;
  expect(await x("a")).toBeLessThan(await x("b"));
  expect(await x("b")).toBe(await x("c"));
  expect(await x("c")).toBeLessThan(await x("d"));

  // A step's jobs and reason, by the step in the URL (a link anyone can share).
  await page.goto(`/u/alice/p/${project}?pview=pipelines&prun=${id}&pstep=d`);
  const detail = page.getByRole("region", { name: "Step d" });
  await expect(detail).toContainText("it needs `b`, which failed");
  await page.goto(`/u/alice/p/${project}?pview=pipelines&prun=${id}&pstep=c`);
  await expect(page.getByRole("region", { name: "Step c" }).locator("tbody tr")).toHaveCount(2);

  // A click on a node opens its job in the columns, the run and step kept in the URL.
  await page.locator(`[data-step=b] a`).click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}/j/2\\?.*pview=pipelines&prun=${id}&pstep=b`));
  await expect(page.getByRole("region", { name: "Job", exact: true })).toContainText("diamond-b");
});

test("the graph scrolls sideways on a phone and keeps its text readable", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 800 });
  await signedIn(page);
  const project = await seedProject(page, "pipe-phone", []);
  const id = await startPipeline(page, project);
  await page.goto(`/u/alice/p/${project}?pview=pipelines&prun=${id}`);
  const scroller = page.locator(".dag-scroll");
  await expect(scroller.locator("g.node")).toHaveCount(4);
  const { scrollWidth, clientWidth } = await scroller.evaluate((e) => ({ scrollWidth: e.scrollWidth, clientWidth: e.clientWidth }));
  expect(scrollWidth).toBeGreaterThan(clientWidth);
  const size = await scroller.locator(".step-name").first().evaluate((e) => parseFloat(getComputedStyle(e).fontSize));
  expect(size).toBeGreaterThanOrEqual(11);
});

test("a mistyped or foreign run is a message, not an error", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "pipe-none", []);
  await page.goto(`/u/alice/p/${project}?pview=pipelines&prun=999999`);
  await expect(page.getByText("There is no pipeline run 999999 in this project.")).toBeVisible();
});

test("the demo's rerun shows the step it reused from the failed run", async ({ page }) => {
  await signedIn(page);
  const runs = await (await page.request.get("/api/v1/projects/alice/vision-pipeline/pipelines")).json();
  const [rerun, failed] = runs.runs;
  expect([rerun.state, failed.state, rerun.rerun_of]).toEqual(["succeeded", "failed", failed.id]);
  await page.goto(`/u/alice/p/vision-pipeline?pview=pipelines&prun=${rerun.id}`);
  const prep = page.locator("[data-step=prep] g.node");
  await expect(prep).toHaveClass(/cached/);
  await expect(prep).toContainText("reuses job #1");
  await expect(page.locator("[data-test=pipeline-run]")).toContainText(`rerun of run ${failed.id} from train`);
  await page.goto(`/u/alice/p/vision-pipeline?pview=pipelines&prun=${failed.id}`);
  await expect(page.locator("[data-step=train] g.node")).toHaveClass(/failed/);
  await expect(page.locator("[data-step=evaluate] g.node")).toContainText("evaluate ×2");
});
