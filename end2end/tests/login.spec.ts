import { test, expect, signIn } from "./fixtures";

test("signing in shows the users of the instance", async ({ page }) => {
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=\//);
  await signIn(page, "alice", "millrace-demo");

  await expect(page).toHaveURL(/\/$/);
  const users = page.getByRole("listbox", { name: "Users" });
  await expect(users.getByRole("option")).toHaveCount(12);
  await expect(users.getByRole("option").filter({ hasText: "Bob Okafor" })).toHaveCount(1);
  await expect(page.getByRole("banner").getByText("Alice Moreau")).toBeVisible();
});

test.describe("a wrong password", () => {
  test.use({ expectedHttpErrors: [/\/api\/login/] });

  test("is refused with a message and no session", async ({ page, context }) => {
    await page.goto("/login");
    await signIn(page, "alice", "not-the-password");
    await expect(page.getByRole("alert")).toHaveText("wrong user name or password");
    const cookies = await context.cookies();
    expect(cookies.filter((c) => c.name === "millrace_session")).toEqual([]);
  });
});

test("signing out ends the session", async ({ page }) => {
  await page.goto("/login");
  await signIn(page, "bob", "millrace-demo");
  await expect(page.getByRole("listbox", { name: "Users" })).toBeVisible();
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/login\?next=\//);
});
