"""Checks, through the parcours API, the stitched timeline each client produced.

    python check.py HOST READ_KEY PREFIX...

Prints one line per client and a final 'N passed, N failed' line.
"""
import json
import sys
import urllib.error
import urllib.request

host, read_key, prefixes = sys.argv[1], sys.argv[2], sys.argv[3:]
EXPECTED = ["Pricing", "Home", "$identify", "Order Completed", "$group", "$alias"]


def get(path):
    req = urllib.request.Request(host + path, headers={"Authorization": f"Bearer {read_key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def check(p):
    problems = []
    status, body = get(f"/api/v1/persons/{p}-anon/timeline")
    if status != 200:
        return [f"timeline of {p}-anon: HTTP {status} {body}"]
    names = [e["event"] for e in body["events"]]
    if names != EXPECTED:
        problems.append(f"events {names}, expected {EXPECTED}")
    person = body["person"]["id"]
    for identifier in (f"{p}-user", f"{p}@example.com", f"{p}-crm"):
        s, other = get(f"/api/v1/persons/{identifier}")
        if s != 200 or other["id"] != person:
            problems.append(f"{identifier} is not stitched to the same person ({s})")
    if body["person"]["traits"].get("plan") != "pro":
        problems.append(f"traits {body['person']['traits']}")
    if [g["group_id"] for g in body["person"]["groups"]] != [f"{p}-account"]:
        problems.append(f"groups {body['person']['groups']}")
    # Each library sends a page's and a screen's category its own way (top-level,
    # in the properties, or both): parcours keeps it in the properties.
    categories = {e["event"]: e["properties"].get("category") for e in body["events"]}
    if (categories.get("Pricing"), categories.get("Home")) != ("Docs", "Start"):
        problems.append(f"page and screen categories {categories.get('Pricing')!r}, {categories.get('Home')!r}")
    order = next((e for e in body["events"] if e["event"] == "Order Completed"), None)
    if not order or order["revenue"] != 42.5 or order["currency"] != "EUR":
        problems.append(f"order {order}")
    return problems


passed = failed = 0
for p in prefixes:
    problems = check(p)
    if problems:
        failed += 1
        print(f"FAIL {p}: " + "; ".join(problems))
    else:
        passed += 1
        print(f"ok   {p}: 6 calls stitched into one timeline")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
