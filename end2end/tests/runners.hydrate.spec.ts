import { execFileSync } from "node:child_process";
import { homedir } from "node:os";
import { join } from "node:path";
import { test, expect, signedIn } from "./fixtures";

const bin = process.env.MILLRACE_BIN ?? join(homedir(), ".cache/millrace-target/debug/millrace");

test("the runners page shows a runner that registers while it is open, without a reload", async ({ page }) => {
  // A runner token, made as an operator would, on the store the server uses.
  const token = execFileSync(bin, ["runner-token", "create", "--name", "e2e", "--database", process.env.MILLRACE_E2E_DATABASE!])
    .toString()
    .trim()
    .split("\n")
    .pop()!;
  await signedIn(page);
  await page.goto("/runners");
  await page.locator("main.runners-page").waitFor();
  const name = `gpu-box-${Date.now().toString(36)}`;
  await expect(page.getByRole("cell", { name, exact: true })).toHaveCount(0);
  const registered = await page.request.post("/api/v1/runner/register", {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      name, hostname: "lab-7", gpus: ["0", "1"], labels: ["a100"], max_jobs: 2,
      // As `millrace runner --gpus auto` reports what nvidia-smi said.
      gpu_models: ["0", "1"].map((id) => ({ id, name: "NVIDIA A100-SXM4-80GB", memory_mib: 81920, uuid: `GPU-${id}` })),
    },
  });
  expect(registered.status(), await registered.text()).toBe(200);
  const row = page.getByRole("row", { name: new RegExp(name) });
  await expect(row).toBeVisible({ timeout: 12_000 });
  await expect(row).toContainText("0 of 2 (0, 1)");
  await expect(row).toContainText("2 × NVIDIA A100-SXM4-80GB (80 GiB)");
  await expect(row).toContainText("a100");
  await expect(page.getByText("millrace runner-token create")).toBeVisible();
});
