import { test, expect, signedIn, seedProject } from "./fixtures";

// These run hydrated and without JavaScript: the server's HTML must hold every column.

test("a job URL arrives with the rows of every column and the job", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "deep", ["alpha-run", "beta-run", "gamma-run"]);

  await page.goto(`/u/alice/p/${project}/j/1`);
  // Folded columns keep their rows in the page (hidden behind their spines).
  await expect(page.locator('[role=listbox][aria-label="Users"] [role=option]')).toHaveCount(12);
  await expect(page.locator('[role=listbox][aria-label="Projects"] [role=option]').first()).toBeAttached();
  await expect(page.locator(`[role=listbox][aria-label="Projects"] [role=option][data-id="${project}"]`)).toHaveAttribute("aria-current", "true");
  const jobs = page.getByRole("listbox", { name: "Jobs" });
  await expect(jobs.getByRole("option")).toHaveText([/gamma-run/, /beta-run/, /alpha-run/]);
  const job = page.getByRole("region", { name: "Job" });
  await expect(job.getByRole("heading", { name: "alpha-run #1" })).toBeVisible();
  await expect(job.getByRole("cell", { name: "loss" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Show Users" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Show Projects" })).toBeVisible();

  await page.goto(`/u/alice/p/${project}/j/1?tab=config`);
  await expect(job.getByRole("row", { name: "lr 0.01" })).toBeVisible();
  await expect(job.getByRole("tab", { name: "config" })).toHaveAttribute("aria-selected", "true");
});

test("a bookmarked sort and filter render sorted and filtered; garbage is ignored", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "sorted", ["b-two", "a-one", "c-three"]);
  const jobs = page.getByRole("listbox", { name: "Jobs" });

  await page.goto(`/u/alice/p/${project}?jsort=name`);
  await expect(jobs.getByRole("option")).toHaveText([/a-one/, /b-two/, /c-three/]);
  await expect(page.getByRole("combobox", { name: "Sort jobs" })).toHaveValue("name");

  await page.goto(`/u/alice/p/${project}?jq=THREE`);
  await expect(jobs.getByRole("option")).toHaveText([/c-three/]);
  await expect(page.getByRole("searchbox", { name: "Filter jobs" })).toHaveValue("THREE");

  const response = await page.goto(`/u/alice/p/${project}?jsort=%3Cscript%3E&jstatus=nope&usort=-&tab=%00`);
  expect(response?.status()).toBe(200);
  await expect(jobs.getByRole("option")).toHaveText([/c-three/, /a-one/, /b-two/]);
});

test("Enter in a filter applies it, keeping the other columns' state, with or without JavaScript", async ({ page, javaScriptEnabled }) => {
  await signedIn(page);
  const project = await seedProject(page, "enter", ["b-two", "a-one", "c-three"]);
  await page.goto(`/u/alice/p/${project}?jsort=name&pq=${project}`);
  // Hydration sets the filter box from the URL: text typed before it lands is replaced.
  if (javaScriptEnabled) await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
  await page.getByRole("searchbox", { name: "Filter jobs" }).fill("t");
  await page.getByRole("searchbox", { name: "Filter jobs" }).press("Enter");
  await expect(page).toHaveURL(/jq=t(&|$)/);
  await expect(page).toHaveURL(/jsort=name/);
  await expect(page).toHaveURL(new RegExp(`pq=${project}`));
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toHaveText([/b-two/, /c-three/]);
});

test("names with markup, quotes and right-to-left text render as text", async ({ page }) => {
  await signedIn(page);
  const name = `<b>bold</b> "quoted" \u05e9\u05dc\u05d5\u05dd`;
  const project = await seedProject(page, "names", [name]);
  await page.goto(`/u/alice/p/${project}/j/1`);
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toContainText(name);
  await expect(page.locator("b", { hasText: "bold" })).toHaveCount(0);
});

test.describe("addresses that lead nowhere", () => {
  test.use({ expectedHttpErrors: [/\/u\/(nobody|alice\/p\/)/] });

  test("answer 404 with a way back", async ({ page }) => {
    await signedIn(page);
    const project = await seedProject(page, "known", ["only"]);
    for (const path of ["/u/nobody", "/u/alice/p/no-such-project", `/u/alice/p/${project}/j/99`, `/u/alice/p/${project}/j/xyz`]) {
      const response = await page.goto(path);
      expect(response?.status(), path).toBe(404);
      await expect(page.getByRole("heading", { name: "Not found" })).toBeVisible();
    }
    await page.getByRole("link", { name: "Back to the start" }).click();
    await expect(page).toHaveURL(/\/$/);
  });
});
