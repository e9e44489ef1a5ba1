/* parcours survey widget — served by parcours at /widget.js. Guide: docs/voice.md
 * ("The web widget"). Put it on a page of yours:
 *
 *   <script src="https://parcours.example.com/widget.js" async
 *           data-write-key="WRITE_KEY" data-survey="nps" data-user-id="u-123"></script>
 *
 * It reads the survey's definition (GET /v1/surveys/{id}, with the write key), asks it
 * in a small card at the bottom right of the page, and sends the answer as a
 * `Survey Responded` track event (POST /v1/track, with the write key). Options, as
 * data- attributes of the script tag:
 *   data-write-key    the workspace's write key (required)
 *   data-survey       the survey's id (required)
 *   data-user-id      the person's userId, when the page knows it
 *   data-anonymous-id the anonymousId to answer as; else analytics.js's, else one kept
 *                     in localStorage
 *   data-host         where parcours is (default: where this script came from)
 *   data-delay        milliseconds before the card shows (default 0)
 *   data-trigger      "manual": show it only when the page calls
 *                     window.parcoursSurvey.show("SURVEY_ID")
 * A browser that has answered a survey is not asked it again; one that closed the card
 * is not asked again during the browsing session.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var key = data.writeKey;
  var surveyId = data.survey;
  if (!key || !surveyId) {
    if (window.console) console.error("parcours widget: data-write-key and data-survey are required");
    return;
  }
  var host = (data.host || new URL(script.src, location.href).origin).replace(/\/+$/, "");
  var auth = "Basic " + btoa(key + ":");
  var doneKey = "parcours_survey_" + surveyId;

  function stored(area, name) {
    try { return window[area].getItem(name); } catch (e) { return null; }
  }
  function store(area, name, value) {
    try { window[area].setItem(name, value); } catch (e) { /* private mode */ }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  // The anonymousId: the page's own, else analytics.js's (so the answer joins the
  // browsing it follows), else one of ours, kept.
  function anonymousId() {
    if (data.anonymousId) return data.anonymousId;
    var ajs = stored("localStorage", "ajs_anonymous_id");
    if (ajs) {
      try { return JSON.parse(ajs); } catch (e) { return ajs; }
    }
    var own = stored("localStorage", "parcours_anonymous_id");
    if (!own) {
      own = uuid();
      store("localStorage", "parcours_anonymous_id", own);
    }
    return own;
  }

  var STYLE =
    ":host{all:initial}" +
    ".card{position:fixed;right:1rem;bottom:1rem;z-index:2147483647;box-sizing:border-box;width:min(26rem,calc(100vw - 2rem));" +
    "background:#fff;color:#222;font:15px/1.4 system-ui,sans-serif;border:1px solid #ccc;border-radius:.5rem;" +
    "box-shadow:0 4px 18px rgba(0,0,0,.18);padding:1rem 1rem .8rem}" +
    "h2{font-size:1rem;font-weight:600;margin:0 1.5rem .7rem 0}" +
    ".close{position:absolute;top:.4rem;right:.5rem;border:0;background:none;font-size:1.3rem;cursor:pointer;color:#666}" +
    ".scale{display:flex;gap:.2rem}" +
    ".scale button{flex:1 1 0;min-width:0;padding:.4rem 0;border:1px solid #999;border-radius:.3rem;background:#fff;cursor:pointer;font:inherit}" +
    ".scale button[aria-pressed=true]{background:#234;color:#fff;border-color:#234}" +
    ".ends{display:flex;justify-content:space-between;font-size:.8rem;color:#555;margin-top:.25rem}" +
    "textarea,input{box-sizing:border-box;width:100%;font:inherit;margin-top:.6rem}textarea{min-height:4.5rem}" +
    "label{display:block;margin-top:.7rem}" +
    ".send{margin-top:.7rem;padding:.45rem 1.2rem;font:inherit;cursor:pointer}" +
    ".error{color:#a00;margin:.5rem 0 0}";

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text != null) e.textContent = text;
    return e;
  }

  function render(def) {
    var holder = el("div", { "data-parcours-survey": def.id });
    var root = holder.attachShadow ? holder.attachShadow({ mode: "open" }) : holder;
    root.appendChild(el("style", {}, STYLE));
    var card = el("div", { class: "card", role: "dialog", "aria-label": def.question });
    root.appendChild(card);
    var close = el("button", { class: "close", type: "button", "aria-label": "Close" }, "\u00d7");
    close.onclick = function () {
      store("sessionStorage", doneKey, "closed");
      holder.remove();
    };
    card.appendChild(close);
    card.appendChild(el("h2", {}, def.question));

    var score = null;
    var scored = def.kind !== "open";
    var follow = null;
    var comment = null;
    if (scored) {
      if (def.choices && def.choices.length) {
        var scale = el("div", { class: "scale", role: "group", "aria-label": "score" });
        def.choices.forEach(function (c) {
          var b = el("button", { type: "button", "aria-pressed": "false" }, String(c));
          b.onclick = function () {
            score = c;
            scale.querySelectorAll("button").forEach(function (o) {
              o.setAttribute("aria-pressed", o === b ? "true" : "false");
            });
            update();
          };
          scale.appendChild(b);
        });
        card.appendChild(scale);
      } else {
        var input = el("input", { type: "number", step: "any", min: def.min, max: def.max, "aria-label": "score" });
        input.oninput = function () {
          score = input.value === "" ? null : Number(input.value);
          update();
        };
        card.appendChild(input);
      }
      if (def.low_label || def.high_label) {
        var ends = el("div", { class: "ends" });
        ends.appendChild(el("span", {}, def.low_label || ""));
        ends.appendChild(el("span", {}, def.high_label || ""));
        card.appendChild(ends);
      }
      if (def.follow_up) {
        follow = el("div", { hidden: "" });
        follow.appendChild(el("label", { for: "comment" }, def.follow_up.question));
        comment = el("textarea", { id: "comment", name: "comment" });
        follow.appendChild(comment);
        card.appendChild(follow);
      }
    } else {
      comment = el("textarea", { name: "comment", "aria-label": "answer" });
      card.appendChild(comment);
    }
    var error = el("p", { class: "error", role: "alert", hidden: "" });
    card.appendChild(error);
    var send = el("button", { class: "send", type: "button" }, "Send");
    card.appendChild(send);

    function asksFollowUp() {
      var f = def.follow_up;
      return !!f && score != null && (f.min == null || score >= f.min) && (f.max == null || score <= f.max);
    }
    function update() {
      if (follow) follow.hidden = !asksFollowUp();
    }
    function fail(text) {
      error.textContent = text;
      error.hidden = false;
      send.disabled = false;
    }

    send.onclick = function () {
      var properties = { survey: def.id };
      if (scored) {
        if (score == null || isNaN(score)) return fail("Pick a score.");
        properties.score = score;
        if (asksFollowUp() && comment.value.trim()) properties.comment = comment.value.trim();
      } else {
        if (!comment.value.trim()) return fail("Please write an answer.");
        properties.comment = comment.value.trim();
      }
      send.disabled = true;
      var now = new Date().toISOString();
      var message = {
        type: "track",
        event: "Survey Responded",
        anonymousId: anonymousId(),
        properties: properties,
        messageId: uuid(),
        timestamp: now,
        sentAt: now,
        context: {
          library: { name: "parcours-widget", version: "1" },
          page: { url: location.href, path: location.pathname, title: document.title, referrer: document.referrer },
          userAgent: navigator.userAgent
        }
      };
      if (data.userId) message.userId = data.userId;
      fetch(host + "/v1/track", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: auth },
        body: JSON.stringify(message)
      })
        .then(function (r) {
          if (r.ok) {
            store("localStorage", doneKey, "answered");
            while (card.childNodes.length > 1) card.removeChild(card.lastChild);
            card.appendChild(el("h2", { role: "status" }, "Thank you!"));
            setTimeout(function () { holder.remove(); }, 2500);
            return;
          }
          return r.json().then(
            function (b) { fail((b.error && b.error.message) || "Your answer could not be sent."); },
            function () { fail("Your answer could not be sent."); }
          );
        })
        .catch(function () { fail("Your answer could not be sent; try again in a moment."); });
    };
    document.body.appendChild(holder);
  }

  function show(id) {
    if (id && id !== surveyId) return;
    if (stored("localStorage", doneKey) === "answered") return;
    if (!id && stored("sessionStorage", doneKey) === "closed") return;
    if (document.querySelector('[data-parcours-survey="' + CSS.escape(surveyId) + '"]')) return;
    fetch(host + "/v1/surveys/" + encodeURIComponent(surveyId), { headers: { Authorization: auth } })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(render)
      .catch(function (e) {
        if (window.console) console.error("parcours widget: survey `" + surveyId + "` unavailable (" + e.message + ")");
      });
  }

  var api = (window.parcoursSurvey = window.parcoursSurvey || { shows: [] });
  api.shows.push(show);
  api.show = function (id) {
    api.shows.forEach(function (s) { s(id); });
  };
  if (data.trigger !== "manual") {
    var start = function () { setTimeout(show, Number(data.delay) || 0); };
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  }
})();
