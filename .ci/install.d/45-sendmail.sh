#!/usr/bin/env bash
# Sendmail for the Sendmail end-to-end test of scilla-milter (deploy/sendmail,
# clients/milter/sendmail_e2e_test.go).
#
# Postfix (30-postfix.sh) holds the MTA slot, and sendmail-bin conflicts with
# it (Conflicts: mail-transport-agent), so Sendmail is not installed but
# unpacked, as 40-exim.sh does for Exim: sendmail-bin (the binary, built with
# MILTER) and sendmail-cf (the m4 cf templates the test builds its sendmail.cf
# from) are fetched with `apt-get download` and extracted with `dpkg -x` into
# /opt/scilla-sendmail. sendmail-base is not needed (its maintainer scripts
# and /etc/mail helpers are what the test replaces with a throw-away
# configuration). The shared libraries and m4 are ordinary packages that do
# not conflict with Postfix and are installed normally. No system user is
# needed: the daemon runs as root and delivers as DefaultUser (mailnull,
# else uid/gid 1).
#
# The test looks for the binary at $SCILLA_SENDMAIL, else
# /opt/scilla-sendmail/usr/libexec/sendmail/sendmail, and for the cf templates
# next to it (…/usr/share/sendmail/cf).
set -euo pipefail
dest=/opt/scilla-sendmail
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	m4 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0
if [ ! -x "$dest/usr/libexec/sendmail/sendmail" ] || [ ! -f "$dest/usr/share/sendmail/cf/m4/cf.m4" ]; then
	tmp=$(mktemp -d)
	chmod 1777 "$tmp" # apt's download runs as _apt and must write here
	(cd "$tmp" && apt-get download sendmail-bin sendmail-cf)
	mkdir -p "$dest"
	for deb in "$tmp"/sendmail-bin_*.deb "$tmp"/sendmail-cf_*.deb; do
		dpkg -x "$deb" "$dest"
	done
	rm -rf "$tmp"
fi
# -d0.1 prints the version and compile options (MILTER must be among them);
# address test mode (-bt) then reads the empty stdin and exits. A missing
# shared library fails here too: nothing is printed. Sendmail sleeps 60 s
# when the host name has no dot and resolves to none, so the check runs in a
# UTS namespace with a qualified name where one may be created (the test
# does the same).
check=("$dest/usr/libexec/sendmail/sendmail" -C /dev/null -d0.1 -bt)
if unshare --uts true 2>/dev/null; then
	check=(unshare --uts sh -c 'hostname sendmail-check.localdomain && exec "$@"' sh "${check[@]}")
fi
out=$("${check[@]}" </dev/null 2>&1 || true)
if ! grep -qw MILTER <<<"$out"; then
	echo "unpacked sendmail does not run or lacks MILTER:" >&2
	echo "$out" >&2
	exit 1
fi
echo "sendmail unpacked in $dest"
