#!/usr/bin/env bash
# Exim for the Exim end-to-end tests (deploy/exim, server/spamd).
#
# Postfix (30-postfix.sh) holds the MTA slot, and exim4-daemon-* conflicts with
# it, so Exim is not installed but unpacked: exim4-daemon-heavy (the Debian
# build with content scanning, i.e. the `spam =` ACL condition; it has the lmtp
# transport too) is fetched with `apt-get download` and extracted with `dpkg -x`
# into /opt/scilla-exim. Its shared libraries are ordinary packages that do not
# conflict with Postfix and are installed normally. The binary is compiled with
# EXIM_USER=Debian-exim, so that system user must exist even though the tests
# run Exim with their own throw-away configuration.
#
# The tests look for the binary at $SCILLA_EXIM, else /opt/scilla-exim/usr/sbin/exim4,
# else exim4/exim on PATH.
set -euo pipefail
dest=/opt/scilla-exim
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	libidn12 libidn2-0 libmariadb3 libspf2-2 libpq5 libldap-2.5-0 libsasl2-2 \
	libperl5.36 libsqlite3-0 libpam0g libgnutls-dane0 libgnutls30 libdb5.3 \
	libnsl2 libpcre2-8-0 libcrypt1
if ! getent passwd Debian-exim >/dev/null; then
	# useradd (package passwd) is in every Debian image; adduser may not be.
	useradd --system --badname --user-group --home-dir /var/spool/exim4 \
		--no-create-home --shell /usr/sbin/nologin Debian-exim
fi
if [ ! -x "$dest/usr/sbin/exim4" ]; then
	tmp=$(mktemp -d)
	chmod 1777 "$tmp" # apt's download runs as _apt and must write here
	(cd "$tmp" && apt-get download exim4-daemon-heavy)
	mkdir -p "$dest"
	dpkg -x "$tmp"/exim4-daemon-heavy_*.deb "$dest"
	rm -rf "$tmp"
fi
"$dest/usr/sbin/exim4" -bV -C /dev/null | grep -q Content_Scanning
echo "exim unpacked in $dest"
