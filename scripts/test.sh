#!/usr/bin/env bash
# Every test of parcours, from a fresh clone: formatting and lints, the Rust test suites
# (unit, fixtures, property, the SIGKILL test with the real binary), then the real
# Segment and RudderStack client libraries against a server on 127.0.0.1, the journey
# engine against ClickHouse's windowFunnel (chDB), attribution against ChannelAttribution,
# the sentiment scorer's evaluation (accuracy at least 80% per language), and the survey
# widget in a real browser.
# Needs: cargo, node + npm, python3 (all on the project's machines) and Chromium at
# /usr/bin/chromium (`apt-get install chromium`; .ci/run installs it); fetches the client
# libraries and playwright-core from npm and PyPI on first run.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt / clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== cargo test"
cargo test --workspace

bin="${CARGO_TARGET_DIR:-target}/debug/parcours"

cargo build --quiet --bin parcours

echo "== sentiment evaluation (accuracy and macro-F1 per language; fails below 80%)"
"$bin" sentiment eval --min-accuracy 0.8

echo "== real client libraries"
tests/clients/run.sh "$bin"

echo "== the survey widget in Chromium"
tests/browser/run.sh "$bin"

echo "== conformance: journeys vs ClickHouse windowFunnel (chDB), attribution vs ChannelAttribution"
tests/conformance/run.sh "$bin"
