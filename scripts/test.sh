#!/usr/bin/env bash
# The one command that runs every test of coze2app on a fresh machine.
# It installs what the tests need (Chromium, nginx), makes sure PostgreSQL answers,
# then runs gofmt, go vet, a static build, go test -race over everything and
# every fuzz target for a few seconds (scripts/fuzz.sh).
# .ci/run calls this script; under CI=true a missing PostgreSQL, Chromium or
# nginx fails the run instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo /root/go)/bin"

log() { printf '\n== %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

log "toolchain"
go version

log "Chromium (browser tests)"
if ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium || echo "WARNING: could not install chromium"
fi
command -v chromium && chromium --version 2>/dev/null | head -1 || true
# A CJK font, so the screenshots the browser tests take show Chinese text, not boxes.
if ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  apt_install fonts-wqy-zenhei || echo "WARNING: no CJK font; screenshots show boxes for Chinese"
fi

log "nginx (the shipped deploy/nginx config is tested in front of coze2app)"
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx-light || apt_install nginx || echo "WARNING: could not install nginx"
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] && "$nginx_bin" -v 2>&1 || true

log "PostgreSQL"
export COZE2APP_TEST_DATABASE_URL="${COZE2APP_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1; }
if ! command -v pg_isready >/dev/null 2>&1; then
  apt_install postgresql || echo "WARNING: could not install postgresql"
fi
if ! pg_up; then
  if [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start 2>/dev/null || true
    done
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if pg_up; then
  # trust auth on 127.0.0.1 is what this machine kind provides; the test
  # database must exist.
  psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE test" >/dev/null || true
  psql -h 127.0.0.1 -U postgres -d test -tAc "SELECT version()" | head -1
else
  echo "WARNING: PostgreSQL does not answer on 127.0.0.1:5432"
  if [ "${CI:-}" = "true" ]; then echo "FAIL: CI=true needs PostgreSQL"; exit 1; fi
fi

log "gofmt"
unformatted="$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"
if [ -n "$unformatted" ]; then echo "gofmt needed:"; echo "$unformatted"; exit 1; fi

log "go vet"
go vet ./...

log "static build (CGO_ENABLED=0)"
tmpbin="$(mktemp -d)"
CGO_ENABLED=0 go build -o "$tmpbin/coze2app" ./cmd/coze2app
"$tmpbin/coze2app" version
rm -rf "$tmpbin"

log "go test -race ./..."
go test -race -count=1 -timeout 15m ./... 2>&1 | tee /tmp/coze2app-test.log
status=${PIPESTATUS[0]}
pass=$(grep -c '^ok ' /tmp/coze2app-test.log || true)
fail=$(grep -c '^FAIL' /tmp/coze2app-test.log || true)
echo
echo "packages: $pass passed, $fail failed"

log "fuzz (every target, ${FUZZTIME:-5s} each)"
fuzz_status=0
FUZZTIME="${FUZZTIME:-5s}" scripts/fuzz.sh || fuzz_status=$?
if [ "$status" -eq 0 ]; then status=$fuzz_status; fi
exit "$status"
