#!/usr/bin/env bash
# Runs every benchmark in bench/ in sequence, then prints a markdown summary table (npm run bench).
#   BENCH_SHORT=1            15 s of mixed load instead of 60 s, shorter runs elsewhere
#   BENCH_ONLY="get watch"   only these (get create-list watch mixed startup apply patch scheduler deployment ingress authz pods dns proxy)
#   BENCH_DIST=DIR           run the server built in DIR instead of dist/ (no rebuild)
#   BENCH_PIN=0              no CPU pinning (default: server on CPU 0, load generators on CPU 1)
#   BENCH_SERVER_NODE_FLAGS  node flags for the server under test, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$REPO"

BENCHES=(get create-list watch mixed startup apply patch scheduler deployment ingress authz pods dns proxy)
if [[ -n "${BENCH_ONLY:-}" ]]; then read -r -a BENCHES <<<"$BENCH_ONLY"; fi
for b in "${BENCHES[@]}"; do
  [[ -f "bench/$b.ts" ]] || { echo "bench.sh: no benchmark bench/$b.ts" >&2; exit 2; }
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk (Debian package)" >&2
  SUDO=()
  if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk >/dev/null ||
      { echo "bench: could not install wrk; install it (apt-get install wrk) and run again" >&2; exit 1; }
  fi
fi

# bench/ingress.ts compares against Debian's nginx
if [[ " ${BENCHES[*]} " == *" ingress "* ]] && ! command -v nginx >/dev/null 2>&1 && [[ ! -x /usr/sbin/nginx ]]; then
  echo "bench: installing nginx (Debian package)" >&2
  SUDO=()
  if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1 ||
    echo "bench: could not install nginx; the ingress benchmark will report it" >&2
fi

# bench/pods.ts compares against Debian's containerd (run on its own temporary root and socket, never as a service)
if [[ " ${BENCHES[*]} " == *" pods "* ]] && ! command -v containerd >/dev/null 2>&1; then
  echo "bench: installing containerd (Debian package)" >&2
  SUDO=()
  if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containerd >/dev/null 2>&1 ||
    echo "bench: could not install containerd; the pods benchmark reports Timonel alone" >&2
fi

# 1,000 watch streams need as many sockets in the server and in the load process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (($(ulimit -n) < 4096)); then echo "bench: warning: only $(ulimit -n) file descriptors; the watch benchmark needs > 2,000" >&2; fi

if [[ -z "${BENCH_DIST:-}" ]]; then
  # builds dist/ when sources changed; a build with type errors still emits JavaScript
  if ! bash scripts/setup.sh --no-test-deps >&2; then
    [[ -f dist/cli/main.js ]] || { echo "bench: no build in dist/" >&2; exit 1; }
    echo "bench: warning: the build reported errors; benchmarking the JavaScript it emitted" >&2
  fi
fi

OUT="$(mktemp -d "${TMPDIR:-/tmp}/timonel-bench-results-XXXXXX")"
trap 'rm -rf "$OUT"' EXIT
export BENCH_OUT="$OUT"

failed=()
start=$SECONDS
for b in "${BENCHES[@]}"; do
  node --import tsx "bench/$b.ts" || failed+=("$b")
done
node --import tsx bench/summary.ts "$OUT"
echo
echo "bench: $((SECONDS - start)) s in all"
if ((${#failed[@]})); then
  echo "bench: these benchmarks failed to run to the end: ${failed[*]}" >&2
  exit 1
fi
