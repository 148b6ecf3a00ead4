// Unit tests of the Api's composition and caches (frontend/api.js, views/<kind>/api.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import "../../frontend/views/registry.js";
import { Api, ApiError } from "../../frontend/api.js";
import { createApi, viewKinds } from "../../frontend/views/kinds.js";

/** A fetch answering JSON `answers[route]` (a function of the query, or a value); records every URL. */
function fakeFetch(answers) {
  const urls = [];
  const fetch = async (url) => {
    urls.push(url);
    const parsed = new URL(url, "http://host/plugin/internals/");
    const route = parsed.pathname.split("/").pop();
    const answer = typeof answers[route] === "function" ? answers[route](parsed.searchParams) : answers[route];
    if (answer === undefined) return new Response(JSON.stringify({ error: `no ${route}` }), { status: 404 });
    return new Response(JSON.stringify(answer), { status: 200 });
  };
  return { fetch, urls };
}

test("createApi: every registered view's requests are methods of one Api", () => {
  const api = createApi({ fetch: fakeFetch({}).fetch });
  for (const v of viewKinds()) {
    assert.ok(Object.keys(v.api).length > 0, `${v.kind} has requests`);
    for (const name of Object.keys(v.api)) assert.equal(typeof /** @type {any} */ (api)[name], "function", `${v.kind}: Api.${name}`);
  }
});

test("extend: a name taken twice is an error, not an override", () => {
  const api = new Api({ fetch: fakeFetch({}).fetch });
  assert.throws(() => api.extend({ tags() {} }), /defined twice/);
  api.extend({ mine() {} });
  assert.throws(() => api.extend({ mine() {} }), /defined twice/);
});

test("stats: one request per run until forgotten; a failure is retried", async () => {
  let fail = true;
  const { fetch, urls } = fakeFetch({ stats: () => (fail ? undefined : { "activation_stats/x": { steps: [0, 1] } }) });
  const api = /** @type {any} */ (createApi({ fetch }));
  await assert.rejects(api.stats("train"), ApiError);
  fail = false;
  const first = await api.stats("train");
  assert.deepEqual(first["activation_stats/x"].steps, [0, 1]);
  await api.stats("train");
  assert.equal(urls.length, 2);
  api.forgetStats("train");
  await api.stats("train");
  assert.equal(urls.length, 3);
});

test("tagSeries answers are cached per version and readable once arrived", async () => {
  const { fetch, urls } = fakeFetch({ ranges: { steps: [0], min: [0], max: [1] }, weight_change: { steps: [0], relative_change: [null] } });
  const api = /** @type {any} */ (createApi({ fetch }));
  assert.equal(api.rangesIfReady("r", "t", 3), null);
  await api.ranges("r", "t", 3);
  await api.ranges("r", "t", 3);
  assert.deepEqual(api.rangesIfReady("r", "t", 3).max, [1]);
  await api.weightChange("r", "t", 3);
  assert.equal(urls.length, 2);
  assert.ok(urls[1].startsWith("./weight_change?"));
});

test("smallJson: a wrong answer is an ApiError naming the route", async () => {
  const { fetch } = fakeFetch({ class_stats: { confusion: "no" } });
  const api = /** @type {any} */ (createApi({ fetch }));
  await assert.rejects(api.classStats("r", "t", 0), /unexpected answer for \/class_stats/);
});
