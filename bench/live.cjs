// Event latency from an API write to the DOM: one point at a time is logged to a job whose
// metrics tab is open in Chromium, and the time until the panel shows it is taken.
// Usage: node bench/live.cjs BASE_URL PROJECT   (MILLRACE_TOKEN and PLAYWRIGHT_MODULE set)
const { launch } = require("./browser.cjs");

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const [base, project] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${process.env.MILLRACE_TOKEN}`, "Content-Type": "application/json" };

(async () => {
  const created = await fetch(`${base}/api/v1/projects/${project}/jobs`, {
    method: "POST", headers, body: JSON.stringify({ name: "latency" }),
  });
  const { uid, number } = await created.json();
  const log = (step) => fetch(`${base}/api/v1/jobs/${uid}/metrics`, {
    method: "POST", headers, body: JSON.stringify({ points: [{ key: "loss", step, value: 1 / (step + 1) }] }),
  });
  await log(0);
  const browser = await launch();
  const context = await browser.newContext({ extraHTTPHeaders: { Authorization: headers.Authorization } });
  const page = await context.newPage();
  const [owner, name] = project.split("/");
  await page.goto(`${base}/u/${owner}/p/${name}/j/${number}?tab=metrics`);
  await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
  // Notes the wall-clock time at which each point count first shows in the panel's caption.
  await page.evaluate(() => {
    window.__seen = {};
    new MutationObserver(() => {
      const caption = document.querySelector('figure[aria-label="loss"] figcaption')?.textContent ?? "";
      const count = Number(/· (\d+) points/.exec(caption)?.[1]);
      if (count && window.__seen[count] === undefined) window.__seen[count] = Date.now();
    }).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  await page.waitForTimeout(500);
  const latencies = [];
  for (let step = 1; step <= SAMPLES; step += 1) {
    const sent = Date.now();
    await log(step);
    const count = step + 1;
    await page.waitForFunction((n) => window.__seen[n] !== undefined, count, { timeout: 10_000 });
    latencies.push((await page.evaluate((n) => window.__seen[n], count)) - sent);
    await page.waitForTimeout(20);
  }
  await browser.close();
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))];
  console.log(`  event latency, API write to DOM, ${SAMPLES} points one at a time: median ${at(0.5)} ms, p99 ${at(0.99)} ms (aim: a point within 300 ms)`);
})().catch((error) => { console.error(error); process.exit(1); });
