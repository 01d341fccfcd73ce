#!/usr/bin/env bash
# Postfix and swaks for the clients' end-to-end tests (clients/milter, clients/pipe).
# Postfix is preseeded to "No configuration" so the install asks nothing and
# starts no system mail service; the tests run their own throw-away instances.
set -euo pipefail
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string localhost" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix swaks
