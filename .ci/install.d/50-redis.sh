#!/usr/bin/env bash
# redis-server for the shared-state tests (server/bayes, licensing,
# server/cmd/scillad): each test starts its own throw-away instance on a free
# loopback port without persistence. The packaged service is neither started
# by the install nor left running: nothing else needs it.
set -euo pipefail
if ! command -v redis-server >/dev/null; then
	# Keep the package's maintainer scripts from starting the service.
	added=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		added=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server || { [ -z "$added" ] || rm -f /usr/sbin/policy-rc.d; exit 1; }
	[ -z "$added" ] || rm -f /usr/sbin/policy-rc.d
fi
if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
	systemctl disable --now redis-server >/dev/null 2>&1 || true
else
	service redis-server stop >/dev/null 2>&1 || true
fi
redis-server --version
