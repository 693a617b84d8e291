// Opens a project's jobs URL (and the same with its table view open, which the first chunk of
// the bundle leaves out) in Chromium with Chromium's own network throttling, cold (empty
// cache) and warm (the same browser again), and reports when the three columns (users,
// projects, jobs) have their rows, when the page is quiet (hydrated, nothing left loading) and
// how many bytes crossed the network (compressed, as sent).
// Usage: node bench/web.cjs BASE_URL   (MILLRACE_TOKEN and PLAYWRIGHT_MODULE set;
//        RTT_MS and DOWN_MBIT choose the throttling, default 250 ms and 20 Mbit/s)
const { launch, median } = require("./browser.cjs");

const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const RTT_MS = Number(process.env.RTT_MS ?? 250);
const DOWN_MBIT = Number(process.env.DOWN_MBIT ?? 20);
const [base] = process.argv.slice(2);
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

/** One load of `url` in `page`: rows, quiet and bytes. */
async function load(page, url) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.emulateNetworkConditions", {
    offline: false,
    latency: RTT_MS,
    downloadThroughput: (DOWN_MBIT * 1e6) / 8,
    uploadThroughput: (5 * 1e6) / 8,
  });
  let bytes = 0;
  cdp.on("Network.loadingFinished", (event) => { bytes += event.encodedDataLength; });
  await page.goto(url, { waitUntil: "load" });
  await page.waitForFunction(() => window.__columns !== undefined);
  await page.locator('main[data-hydrated="true"]').waitFor({ state: "attached" });
  await page.waitForLoadState("networkidle");
  const [rows, quiet] = await page.evaluate(() => {
    const hydrated = performance.getEntriesByName("hydrated")[0]?.startTime ?? 0;
    const lastByte = Math.max(0, ...performance.getEntriesByType("resource").map((r) => r.responseEnd));
    const html = performance.getEntriesByType("navigation")[0].responseEnd;
    return [window.__columns, Math.max(hydrated, lastByte, html)];
  });
  await cdp.detach();
  return { rows, quiet, bytes };
}

(async () => {
  const browser = await launch();
  const probe = await browser.newContext({ extraHTTPHeaders: headers });
  const answer = await probe.request.post(`${base}/api/list_projects`, {
    headers: { Origin: base },
    data: { owner: "alice", query: { sort: "updated", dir: "desc", filter: { text: null, statuses: [], tag: null, archived: false } }, cursor: null },
  });
  // The busiest of alice's most recently active projects.
  const project = (await answer.json()).items.reduce((a, b) => (b.job_count > a.job_count ? b : a));
  await probe.close();
  for (const view of ["", "?pview=table"]) {
    await measure(browser, `${base}/u/alice/p/${project.name}${view}`, project.job_count);
  }
  await browser.close();
})().catch((error) => { console.error(error); process.exit(1); });

/** Cold and warm loads of `url`, `RUNS` times each, printed as medians. */
async function measure(browser, url, jobCount) {
  const cold = [], warm = [];
  for (let i = 0; i < RUNS; i += 1) {
    const context = await browser.newContext({ extraHTTPHeaders: headers });
    await context.addInitScript(watch);
    // Marks hydration: the app sets data-hydrated once its effects run.
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('main[data-hydrated="true"]')) {
          performance.mark("hydrated");
          observer.disconnect();
        }
      }).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-hydrated"] });
    });
    cold.push(await load(await context.newPage(), url));
    warm.push(await load(await context.newPage(), url));
    await context.close();
  }
  const show = (name, loads) => {
    const pick = (key) => median(loads.map((l) => l[key]));
    console.log(
      `    ${name}: rows ${pick("rows").toFixed(0)} ms, quiet ${pick("quiet").toFixed(0)} ms, ` +
        `${(pick("bytes") / 1024).toFixed(0)} KB on the wire (medians of ${loads.length})`,
    );
  };
  console.log(`  ${url.replace(base, "")} (${jobCount.toLocaleString("en")} jobs), Chromium throttled to ${RTT_MS} ms RTT, ${DOWN_MBIT} Mbit/s down:`);
  show("cold", cold);
  show("warm", warm);
}
