import { test, expect, signedIn } from "./fixtures";

// A new user's first step: making a project from their own projects column, with and without
// JavaScript, and being told plainly when the name is wrong or taken.

test("a project made from your own projects column opens, ready for jobs", async ({ page }) => {
  await signedIn(page);
  await page.goto("/u/alice");
  const projects = page.locator("section.column").nth(1);
  await projects.getByRole("link", { name: "+ New project" }).click();
  await expect(page).toHaveURL(/\/projects\/new$/);

  const name = `made-${Date.now().toString(36)}`;
  const form = page.getByRole("form", { name: "New project" });
  await form.getByLabel("Name").fill(name);
  await form.getByLabel("Description").fill("chest x-rays, second try");
  await form.getByLabel(/Private/).check();
  await form.getByRole("button", { name: "Create project" }).click();

  await expect(page).toHaveURL(new RegExp(`/u/alice/p/${name}$`));
  await expect(page.getByRole("listbox", { name: "Projects" }).getByRole("option", { name: new RegExp(name) })).toHaveCount(1);
  const shown = await page.request.get(`/api/v1/projects/alice/${name}`);
  expect(shown.status()).toBe(200);
  expect(await shown.json()).toMatchObject({ name, private: true, description: "chest x-rays, second try" });
});

test("someone else's projects column offers no new project", async ({ page }) => {
  await signedIn(page);
  await page.goto("/u/bob");
  await expect(page.getByRole("listbox", { name: "Projects" }).getByRole("option").first()).toBeVisible();
  await expect(page.getByRole("link", { name: "+ New project" })).toHaveCount(0);
});

test.describe("a taken name", () => {
  test.use({ expectedHttpErrors: [/\/api\/create_project/] });

  test("is refused with the reason, and nothing changes", async ({ page }) => {
    await signedIn(page);
    const name = `twice-${Date.now().toString(36)}`;
    for (const expectOk of [true, false]) {
      await page.goto("/projects/new");
      const form = page.getByRole("form", { name: "New project" });
      await form.getByLabel("Name").fill(name);
      await form.getByRole("button", { name: "Create project" }).click();
      if (expectOk) {
        await expect(page).toHaveURL(new RegExp(`/u/alice/p/${name}$`));
      } else {
        await expect(page.getByRole("alert")).toContainText(`you already have a project called ${name}`);
      }
    }
  });
});
