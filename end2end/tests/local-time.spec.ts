import { test, expect, signedIn, seedProject } from "./fixtures";

// Times read in the viewer's zone once the page runs; the server's HTML (all a browser without
// JavaScript gets) says UTC, and says so.

test.use({ timezoneId: "Asia/Tokyo" });

test("a job's times are in the viewer's zone, and marked UTC without JavaScript", async ({ page, javaScriptEnabled }) => {
  await signedIn(page);
  const project = await seedProject(page, "zoned", ["when"]);
  await page.goto(`/u/alice/p/${project}/j/1`);
  const created = page.getByRole("region", { name: "Job" }).locator("dd time").first();
  await expect(created).toHaveText(javaScriptEnabled ? /^\d{4}-\d\d-\d\d \d\d:\d\d UTC\+9$/ : /^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
  await expect(created).toHaveAttribute("title", /UTC$/);

  // The project table's Created column too.
  await page.goto(`/u/alice/p/${project}?pview=table`);
  const cell = page.getByRole("grid", { name: "Jobs table" }).getByRole("gridcell").locator("time").first();
  await expect(cell).toHaveText(javaScriptEnabled ? / UTC\+9$/ : / UTC$/);
});
