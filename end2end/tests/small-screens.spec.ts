import { test, expect, signedIn, seedProject } from "./fixtures";

// Chart settings on a phone and on a desktop: these hold with and without JavaScript.

test("on a phone the chart settings fold into one line of chips that opens them", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "chips", ["curve"]);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&smooth=0.6&logy=1`);
  const summary = page.locator(".chart-settings > summary");
  await expect(summary.locator(".chip")).toHaveText(["smoothing 0.6", "x step", "log y", "size m"]);
  // One line: every chip at the same height.
  const tops = await summary.locator(".chip").evaluateAll((chips) => chips.map((c) => c.getBoundingClientRect().top));
  expect(new Set(tops).size).toBe(1);
  const smoothing = page.getByRole("spinbutton", { name: "Smoothing" });
  await expect(smoothing).toBeHidden();
  await summary.click();
  await expect(smoothing).toBeVisible();
  await expect(smoothing).toHaveValue("0.6");
});

test("on a desktop the chart settings are always open and the chips are not shown", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "desk", ["curve"]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics`);
  await expect(page.getByRole("spinbutton", { name: "Smoothing" })).toBeVisible();
  await expect(page.locator(".chart-settings > summary")).toBeHidden();
});
