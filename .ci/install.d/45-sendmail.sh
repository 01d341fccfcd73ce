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
# not conflict with Postfix and are installed normally. The binary's
# compiled-in default user is smmsp; the user must exist for the queue run
# to drop privileges even though the test runs its own configuration.
#
# The test looks for the binary at $SCILLA_SENDMAIL, else
# /opt/scilla-sendmail/usr/libexec/sendmail/sendmail, and for the cf templates
# next to it (…/usr/share/sendmail/cf).
set -euo pipefail
dest=/opt/scilla-sendmail
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	m4 libdb5.3 libldap-2.5-0 liblockfile1 libnsl2 libsasl2-2 libssl3 libwrap0
if ! getent group smmsp >/dev/null; then
	groupadd --system smmsp
fi
if ! getent passwd smmsp >/dev/null; then
	# useradd (package passwd) is in every Debian image; adduser may not be.
	useradd --system --gid smmsp --home-dir /var/lib/sendmail \
		--no-create-home --shell /usr/sbin/nologin smmsp
fi
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
# shared library fails here too: nothing is printed.
out=$("$dest/usr/libexec/sendmail/sendmail" -C /dev/null -d0.1 -bt </dev/null 2>&1 || true)
if ! grep -qw MILTER <<<"$out"; then
	echo "unpacked sendmail does not run or lacks MILTER:" >&2
	echo "$out" >&2
	exit 1
fi
echo "sendmail unpacked in $dest"
