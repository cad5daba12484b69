#!/usr/bin/env bash
# Site-build bench: how long each test site (tests/sites/*) takes to build from N items
# written by content-fetch, with the generated helpers and with a hand-written loader
# (bench/sites/<engine>, laid over the same site and data). Not run by scripts/test.
#
#   bench/site-build.sh [N] [ENGINE...]     N defaults to 10000; engines to next astro eleventy
#
# Needs the test sites' packages (scripts/install-test-deps). CONTENT_FETCH=path picks the
# content-fetch binary (default: a debug build of this tree); KEEP=1 keeps the work folder;
# LOADERS=generated skips the hand-written builds (to time another binary's helpers).
# Prints per build: wall seconds, the peak RSS summed over the build's processes (sampled
# every 0.2 s) and the largest single process's peak RSS (/usr/bin/time -v).
set -euo pipefail

count=${1:-10000}
shift || true
engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(next astro eleventy)
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${CONTENT_FETCH:-}" ]; then
  (cd "$repo" && cargo build --quiet --bin content-fetch)
  target=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')
  CONTENT_FETCH=$target/debug/content-fetch
fi

# tmpfs when there is one, so the figures are the builds', not the shared disk's.
parent=/dev/shm
[ -d "$parent" ] && [ -w "$parent" ] || parent=${TMPDIR:-/tmp}
work=$(mktemp -d "$parent/site-build.XXXXXX")
server=
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  [ "${KEEP:-}" = 1 ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

node "$repo/bench/site-build/content-api.mjs" "$count" >"$work/endpoint" &
server=$!
for _ in $(seq 100); do [ -s "$work/endpoint" ] && break; sleep 0.1; done
endpoint=$(cat "$work/endpoint")

out_dir() {
  case $1 in
    next) echo content/fetched ;;
    astro) echo src/content/fetched ;;
    eleventy) echo _data/fetched ;;
  esac
}

build_cmd() {
  case $1 in
    next) echo "next build" ;;
    astro) echo "astro build" ;;
    eleventy) echo "eleventy --quiet" ;;
  esac
}

# Runs the engine's build in its own session and prints "wall_s tree_peak_mib process_peak_mib".
measure() {
  local site=$1 engine=$2 log=$3
  # Every build starts cold, the way a CI build does: Vite's dependency cache too, else the
  # first of the two Astro builds alone pays to re-optimize (25 s at 10,000 items).
  rm -rf "$site/.next" "$site/out" "$site/.astro" "$site/dist" "$site/_site" \
    "$site/node_modules/.astro" "$site/node_modules/.vite"
  (
    cd "$site"
    # npm's PATH: the site's node_modules/.bin first, so Astro runs on the Node 22 it installs.
    PATH="$site/node_modules/.bin:$PATH" CI=true NEXT_TELEMETRY_DISABLED=1 ASTRO_TELEMETRY_DISABLED=1 \
      exec setsid /usr/bin/time -v -o "$log.time" $(build_cmd "$engine") >"$log" 2>&1
  ) &
  local pid=$! peak=0 rss
  while kill -0 "$pid" 2>/dev/null; do
    # ps fails when the session is not made yet or has just ended: that sample counts 0.
    rss=$({ ps -o rss= --sid "$pid" 2>/dev/null || true; } | awk '{s+=$1} END {print s+0}')
    [ "$rss" -le "$peak" ] || peak=$rss
    sleep 0.2
  done
  if ! wait "$pid"; then
    echo "$engine build failed in $site; its output:" >&2
    tail -40 "$log" >&2
    exit 1
  fi
  local wall max
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$log.time")
  max=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
  echo "$wall $((peak / 1024)) $((max / 1024))"
}

echo "site-build: $count items from $endpoint, sites in $work"
printf '%-9s %-12s %8s %15s %18s\n' engine loader "wall s" "peak RSS MiB" "largest proc MiB"
for engine in "${engines[@]}"; do
  site=$work/$engine
  mkdir -p "$site"
  tar -C "$repo/tests/sites/$engine" --exclude=./out --exclude=./.next --exclude=./dist \
    --exclude=./.astro --exclude=./_site --exclude=./.content-fetch --exclude="./$(out_dir "$engine")" \
    -cf - . | tar -C "$site" -xf -
  AWS_ACCESS_KEY_ID=AKIDBENCH AWS_SECRET_ACCESS_KEY=bench-secret AWS_REGION=us-east-1 CI=true \
    "$CONTENT_FETCH" --endpoint "$endpoint" --page-size 1000 --engine "$engine" \
    --out "$site/$(out_dir "$engine")" 2>"$work/$engine-fetch.log" ||
    { cat "$work/$engine-fetch.log" >&2; exit 1; }

  read -r wall tree proc < <(measure "$site" "$engine" "$work/$engine-generated.log")
  printf '%-9s %-12s %8s %15s %18s\n' "$engine" generated "$wall" "$tree" "$proc"
  generated=$wall

  [ "${LOADERS:-}" != generated ] || continue
  cp -r "$repo/bench/sites/$engine/." "$site/"
  if [ "$engine" = eleventy ]; then
    mkdir -p "$site/data" && mv "$site/_data/fetched/"*.json "$site/data/"
  fi
  read -r wall tree proc < <(measure "$site" "$engine" "$work/$engine-hand.log")
  printf '%-9s %-12s %8s %15s %18s\n' "$engine" hand-written "$wall" "$tree" "$proc"
  awk -v g="$generated" -v h="$wall" -v e="$engine" 'BEGIN {printf "%-9s generated / hand-written = %.2fx\n", e, g / h}'
done
