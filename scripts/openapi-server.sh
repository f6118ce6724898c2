# Sourced by the contract scripts: `start_server` runs the aios-server binary ($AIOS_SERVER_BIN,
# default target/debug/aios-server) on a random free port with a temporary DATA_DIR (SQLite,
# in-process cache), rate limits raised out of the way, an administrator ($ADMIN_EMAIL,
# $ADMIN_PASSWORD, exported for the tests), and sets BASE_URL; the server and its directory go
# when the calling script exits.
export ADMIN_EMAIL="${ADMIN_EMAIL:-admin@example.com}" ADMIN_PASSWORD="${ADMIN_PASSWORD:-Plum-Kettle-Harbour-92}"
start_server() {
  local bin="${AIOS_SERVER_BIN:-$PWD/target/debug/aios-server}"
  SERVER_DIR="$(mktemp -d)"
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  env -i PATH="$PATH" HOME="$SERVER_DIR" DATA_DIR="$SERVER_DIR" HOST=127.0.0.1 PORT="$port" \
    LOG_LEVEL=warn RATE_LIMIT_ANON_PER_MIN=1000000 RATE_LIMIT_USER_PER_MIN=1000000 \
    RATE_LIMIT_AUTH_PER_MIN=1000000 ADMIN_EMAIL="$ADMIN_EMAIL" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$bin" serve > "$SERVER_DIR/server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; rm -rf "$SERVER_DIR"' EXIT
  BASE_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if curl -fsS "$BASE_URL/health/ready" > /dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      cat "$SERVER_DIR/server.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "the server did not come up" >&2
  return 1
}
