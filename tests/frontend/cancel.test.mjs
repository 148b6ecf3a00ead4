// Unit tests of the one cancellation helper (frontend/cancel.js), under node.
import test from "node:test";
import assert from "node:assert/strict";
import { Generation } from "../../frontend/cancel.js";

test("a newer begin() supersedes the earlier ticket and aborts its signal", () => {
  const gen = new Generation();
  const first = gen.begin();
  assert.equal(first.live, true);
  assert.equal(first.signal.aborted, false);
  const second = gen.begin();
  assert.equal(first.live, false);
  assert.equal(first.signal.aborted, true);
  assert.equal(second.live, true);
  assert.equal(gen.current, second);
});

test("cancel() ends the current ticket without starting new work", () => {
  const gen = new Generation();
  assert.equal(gen.current, null);
  const t = gen.begin();
  gen.cancel();
  assert.equal(t.live, false);
  assert.equal(t.signal.aborted, true);
  assert.equal(gen.current, null);
  assert.equal(gen.begin().live, true);
});

test("generations are independent", () => {
  const a = new Generation();
  const b = new Generation();
  const ta = a.begin();
  b.begin();
  b.cancel();
  assert.equal(ta.live, true);
});
