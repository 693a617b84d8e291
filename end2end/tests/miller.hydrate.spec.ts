import { test, expect, openHydrated, signedIn, seedProject } from "./fixtures";

// What needs the hydrated app: clicks that navigate in place, scrolling, keys, menus.

test("clicking through users, projects and jobs changes the URL; reload and back restore it", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "walk", ["first", "second"]);
  await openHydrated(page, "/");

  await page.getByRole("listbox", { name: "Users" }).getByRole("option").filter({ hasText: "Alice Moreau" }).getByRole("link").click();
  await expect(page).toHaveURL(/\/u\/alice$/);
  await page.getByRole("listbox", { name: "Projects" }).locator(`[data-id="${project}"] a`).click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}$`));
  await page.getByRole("listbox", { name: "Jobs" }).getByRole("option").filter({ hasText: "second" }).getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}/j/2$`));
  await expect(page.getByRole("region", { name: "Job" }).getByRole("heading", { name: "second #2" })).toBeVisible();

  await page.reload();
  await expect(page.getByRole("region", { name: "Job" }).getByRole("heading", { name: "second #2" })).toBeVisible();
  await page.goBack();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}$`));
  await expect(page.getByRole("region", { name: "Job" })).toHaveCount(0);
});

test("going back before the app has loaded shows the page gone back to", async ({ page }) => {
  // Back to an entry the app made before a reload stays in the reloaded document: its HTML is
  // the job's, its URL the project's. The app must not hydrate that HTML as the project's page
  // (it once panicked so, whenever back came before the app had loaded).
  await signedIn(page);
  const project = await seedProject(page, "early", ["first", "second"]);
  await openHydrated(page, `/u/alice/p/${project}`);
  await page.getByRole("listbox", { name: "Jobs" }).getByRole("option").filter({ hasText: "second" }).getByRole("link").click();
  await expect(page.getByRole("region", { name: "Job" }).getByRole("heading", { name: "second #2" })).toBeVisible();

  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route("**/pkg/*.wasm", async (route) => {
    await held;
    await route.continue();
  });
  await page.reload({ waitUntil: "domcontentloaded" });
  await page.goBack({ waitUntil: "commit" });
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}$`));
  release();
  await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
  await expect(page.getByRole("region", { name: "Job" })).toHaveCount(0);
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toHaveCount(2);
});

test("a jobs column of 5,000 jobs scrolls to the end with every job exactly once", async ({ page }) => {
  test.setTimeout(240_000);
  await signedIn(page);
  const names = Array.from({ length: 5000 }, (_, i) => `job-${i + 1}`);
  const project = await seedProject(page, "scroll", names, { ordered: false });

  await openHydrated(page, `/u/alice/p/${project}`);
  const list = page.getByRole("listbox", { name: "Jobs" });
  await expect(list.getByRole("option").first()).toBeVisible();
  for (let round = 0; round < 400; round += 1) {
    const count = await list.getByRole("option").count();
    if (count >= 5000) break;
    await list.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await expect.poll(() => list.getByRole("option").count(), { timeout: 10_000 }).toBeGreaterThan(count);
  }
  const ids = await list.getByRole("option").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
  expect(ids.length).toBe(5000);
  const numbers = ids.map(Number).sort((a, b) => a - b);
  expect(numbers).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1));
});

test("sort and filter change the URL, and the default leaves it", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "menus", ["b-two", "a-one", "c-three"]);
  await openHydrated(page, `/u/alice/p/${project}`);
  const jobs = page.getByRole("listbox", { name: "Jobs" });

  await page.getByRole("combobox", { name: "Sort jobs" }).selectOption({ label: "Name A–Z" });
  await expect(page).toHaveURL(/jsort=name/);
  await expect(jobs.getByRole("option")).toHaveText([/a-one/, /b-two/, /c-three/]);
  await page.getByRole("combobox", { name: "Sort jobs" }).selectOption({ label: "Newest" });
  await expect(page).not.toHaveURL(/jsort/);

  await page.getByRole("searchbox", { name: "Filter jobs" }).fill("two");
  await expect(page).toHaveURL(/jq=two/);
  await expect(jobs.getByRole("option")).toHaveText([/b-two/]);
  await page.getByRole("searchbox", { name: "Filter jobs" }).press("Escape");
  await expect(page).not.toHaveURL(/jq=/);
  await expect(jobs.getByRole("option")).toHaveCount(3);

  await page.getByRole("link", { name: "failed" }).click();
  await expect(page).toHaveURL(/jstatus=failed/);
  await expect(jobs.getByRole("option")).toHaveCount(0);
  await page.getByRole("link", { name: "failed" }).click();
  await expect(page).not.toHaveURL(/jstatus/);
});

test("the keyboard walks to a job and back, selects three jobs and tags them", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "keys", ["k1", "k2", "k3", "k4"]);
  await openHydrated(page, "/");

  // Users are sorted by name, so alice is the first row.
  await page.getByRole("listbox", { name: "Users" }).getByRole("option").first().focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/u\/alice$/);
  await page.keyboard.press("ArrowRight");
  // The project made last is the most recently active, so it comes first.
  const projectRow = page.getByRole("listbox", { name: "Projects" }).locator(`[data-id="${project}"]`);
  await expect(projectRow).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}$`));
  await page.keyboard.press("ArrowRight");
  const jobs = page.getByRole("listbox", { name: "Jobs" });
  await expect(jobs.getByRole("option").first()).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(new RegExp(`/j/3$`));
  await expect(page.getByRole("button", { name: "Show Users" })).toBeVisible();
  // Back left: the folded columns open as focus reaches them.
  await page.keyboard.press("ArrowLeft");
  await expect(projectRow).toBeFocused();
  await page.keyboard.press("ArrowLeft");
  await expect(page.getByRole("listbox", { name: "Users" }).locator('[data-id="alice"]')).toBeFocused();

  await jobs.getByRole("option").first().focus();
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Shift+ArrowDown");
  await expect(jobs.locator('[aria-selected="true"]')).toHaveCount(3);
  page.once("dialog", (dialog) => dialog.accept("reviewed"));
  // Wait for the write itself: leaving the page at once would cancel it (seen on PostgreSQL).
  const tagged = page.waitForResponse((r) => r.url().includes("/api/tag_jobs") && r.ok());
  await page.getByRole("toolbar", { name: "Selection" }).getByRole("button", { name: "Tag" }).click();
  await tagged;

  for (const number of [4, 3, 2]) {
    await openHydrated(page, `/u/alice/p/${project}/j/${number}`);
    await expect(page.getByRole("region", { name: "Job" }).getByRole("listitem")).toHaveText(["reviewed"]);
    await expect(page.getByRole("region", { name: "Job" }).getByRole("heading", { name: `k${number} #${number}` })).toBeVisible();
  }
  await openHydrated(page, `/u/alice/p/${project}/j/1`);
  await expect(page.getByRole("region", { name: "Job" }).getByText("No tags.")).toBeVisible();

  await page.keyboard.press("?");
  await expect(page.getByRole("dialog", { name: "Keyboard shortcuts" })).toBeVisible();
});

test("right-click opens a row's context menu", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "menu", ["one"]);
  await openHydrated(page, `/u/alice/p/${project}`);
  await page.getByRole("listbox", { name: "Jobs" }).getByRole("option").first().click({ button: "right" });
  const menu = page.getByRole("menu", { name: "Actions for one" });
  await expect(menu.getByRole("menuitem")).toHaveText(["Open in new tab", "Copy link", "Copy ID", "Rename…", "Tag…", "Archive", "Stop", "Rerun"]);
  page.once("dialog", (dialog) => dialog.accept("renamed"));
  await menu.getByRole("menuitem", { name: "Rename…" }).click();
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toContainText(["renamed"]);
});

test("a phone shows one level at a time with a way back and no sideways scrolling", async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signedIn(page);
  const project = await seedProject(page, "phone", ["tiny"]);
  await openHydrated(page, `/u/alice/p/${project}`);

  await expect(page.getByRole("listbox", { name: "Jobs" })).toBeVisible();
  await expect(page.getByRole("listbox", { name: "Projects" })).toBeHidden();
  await expect(page.getByRole("listbox", { name: "Users" })).toBeHidden();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  const back = page.getByRole("link", { name: "‹ Back" });
  const box = await back.boundingBox();
  expect(box!.height).toBeGreaterThanOrEqual(44);
  await back.click();
  await expect(page).toHaveURL(/\/u\/alice$/);
  await expect(page.getByRole("listbox", { name: "Projects" })).toBeVisible();
  await expect(page.getByRole("listbox", { name: "Jobs" })).toHaveCount(0);

  await openHydrated(page, `/u/alice/p/${project}/j/1`);
  await expect(page.getByRole("region", { name: "Job" })).toBeVisible();
  await expect(page.getByRole("listbox", { name: "Jobs" })).toBeHidden();
});

test("every route hydrates without console errors", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "routes", ["r1"]);
  for (const path of ["/", "/u/alice", `/u/alice/p/${project}`, `/u/alice/p/${project}/j/1`,
    `/u/alice/p/${project}/j/1?tab=metrics`, `/u/alice/p/${project}/j/1?tab=logs`, `/u/alice/p/${project}/j/1?tab=config`]) {
    await openHydrated(page, path);
    await expect(page.getByRole("listbox", { name: "Users", includeHidden: true })).toBeAttached();
    // Hydration finished when a click navigates in place (the router took over the links).
    await page.waitForLoadState("networkidle");
  }
});

test("a dragged column width is kept in local storage and applied after hydration", async ({ page }) => {
  await signedIn(page);
  await openHydrated(page, "/u/alice");
  const users = page.locator('.level[data-index="0"]');
  const before = (await users.boundingBox())!;
  const handle = page.getByRole("separator", { name: "Resize Users" });
  const edge = (await handle.boundingBox())!;
  await page.mouse.move(edge.x + edge.width / 2, edge.y + 200);
  await page.mouse.down();
  await page.mouse.move(edge.x + edge.width / 2 + 60, edge.y + 200, { steps: 5 });
  await page.mouse.move(edge.x + edge.width / 2 + 120, edge.y + 200, { steps: 5 });
  await page.mouse.up();
  await expect.poll(async () => (await users.boundingBox())!.width).toBeGreaterThan(before.width + 100);
  const dragged = (await users.boundingBox())!.width;

  // The server's HTML has no width in it (the first frame matches); the stored one follows hydration.
  const html = await (await page.request.get("/u/alice")).text();
  expect(html).not.toMatch(/<section[^>]*style=/);
  await openHydrated(page, "/u/alice");
  await expect.poll(async () => (await users.boundingBox())!.width).toBeCloseTo(dragged, 0);

  await handle.focus();
  await page.keyboard.press("ArrowLeft");
  await expect.poll(async () => (await users.boundingBox())!.width).toBeCloseTo(dragged - 20, 0);
});

test("a project is renamed and archived from its context menu; the open URL follows the rename", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "proj", ["one"]);
  await openHydrated(page, `/u/alice/p/${project}`);
  const projects = page.getByRole("listbox", { name: "Projects" });

  await projects.locator(`[data-id="${project}"]`).click({ button: "right" });
  page.once("dialog", (dialog) => dialog.accept(`${project}-renamed`));
  await page.getByRole("menu").getByRole("menuitem", { name: "Rename…" }).click();
  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${project}-renamed$`));
  await expect(projects.locator(`[data-id="${project}-renamed"]`)).toHaveAttribute("aria-current", "true");
  await expect(page.getByRole("listbox", { name: "Jobs" }).getByRole("option")).toHaveText([/one/]);

  await projects.locator(`[data-id="${project}-renamed"]`).click({ button: "right" });
  await page.getByRole("menu").getByRole("menuitem", { name: "Archive" }).click();
  await expect(projects.locator(`[data-id="${project}-renamed"]`)).toHaveCount(0);
  await openHydrated(page, `/u/alice?parchived=1`);
  await expect(projects.locator(`[data-id="${project}-renamed"]`)).toHaveCount(1);
});
