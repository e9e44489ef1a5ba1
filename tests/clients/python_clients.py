"""segment-analytics-python and rudder-sdk-python pointed at parcours.

    python python_clients.py segment|rudder HOST WRITE_KEY PREFIX
"""
import sys
import time

library, host, write_key, p = sys.argv[1:5]
errors = []


def on_error(error, items):
    errors.append(error)


if library == "segment":
    from segment.analytics import Client

    client = Client(write_key, host=host, sync_mode=True, on_error=on_error, gzip=True, max_retries=1)
else:
    from rudderstack.analytics.client import Client

    client = Client(write_key, host=host, sync_mode=True, on_error=on_error, gzip=True, max_retries=1)

# Calls 150 ms apart: the skew correction folds each request's transit time into its
# events, so calls closer than transit jitter could swap order.
tick = lambda: time.sleep(0.15)
client.page(anonymous_id=f"{p}-anon", category="Docs", name="Pricing", properties={"path": "/pricing"}); tick()
client.screen(anonymous_id=f"{p}-anon", category="Start", name="Home"); tick()
client.identify(user_id=f"{p}-user", anonymous_id=f"{p}-anon", traits={"email": f"{p}@example.com", "plan": "pro"}); tick()
client.track(user_id=f"{p}-user", event="Order Completed", properties={"revenue": 42.5, "currency": "EUR"}); tick()
client.group(user_id=f"{p}-user", group_id=f"{p}-account", traits={"name": "Acme"}); tick()
client.alias(previous_id=f"{p}-crm", user_id=f"{p}-user")
client.flush()
if errors:
    print(f"{library}-python errors: {errors}", file=sys.stderr)
    sys.exit(1)
