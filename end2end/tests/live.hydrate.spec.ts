import { test, expect, openHydrated, signedIn, seedProject, api } from "./fixtures";

// Live updates: server-sent events revalidate what the page shows.

async function runningJob(page: import("@playwright/test").Page) {
  const project = await seedProject(page, "live", []);
  const created = await api(page).post(`/api/v1/projects/alice/${project}/jobs`, { data: { name: "watched" } });
  const { uid } = await created.json();
  await logPoints(page, uid, 0, 3);
  return [project, uid] as const;
}

async function logPoints(page: import("@playwright/test").Page, uid: string, from: number, count: number) {
  const points = Array.from({ length: count }, (_, i) => ({ key: "loss", step: from + i, value: 1 / (from + i + 1) }));
  const response = await api(page).post(`/api/v1/jobs/${uid}/metrics`, { data: { points } });
  expect(response.status()).toBe(200);
}

test("points logged through the API appear in the open metrics tab within a second", async ({ page }) => {
  await signedIn(page);
  const [project, uid] = await runningJob(page);
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
  const panel = page.getByRole("figure", { name: "loss" });
  await expect(panel).toContainText("loss · 3 points");
  // Live points are asked for as changes; the panels are not read again.
  const calls: string[] = [];
  page.on("request", (request) => calls.push(new URL(request.url()).pathname));
  const sent = Date.now();
  await logPoints(page, uid, 3, 10);
  await expect(panel).toContainText("loss · 13 points", { timeout: 1000 });
  console.log(`10 points shown ${Date.now() - sent} ms after the API accepted them`);
  expect(calls.filter((c) => c.startsWith("/api/get_panel_changes")).length).toBeGreaterThan(0);
  expect(calls.filter((c) => c.startsWith("/api/get_metric_panels") || c.startsWith("/api/get_panels"))).toEqual([]);
});

test("the open job's Overview shows new metrics and their latest values as they are logged", async ({ page }) => {
  await signedIn(page);
  const [project, uid] = await runningJob(page);
  await openHydrated(page, `/u/alice/p/${project}/j/1`);
  const table = page.locator("table.metrics");
  const loss = table.getByRole("row").filter({ hasText: "loss" });
  await expect(loss).toContainText("3");
  const response = await api(page).post(`/api/v1/jobs/${uid}/metrics`, {
    data: { points: [{ key: "lr", step: 0, value: 0.0003 }, { key: "loss", step: 3, value: 0.125 }] },
  });
  expect(response.status()).toBe(200);
  // A learning rate keeps its meaning: four significant digits, the full value on hover.
  const lr = table.getByRole("row").filter({ hasText: "lr" });
  await expect(lr.getByRole("cell").nth(1)).toHaveText("3.000e-4", { timeout: 2000 });
  await expect(lr.getByRole("cell").nth(1)).toHaveAttribute("title", "0.0003");
  await expect(loss.getByRole("cell").nth(1)).toHaveText("0.125");
  await expect(loss.getByRole("cell").last()).toHaveText("4");
});

test("live points extend a smoothed line exactly as reading it afresh draws it", async ({ page }) => {
  await signedIn(page);
  const [project, uid] = await runningJob(page);
  const url = `/u/alice/p/${project}/j/1?tab=metrics&smooth=0.6`;
  await openHydrated(page, url);
  const panel = page.getByRole("figure", { name: "loss" });
  await expect(panel).toContainText("loss · 3 points");
  for (let from = 3; from < 30; from += 9) {
    await logPoints(page, uid, from, 9);
    await expect(panel).toContainText(`loss · ${from + 9} points`);
  }
  const smoothed = panel.locator("svg polyline[stroke-width='2']");
  const live = await smoothed.getAttribute("points");
  await openHydrated(page, url);
  await expect(panel).toContainText("loss · 30 points");
  expect(await smoothed.getAttribute("points")).toBe(live);
  expect(live!.trim().split(" ")).toHaveLength(30);
});

test.describe("offline", () => {
  // While offline, the revalidation an event starts fails, as it should (the page catches up
  // when the browser is back online).
  test.use({ expectedHttpErrors: [/\/api\//] });

test("after the connection drops, the page catches up with what it missed", async ({ page, context }) => {
  await signedIn(page);
  const [project, uid] = await runningJob(page);
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
  const panel = page.getByRole("figure", { name: "loss" });
  await expect(panel).toContainText("loss · 3 points");
  await context.setOffline(true);
  await logPoints(page, uid, 3, 5);
  await page.waitForTimeout(300);
  await context.setOffline(false);
  await expect(panel).toContainText("loss · 8 points", { timeout: 10_000 });
});
});
