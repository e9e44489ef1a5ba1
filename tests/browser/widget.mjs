// The survey widget in a real browser: a page on one origin embeds /widget.js from the
// parcours server on another; a person answers; the answers are read back through the
// query API. Usage: node widget.mjs PARCOURS_URL WRITE_KEY READ_KEY
// Needs the surveys `nps-web` and `why-web` defined (run.sh does it).
import http from "node:http";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [parcours, write, read] = process.argv.slice(2);
const out = new URL("./out/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });

// The customer's own site: pages that embed the widget, on another origin.
const pages = {
  "/known": `<script src="${parcours}/widget.js" async data-write-key="${write}"
      data-survey="nps-web" data-user-id="browser-1"></script>`,
  "/anonymous": `<script src="${parcours}/widget.js" data-write-key="${write}"
      data-survey="why-web" data-trigger="manual"></script>`,
  "/missing": `<script src="${parcours}/widget.js" data-write-key="${write}"
      data-survey="no-such-survey"></script>`,
};
const site = http.createServer((req, res) => {
  if (req.url === "/favicon.ico") return res.writeHead(204).end();
  const body = pages[req.url];
  res.writeHead(body ? 200 : 404, { "content-type": "text/html; charset=utf-8" });
  res.end(`<!doctype html><html><head><title>Maison Lumière</title>
    <style>button{all:unset}</style></head>
    <body><h1>Checkout done</h1>${body ?? ""}</body></html>`);
});
await new Promise((ok) => site.listen(0, "127.0.0.1", ok));
const origin = `http://127.0.0.1:${site.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const failures = [];
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  // 1. A known person answers the NPS; the follow-up appears for a low score only.
  await page.goto(`${origin}/known`);
  const card = page.getByRole("dialog", { name: "How likely are you to recommend us?" });
  await card.waitFor({ timeout: 10_000 });
  assert.equal(await card.getByRole("button", { name: /^\d+$/ }).count(), 11, "0 to 10");
  const followUp = card.getByLabel("What should we improve?");
  await card.getByRole("button", { name: "9", exact: true }).click();
  assert.equal(await followUp.isVisible(), false, "no follow-up for a 9");
  await card.getByRole("button", { name: "3", exact: true }).click();
  await followUp.waitFor({ state: "visible" });
  await followUp.fill("Le paiement a échoué deux fois");
  await page.screenshot({ path: `${out}widget.png` });
  await card.getByRole("button", { name: "Send" }).click();
  await card.getByText("Thank you!").waitFor({ timeout: 10_000 });
  // Answered: not asked again on the next page.
  await page.reload();
  await page.waitForTimeout(1500);
  assert.equal(await page.locator("[data-parcours-survey]").count(), 0, "asked again");

  // 2. An anonymous visitor (another browser), a survey shown by the page itself; an empty
  // answer is refused.
  const visitor = await (await browser.newContext()).newPage();
  visitor.on("pageerror", (e) => errors.push(e.message));
  await visitor.goto(`${origin}/anonymous`);
  await visitor.waitForTimeout(500);
  assert.equal(await visitor.locator("[data-parcours-survey]").count(), 0, "manual trigger");
  await visitor.evaluate(() => window.parcoursSurvey.show("why-web"));
  const open = visitor.getByRole("dialog", { name: "What almost stopped you from ordering?" });
  await open.waitFor({ timeout: 10_000 });
  await open.getByRole("button", { name: "Send" }).click();
  await open.getByRole("alert").getByText("Please write an answer.").waitFor();
  await open.getByLabel("answer").fill("The delivery fees, shown too late");
  await open.getByRole("button", { name: "Send" }).click();
  await open.getByText("Thank you!").waitFor({ timeout: 10_000 });
  const anonymousId = await visitor.evaluate(() => localStorage.getItem("parcours_anonymous_id"));
  assert.ok(anonymousId, "the visitor keeps an anonymousId");

  // 3. An unknown survey shows nothing, and says why in the console.
  assert.deepEqual(errors, [], "no script errors");
  await page.goto(`${origin}/missing`);
  await page.waitForTimeout(1500);
  assert.equal(await page.locator("[data-parcours-survey]").count(), 0);
  assert.ok(errors.some((e) => e.includes("no-such-survey")), `console: ${errors}`);
  errors.length = 0;

  // What parcours recorded.
  const api = async (path) => {
    const r = await fetch(`${parcours}${path}`, { headers: { authorization: `Bearer ${read}` } });
    assert.equal(r.status, 200, path);
    return r.json();
  };
  // The first browser's person: the NPS answer (with the page it was given on), and the
  // missing survey's page sent nothing.
  const known = await api("/api/v1/persons/browser-1/timeline");
  assert.equal(known.events.length, 1, JSON.stringify(known));
  const p = known.events[0].properties;
  assert.equal(p.survey, "nps-web");
  assert.equal(p.score, 3);
  assert.equal(p.comment, "Le paiement a échoué deux fois");
  assert.equal(p.touchpoint_surveyed, "web /checkout/done");
  assert.equal(p.stage, "purchase");
  const anon = await api(`/api/v1/persons/${encodeURIComponent(anonymousId)}/timeline`);
  assert.equal(anon.events.length, 1, JSON.stringify(anon));
  assert.equal(anon.events[0].properties.comment, "The delivery fees, shown too late");
  const scores = await api("/api/v1/surveys/scores");
  const nps = scores.surveys.find((s) => s.survey === "nps-web");
  assert.equal(nps.overall.responses, 1, JSON.stringify(scores));
  assert.equal(nps.overall.score, -100, "one detractor");
  assert.deepEqual(errors, [], "no script errors");
} catch (e) {
  failures.push(e);
} finally {
  await browser.close();
  site.close();
}
if (failures.length) {
  console.error(failures[0]);
  process.exit(1);
}
console.log("widget: 2 answers sent from Chromium and read back; screenshot in tests/browser/out/widget.png");
