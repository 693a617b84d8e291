import { test as base, expect } from "@playwright/test";

/** Problems a page must not have: console errors or warnings, and HTTP responses of 400 or more. */
export const test = base.extend<{ expectedHttpErrors: RegExp[] }>({
  // A test that provokes an error on purpose lists the URLs it expects to fail.
  expectedHttpErrors: [[], { option: true }],
  page: async ({ page, expectedHttpErrors, javaScriptEnabled }, use) => {
    const problems: string[] = [];
    const expected = (url: string) => expectedHttpErrors.some((pattern) => pattern.test(url));
    page.on("console", (message) => {
      const type = message.type();
      const failedExpected = message.text().startsWith("Failed to load resource") && expected(message.location().url);
      // Without JavaScript the preloaded wasm is never used, and Chromium says so.
      const unusedPreload = !javaScriptEnabled && message.text().includes("was preloaded using link preload");
      if ((type === "error" || type === "warning") && !failedExpected && !unusedPreload) {
        problems.push(`console ${type}: ${message.text()}`);
      }
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 400 && !expected(response.url())) {
        problems.push(`HTTP ${response.status()} for ${response.url()}`);
      }
    });
    await use(page);
    expect(problems, "console errors and failed requests").toEqual([]);
  },
});

export { expect };

/** Signs in through the login form, as a person would. */
export async function signIn(page: import("@playwright/test").Page, name: string, password: string) {
  await page.getByLabel("User name").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}
