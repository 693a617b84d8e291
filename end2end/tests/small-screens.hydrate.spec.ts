import { test, expect, signedIn, seedProject, openHydrated } from "./fixtures";

/** The size in CSS pixels a chart's axis labels are drawn at: their font size in the SVG scaled
 *  by how much the browser shrinks the SVG to fit. */
async function labelPixels(svg: import("@playwright/test").Locator) {
  return svg.evaluate((el: SVGSVGElement) => {
    const text = el.querySelector("text")!;
    const size = parseFloat(text.getAttribute("font-size") ?? text.closest("g")!.getAttribute("font-size")!);
    return (size * el.getBoundingClientRect().width) / el.width.baseVal.value;
  });
}

test("a metric chart on a phone is drawn at the width it gets, so its labels stay 11 px", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "phone", ["curve"]);
  await page.setViewportSize({ width: 390, height: 844 });
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics&psize=l`);
  const svg = page.getByRole("figure", { name: "loss" }).locator("svg");
  await expect.poll(() => svg.evaluate((el: SVGSVGElement) => el.width.baseVal.value)).toBeLessThan(390);
  expect(await labelPixels(svg)).toBeGreaterThanOrEqual(11);
  // On a wide window the chart widens again, to the size asked for and no further.
  await page.setViewportSize({ width: 1600, height: 1000 });
  await expect.poll(() => svg.evaluate((el: SVGSVGElement) => el.width.baseVal.value)).toBe(720);
  expect(await labelPixels(svg)).toBeGreaterThanOrEqual(11);
});

test("the sweep's objective chart on a phone keeps 11 px labels and the parallel plot scrolls", async ({ page }) => {
  await signedIn(page);
  const list = await page.request.get("/api/v1/projects/alice/hpo-demo/sweeps");
  const [{ id }] = (await list.json()).sweeps;
  await page.setViewportSize({ width: 390, height: 844 });
  await openHydrated(page, `/u/alice/p/hpo-demo?pview=sweeps&sweep=${id}`);
  const objective = page.getByRole("region", { name: "Objective over trials" }).locator("svg");
  await expect.poll(() => labelPixels(objective)).toBeGreaterThanOrEqual(11);
  // The parallel plot has an axis per parameter: it keeps its size and scrolls sideways.
  const parallel = page.getByRole("img", { name: "Parallel coordinates" });
  const scrolls = await parallel.evaluate((el) => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === "auto");
  expect(scrolls).toBe(true);
  expect(await labelPixels(parallel.locator("svg"))).toBeGreaterThanOrEqual(11);
});
