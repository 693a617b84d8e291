import { test, expect, openHydrated, signedIn, seedProject, startPipeline, pipelineJob, finishJob } from "./fixtures";

test("an open run's graph follows its steps without a reload", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "live-pipe", []);
  const id = await startPipeline(page, project);
  const a = await pipelineJob(page, id, "a");
  await openHydrated(page, `/u/alice/p/${project}?pview=pipelines&prun=${id}`);
  const node = (step: string) => page.locator(`[data-step=${step}] g.node`);
  await expect(node("a")).toHaveClass(/running/);
  await expect(node("b")).toHaveClass(/waiting/);

  await finishJob(page, a, "succeeded");
  await expect(node("a")).toHaveClass(/succeeded/);
  await expect(node("b")).toHaveClass(/running/);
  await expect(node("c")).toHaveClass(/running/);

  await finishJob(page, await pipelineJob(page, id, "b"), "failed");
  await expect(node("b")).toHaveClass(/failed/);
  await expect(node("d")).toHaveClass(/skipped/);
  await expect(page.locator("[data-test=pipeline-run]")).toHaveAttribute("data-state", "running");
  for (const instance of [0, 1]) {
    await finishJob(page, await pipelineJob(page, id, "c", instance), "succeeded");
  }
  await expect(page.locator("[data-test=pipeline-run]")).toHaveAttribute("data-state", "failed");
});
