#!/usr/bin/env bash
# The README's two commands in the order a new user types them: `make demo`, then `make test`, on a fresh clone
# with a matplotlib font cache of its own (built by the demo, before `make test` installs what the tests need).
# CI runs `make test` alone, so it never sees what the first command leaves behind for the second; run this
# before a release (about as long as the two commands). ../shared beside this clone is linked beside the copy.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet "$here" "$work/gridplan"
if [ -d "$here/../shared" ]; then ln -s "$(cd "$here/../shared" && pwd)" "$work/shared"; fi
export MPLCONFIGDIR="$work/matplotlib" XDG_CACHE_HOME="$work/cache"
cd "$work/gridplan"
make demo
make test
echo "fresh-user check: make demo then make test passed on a fresh clone"
