import { test, expect, api, signedIn, seedProject } from "./fixtures";

// The job pane's Artifacts tab, with and without JavaScript: the tree and every preview are in
// the server's HTML, folders open through links, and the URL names the open file.

// A 2x1 PNG, red then blue.
const png = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAEUlEQVR4nGP4z8DAwMDwn4EBAA3+Af+xJNQ3AAAAAElFTkSuQmCC",
  "base64",
);

const mlmodel = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    python_version: 3.11.7
  sklearn:
    serialization_format: cloudpickle
    sklearn_version: 1.5.0
mlflow_version: 3.17.2
model_id: m-demo
signature:
  inputs: '[{"type": "double", "name": "tenure", "required": true}]'
  outputs: '[{"type": "long", "required": true}]'
`;

function historyCsv(rows: number) {
  const lines = ["step,loss"];
  for (let step = 0; step < rows; step++) lines.push(`${step},${(1 / (step + 1)).toFixed(6)}`);
  return lines.join("\n") + "\n";
}

/** A project whose job 1 has a folder of plots, a big CSV, a model, a report and a config. */
async function jobWithArtifacts(page: import("@playwright/test").Page) {
  const project = await seedProject(page, "files", ["train"]);
  const runs = await page.request.get(`/api/v1/projects/alice/${project}/jobs/1`);
  expect(runs.status(), await runs.text()).toBe(200);
  const { uid } = await runs.json();
  const files: [string, string | Buffer][] = [
    ["plots/loss.png", png],
    ["metrics/history.csv", historyCsv(1500)],
    ["model/MLmodel", mlmodel],
    ["model/requirements.txt", "mlflow==3.17.2\nscikit-learn==1.5.0\n"],
    ["README.md", "# Report\n\nAccuracy went **up**.\n\n<script>document.title='pwned'</script>\n"],
    ["config.json", JSON.stringify({ optimizer: { name: "adam", lr: 0.0003 }, layers: [64, 32] })],
  ];
  for (const [path, data] of files) {
    const put = await api(page).put(`/api/v1/jobs/${uid}/artifacts/${path}`, { data });
    expect(put.status(), `${path}: ${await put.text()}`).toBe(201);
  }
  return { project, uid, base: `/u/alice/p/${project}/j/1` };
}

test("the tree opens folder by folder and an image previews in place", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts`);
  await expect(page.getByRole("tab", { name: "artifacts" })).toHaveAttribute("aria-selected", "true");
  const tree = page.getByRole("navigation", { name: "Artifacts" });
  await expect(tree.locator(".artifact-name")).toHaveText(["▸metrics/", "▸model/", "▸plots/", "config.json", "README.md"]);
  await tree.getByRole("link", { name: "plots/", exact: true }).click();
  await expect(page).toHaveURL(/[?&]file=plots(&|$)/);
  await expect(tree.getByRole("link", { name: "plots/", exact: true })).toHaveAttribute("aria-expanded", "true");
  await tree.getByRole("link", { name: "loss.png", exact: true }).click();
  await expect(page).toHaveURL(/file=plots\/loss\.png/);
  const image = page.getByRole("region", { name: "Preview" }).getByRole("img", { name: "loss.png" });
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(2);
  // The open folder's link closes it again.
  await tree.getByRole("link", { name: "plots/", exact: true }).click();
  await expect(tree.getByRole("link", { name: "loss.png", exact: true })).toHaveCount(0);
});

test("a CSV previews its first thousand rows as a table", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts&file=metrics/history.csv`);
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.locator("thead th")).toHaveText(["step", "loss"]);
  await expect(preview.locator("tbody tr")).toHaveCount(1000);
  await expect(preview.locator("tbody tr").last().locator("td")).toHaveText(["999", "0.001000"]);
  await expect(preview).toContainText("The first 1000 rows");
});

test("an MLmodel file is summed up with its flavors, signature and requirements", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts&file=model/MLmodel`);
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.locator(".facts")).toContainText("m-demo");
  await expect(preview.locator("summary code")).toHaveText(["python_function", "sklearn"]);
  await expect(preview).toContainText("sklearn_version");
  await expect(preview.getByRole("row", { name: "tenure double" })).toBeVisible();
  await expect(preview.locator(".requirements li")).toHaveText(["mlflow==3.17.2", "scikit-learn==1.5.0"]);
});

test("Markdown renders without running its scripts, and JSON folds", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts&file=README.md`);
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.getByRole("heading", { name: "Report" })).toBeVisible();
  await expect(preview.locator(".markdown strong")).toHaveText("up");
  await expect(preview).toContainText("<script>document.title='pwned'</script>");
  expect(await page.title()).not.toBe("pwned");

  await page.goto(`${base}?tab=artifacts&file=config.json`);
  const tree = page.getByRole("region", { name: "Preview" }).locator(".json-tree");
  await expect(tree).toContainText('"adam"');
  const optimizer = tree.locator("details", { hasText: "optimizer" }).first();
  await expect(optimizer).toHaveAttribute("open", "");
  await optimizer.locator("summary").first().click();
  await expect(optimizer.locator(".leaf").first()).toBeHidden();
});

test("files and folders download, a folder as a zip", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts&file=plots/loss.png`);
  const [file] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("region", { name: "Preview" }).getByRole("link", { name: "Download", exact: true }).click(),
  ]);
  expect(file.suggestedFilename()).toBe("loss.png");
  const [zip] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download all (zip)", exact: true }).click()]);
  expect(zip.suggestedFilename()).toBe("train-1.zip");
  const fs = await import("node:fs/promises");
  const bytes = await fs.readFile(await zip.path());
  // A zip starts with a local file header and names every file.
  expect(bytes.subarray(0, 4).toString("hex")).toBe("504b0304");
  for (const name of ["plots/loss.png", "metrics/history.csv", "model/MLmodel", "README.md"]) {
    expect(bytes.includes(Buffer.from(name)), name).toBe(true);
  }
});

test("a path the job does not have says so and shows the tree", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.goto(`${base}?tab=artifacts&file=../../etc/passwd`);
  await expect(page.getByRole("status")).toContainText("This job has no file or folder ../../etc/passwd");
  await expect(page.getByRole("navigation", { name: "Artifacts" }).getByRole("link", { name: "README.md", exact: true })).toBeVisible();
});

test("a job without artifacts says how to keep some", async ({ page }) => {
  await signedIn(page);
  const project = await seedProject(page, "nofiles", ["train"]);
  await page.goto(`/u/alice/p/${project}/j/1?tab=artifacts`);
  await expect(page.getByRole("region", { name: "Job" })).toContainText("No artifacts yet");
});

test("on a phone the tree and the preview stack, with large targets", async ({ page }) => {
  await signedIn(page);
  const { base } = await jobWithArtifacts(page);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}?tab=artifacts&file=plots/loss.png`);
  const tree = page.getByRole("navigation", { name: "Artifacts" });
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.getByRole("img", { name: "loss.png" })).toBeVisible();
  const treeBox = (await tree.boundingBox())!;
  const previewBox = (await preview.boundingBox())!;
  expect(previewBox.y).toBeGreaterThanOrEqual(treeBox.y + treeBox.height - 1);
  const link = (await tree.getByRole("link", { name: "loss.png", exact: true }).boundingBox())!;
  expect(link.height).toBeGreaterThanOrEqual(44);
  expect(previewBox.x + previewBox.width).toBeLessThanOrEqual(390);
});

test("the demo's champion model keeps its files: report, plot, history and model", async ({ page }) => {
  await signedIn(page);
  const alias = await page.request.get("/api/2.0/mlflow/registered-models/alias?name=hpo-demo-model&alias=champion");
  expect(alias.status(), await alias.text()).toBe(200);
  const { model_version } = await alias.json();
  const job = await (await page.request.get(`/api/v1/jobs/${model_version.run_id}`)).json();
  const base = `/u/alice/p/hpo-demo/j/${job.number}?tab=artifacts`;
  await page.goto(`${base}&file=README.md`);
  const preview = page.getByRole("region", { name: "Preview" });
  await expect(preview.getByRole("heading", { name: `hpo-demo-` })).toBeVisible();
  const plot = preview.getByRole("img", { name: "validation loss" });
  await expect.poll(() => plot.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(320);
  await page.goto(`${base}&file=model/MLmodel`);
  await expect(preview.getByRole("row", { name: "lr double" })).toBeVisible();
  await page.goto(`${base}&file=history.csv`);
  await expect(preview.locator("tbody tr")).toHaveCount(10);
});
