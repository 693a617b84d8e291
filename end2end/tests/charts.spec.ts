import { test, expect, signedIn, seedProject, api } from "./fixtures";

// Metric charts, server-rendered: these hold with and without JavaScript.

test("the metrics tab holds each metric's chart as SVG in its first HTML", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "chart", ["curve"]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics`);
  const panel = page.getByRole("figure", { name: "loss" });
  await expect(panel).toContainText("loss · 3 points");
  // The line: a polyline with one vertex per point.
  const line = panel.locator("svg polyline[stroke-width='2']");
  await expect(line).toHaveCount(1);
  expect((await line.getAttribute("points"))!.trim().split(" ")).toHaveLength(3);
  await expect(page.getByText("1 metric keys")).toBeVisible();
});

test("odd chart settings in the URL are clamped or explained, never a blank page", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "odd", ["curve"]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&smooth=1.5&psize=huge&x=sideways&ymin=nan`);
  await expect(page.getByRole("spinbutton", { name: "Smoothing" })).toHaveValue("0.99");
  await expect(page.getByRole("figure", { name: "loss" }).locator("svg")).toHaveCount(1);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&keys=${"<b>nope</b>"}`);
  await expect(page.getByText("No metric key matches “<b>nope</b>”.")).toBeVisible();
});

test("the key filter is a regular expression; one that is not is matched as text and said so", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "regex", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "keys" } });
  const { uid } = await created.json();
  const points = ["train/loss", "val/loss", "val/acc", "lr"].map((key) => ({ key, step: 0, value: 1 }));
  expect((await api(page).post(`/api/v1/jobs/${uid}/metrics`, { data: { points } })).status()).toBe(200);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&keys=${encodeURIComponent("^val/")}`);
  await expect(page.getByText("2 of 4 metric keys")).toBeVisible();
  await expect(page.locator(".panel")).toHaveText([/^val\/acc/, /^val\/loss/]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&keys=${encodeURIComponent("acc|^LR$")}`);
  await expect(page.locator(".panel")).toHaveText([/^lr/, /^val\/acc/]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=metrics&keys=${encodeURIComponent("loss(")}`);
  await expect(page.getByRole("note")).toContainText("Not a regular expression");
  await expect(page.getByText("No metric key matches “loss(”.")).toBeVisible();
});
