# Sourced by the test scripts: `start_parcours BIN WORKSPACE` starts a parcours server on
# a free loopback port in a temporary data directory, with a write and a read key of
# WORKSPACE, and sets `host`, `write` and `read_key`. The server is stopped by its PID,
# and the data directory removed, when the script exits.
start_parcours() {
  local bin="$1" ws="$2"
  data="$(mktemp -d)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  host="http://127.0.0.1:$port"
  write="$("$bin" keys create --data-dir "$data" --workspace "$ws" --scope write)"
  read_key="$("$bin" keys create --data-dir "$data" --workspace "$ws" --scope read)"
  PARCOURS_LOG_LEVEL=warn "$bin" serve --data-dir "$data" --listen "127.0.0.1:$port" &
  server=$!
  trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"' EXIT
  for _ in $(seq 1 100); do
    curl -fsS "$host/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "parcours did not answer on $host" >&2
  return 1
}
