#!/bin/sh
# Install scilla-qmail into a qmail system, in one of two ways:
#
#   install.sh replace [scilla-qmail]
#       Rename $QMAIL/bin/qmail-queue to qmail-queue.orig and put
#       scilla-qmail in its place, setuid qmailq like the original. Every
#       program that queues mail (qmail-smtpd, qmail-inject, forward, ...)
#       then goes through Scilla. Set `qmail: queue:` to the .orig path.
#
#   install.sh qmailqueue [scilla-qmail]
#       Install scilla-qmail as $BINDIR/scilla-qmail (setuid qmailq) and
#       leave qmail-queue alone; name it in QMAILQUEUE for the services
#       that should be filtered (see tcp.smtp and run.smtpd here). Set
#       `qmail: queue:` to $QMAIL/bin/qmail-queue.
#
#   install.sh uninstall
#       Undo "replace" (the .orig goes back) and remove $BINDIR/scilla-qmail.
#
# Environment: QMAIL (default /var/qmail), BINDIR (default /usr/local/bin),
# OWNER and GROUP of the installed binary (default qmailq and qmail, as
# qmail-queue itself).
set -eu
QMAIL=${QMAIL:-/var/qmail}
BINDIR=${BINDIR:-/usr/local/bin}
OWNER=${OWNER:-qmailq}
GROUP=${GROUP:-qmail}
mode=${1:-}
src=${2:-scilla-qmail}

install_bin() { # install_bin SRC DEST
	cp "$1" "$2.scilla-new"
	chown "$OWNER:$GROUP" "$2.scilla-new"
	chmod 4711 "$2.scilla-new"
	mv -f "$2.scilla-new" "$2"
}

case "$mode" in
replace)
	q="$QMAIL/bin/qmail-queue"
	if [ ! -e "$q.orig" ]; then
		# Hard link first so qmail-queue never disappears, not even briefly.
		ln "$q" "$q.orig"
	fi
	install_bin "$src" "$q"
	echo "scilla-qmail is $q; the original is $q.orig (qmail: queue: $q.orig)"
	;;
qmailqueue)
	mkdir -p "$BINDIR"
	install_bin "$src" "$BINDIR/scilla-qmail"
	echo "scilla-qmail is $BINDIR/scilla-qmail; set QMAILQUEUE=$BINDIR/scilla-qmail for qmail-smtpd (qmail: queue: $QMAIL/bin/qmail-queue)"
	;;
uninstall)
	q="$QMAIL/bin/qmail-queue"
	if [ -e "$q.orig" ]; then
		mv -f "$q.orig" "$q"
	fi
	rm -f "$BINDIR/scilla-qmail"
	;;
*)
	echo "usage: $0 replace|qmailqueue [path/to/scilla-qmail] | uninstall" >&2
	exit 2
	;;
esac
