// Opens a project's jobs URL in Chromium, fresh each time, and reports when the three columns
// (users, projects, jobs) have their rows in the page and when the first paint with them came.
// Usage: node bench/web.cjs BASE_URL RTT_MS   (MILLRACE_TOKEN and PLAYWRIGHT_MODULE set)
const { launch, median } = require("./browser.cjs");

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const [base, rtt] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${process.env.MILLRACE_TOKEN}` };

// Runs in the page before any of its own scripts: notes the moment all three lists have rows.
const watch = () => {
  const done = () =>
    ["Users", "Projects", "Jobs"].every((name) =>
      document.querySelector(`[role=listbox][aria-label="${name}"] [role=option]`));
  new MutationObserver((_, observer) => {
    if (window.__columns === undefined && done()) {
      window.__columns = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
};

(async () => {
  const browser = await launch();
  const probe = await browser.newContext({ extraHTTPHeaders: headers });
  const answer = await probe.request.post(`${base}/api/list_projects`, {
    data: { owner: "alice", query: { sort: "updated", dir: "desc", filter: { text: null, statuses: [], tag: null, archived: false } }, cursor: null },
  });
  // The busiest of alice's most recently active projects.
  const project = (await answer.json()).items.reduce((a, b) => (b.job_count > a.job_count ? b : a));
  await probe.close();
  const url = `${base}/u/alice/p/${project.name}`;
  const columns = [], paints = [], requests = [];
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext({ extraHTTPHeaders: headers });
    const page = await context.newPage();
    await page.addInitScript(watch);
    let count = 0;
    page.on("request", () => { count += 1; });
    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(() => window.__columns !== undefined);
    columns.push(await page.evaluate(() => window.__columns));
    paints.push(await page.evaluate(() =>
      performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN));
    requests.push(count);
    await context.close();
  }
  await browser.close();
  console.log(`  ${url.replace(base, "")} (${project.job_count.toLocaleString("en")} jobs), RTT ${rtt} ms, ${RUNS} fresh loads:`);
  console.log(`    three columns in the page: median ${median(columns).toFixed(0)} ms (all: ${columns.map((v) => v.toFixed(0)).join(", ")})`);
  console.log(`    first contentful paint: median ${median(paints).toFixed(0)} ms; requests per load: ${median(requests)}`);
})().catch((error) => { console.error(error); process.exit(1); });
