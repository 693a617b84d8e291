import { test, expect, openHydrated, signedIn, seedProject } from "./fixtures";

// The "Members…" dialog of a project's context menu: its owner adds and removes members.

// Adding a user who does not exist is refused (400) on purpose.
test.use({ expectedHttpErrors: [/\/api\/set_member/] });

test("the owner adds and removes a member from the project's context menu", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "team", ["first"]);
  await openHydrated(page, "/u/alice");
  const projects = page.getByRole("listbox", { name: "Projects" });
  const openDialog = async () => {
    await projects.locator(`[data-id="${project}"]`).click({ button: "right" });
    await page.getByRole("menuitem", { name: "Members…" }).click();
    return page.getByRole("dialog", { name: `Members of alice/${project}` });
  };

  let dialog = await openDialog();
  const list = dialog.getByRole("list", { name: "Members" });
  await expect(list.getByRole("listitem")).toHaveText([/alice\s*owner/]);
  await dialog.getByRole("textbox", { name: "User name" }).fill("bob");
  await dialog.getByRole("button", { name: "Add member" }).click();
  await expect(list.getByRole("listitem")).toHaveText([/alice\s*owner/, /bob/]);
  await dialog.getByRole("textbox", { name: "User name" }).fill("nobody-at-all");
  await dialog.getByRole("button", { name: "Add member" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("there is no user 'nobody-at-all'");
  await dialog.getByRole("button", { name: "Close" }).click();
  await expect(dialog).toHaveCount(0);

  // Kept on the server: a fresh page shows it, and the member is removed from there.
  await page.reload();
  dialog = await openDialog();
  await expect(list.getByRole("listitem")).toHaveText([/alice\s*owner/, /bob/]);
  await dialog.getByRole("button", { name: "Remove bob" }).click();
  await expect(list.getByRole("listitem")).toHaveText([/alice\s*owner/]);
});
