import { test, expect, openHydrated, signedIn, seedProject } from "./fixtures";

test("chart settings round-trip through the URL, defaults left out", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "settings", ["curve"]);
  await openHydrated(page, `/u/alice/p/${project}/j/1?tab=metrics`);
  await page.getByRole("combobox", { name: "X" }).selectOption("relative");
  await expect(page).toHaveURL(/[?&]x=relative/);
  await page.getByRole("checkbox", { name: "log y" }).check();
  await expect(page).toHaveURL(/[?&]logy=1/);
  expect(page.url()).not.toMatch(/smooth=|psize=|keys=/);
  await page.reload();
  await expect(page.getByRole("combobox", { name: "X" })).toHaveValue("relative");
  await expect(page.getByRole("checkbox", { name: "log y" })).toBeChecked();
  await expect(page.getByRole("figure", { name: "loss" }).locator("svg")).toHaveCount(1);
});
