# The remaining MTAs (issue 9): scilla-qmail, scilla-cgp, Exim (lmtp
# transport and the spamd listener for the spam= ACL).
#
#   make test-mta    unit, harness and real-Exim tests of this area
#   make fuzz-mta    every fuzz target of this area, FUZZTIME each (default 30s)
#   make bench-mta   per-message overhead figures (spamd listener, scilla-qmail)
FUZZTIME ?= 30s
MTA_PKGS := ./clients/qmail/... ./clients/cgp/... ./server/spamd/... ./deploy/exim/... ./deploy/qmail/... ./deploy/cgp/...

.PHONY: test-mta fuzz-mta bench-mta

test-mta:
	$(GO) test -race $(MTA_PKGS)

fuzz-mta:
	$(GO) test -run '^$$' -fuzz '^FuzzReadEnvelope$$' -fuzztime $(FUZZTIME) ./clients/qmail
	$(GO) test -run '^$$' -fuzz '^FuzzParseCommand$$' -fuzztime $(FUZZTIME) ./clients/cgp
	$(GO) test -run '^$$' -fuzz '^FuzzQuote$$' -fuzztime $(FUZZTIME) ./clients/cgp
	$(GO) test -run '^$$' -fuzz '^FuzzReadQueueFile$$' -fuzztime $(FUZZTIME) ./clients/cgp
	$(GO) test -run '^$$' -fuzz '^FuzzReadRequest$$' -fuzztime $(FUZZTIME) ./server/spamd

bench-mta:
	$(GO) test -run '^$$' -bench . -benchtime 2000x ./server/spamd
	$(GO) test -run '^$$' -bench QmailQueue -benchtime 200x ./clients/qmail
