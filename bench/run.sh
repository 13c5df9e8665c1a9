#!/usr/bin/env bash
# Runs the coze2app benchmarks on loopback and writes bench/results/*.json.
#
#   bench/run.sh              everything (about 20 min)
#   bench/run.sh relay        one of them (relay | relay-diag | relay-profile | streams | streams-h2c | streams-profile | rps)
#
# Environment: BIN (coze2app binary, default /tmp/coze2app, rebuilt here), PROF
# (where the *-profile scenarios write, default /tmp/coze2app-profiles),
# RELAY_LEVELS, STREAM_STEPS, STREAM_PROBE, RPS_DURATION, RPS_CONNS (see
# bench/README.md). Every scenario stops by itself; nothing asserts on time.
set -euo pipefail
cd "$(dirname "$0")/.."

# Go raises its own soft limit, nginx does not: give every child the hard limit.
ulimit -n "$(ulimit -Hn)"

BIN=${BIN:-/tmp/coze2app}
OUT=bench/results
# Profiles are for reading, not for the repository: they go outside it.
PROF=${PROF:-/tmp/coze2app-profiles}
TMPBIN=$(mktemp -d /tmp/coze2app-bench-bin.XXXXXX)
trap 'rm -rf "$TMPBIN"' EXIT
mkdir -p "$OUT" "$PROF"

echo "== build ($(go version))"
go build -o "$BIN" ./cmd/coze2app
go build -o "$TMPBIN/relay" ./bench/relay
go build -o "$TMPBIN/streams" ./bench/streams
go build -o "$TMPBIN/rps" ./bench/rps

echo "== machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), nofile $(ulimit -n)"

relay() {
	echo "== relay overhead: direct vs nginx vs coze2app"
	"$TMPBIN/relay" -app-bin "$BIN" \
		${RELAY_LEVELS:+-levels "$RELAY_LEVELS"} \
		-out "$OUT/relay.json"
}

relay_diag() {
	echo "== relay diagnosis: coze2app with SQLite synchronous(normal)"
	"$TMPBIN/relay" -app-bin "$BIN" -modes direct,app \
		-levels "${RELAY_DIAG_LEVELS:-1:20ms:50:30s,100:20ms:20:20s}" \
		-app-env 'COZE2APP_DATABASE_URL=sqlite:{dir}/coze2app.db?_pragma=synchronous(normal)' \
		-out "$OUT/relay-sqlite-normal.json"
}

relay_profile() {
	echo "== relay with coze2app profiled mid-phase (COZE2APP_DEBUG_ADDR: net/http/pprof on loopback) into $PROF"
	"$TMPBIN/relay" -app-bin "$BIN" -pprof 127.0.0.1:6162 -profile-dir "$PROF" -modes direct,app \
		-levels "${RELAY_PROFILE_LEVELS:-100:5ms:25:20s}" \
		-out "$PROF/relay-profile.json"
}

streams() {
	echo "== open streams: memory and goroutines per idle stream"
	"$TMPBIN/streams" -app-bin "$BIN" \
		-steps "${STREAM_STEPS:-1000,2000,4000,8000}" -probe "${STREAM_PROBE:-9500}" \
		-out "$OUT/streams.json"
}

streams_h2c() {
	echo "== open streams, HTTP/2 towards the simulator as towards Coze (COZE_API_H2C=on)"
	"$TMPBIN/streams" -app-bin "$BIN" -app-env COZE_API_H2C=on \
		-steps "${STREAM_STEPS:-1000,2000,4000,8000}" -probe "${STREAM_PROBE:-9500}" \
		-out "$OUT/streams-h2c.json"
}

streams_profile() {
	echo "== open streams with heap profiles (COZE2APP_DEBUG_ADDR: net/http/pprof on loopback) into $PROF"
	"$TMPBIN/streams" -app-bin "$BIN" -pprof 127.0.0.1:6161 -profile-dir "$PROF" \
		-steps "${STREAM_STEPS:-1000,2000,4000,8000}" -probe 0 \
		-out "$PROF/streams-profile.json"
}

rps() {
	echo "== requests per second: auth status, cached bot list"
	"$TMPBIN/rps" -app-bin "$BIN" -duration "${RPS_DURATION:-10s}" -conns "${RPS_CONNS:-50}" \
		-out "$OUT/rps.json"
}

case "${1:-all}" in
relay) relay ;;
relay-diag) relay_diag ;;
relay-profile) relay_profile ;;
streams) streams ;;
streams-h2c) streams_h2c ;;
streams-profile) streams_profile ;;
rps) rps ;;
all)
	relay
	relay_profile
	streams
	streams_h2c
	streams_profile
	rps
	;;
*)
	echo "usage: $0 [all|relay|relay-diag|relay-profile|streams|streams-h2c|streams-profile|rps]" >&2
	exit 2
	;;
esac
