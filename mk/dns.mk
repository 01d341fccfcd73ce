# DNS checks (issue 6): the RFC 7208 suite, the warm-cache scan benchmark and
# the fuzz tests of the parsers of DNS answers, SPF records and Received headers.
.PHONY: spf-suite bench-dns fuzz-dns

spf-suite:
	$(GO) test -count=1 -v -run 'TestRFC7208Suite$$' ./server/spf | grep -E '^(RFC 7208 suite|---.*FAIL|FAIL|ok)'

bench-dns:
	$(GO) test -run '^$$' -bench 'BenchmarkScan' -benchtime 3s -benchmem ./server/dns

FUZZTIME ?= 30s
fuzz-dns:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./server/spf
	$(GO) test -run '^$$' -fuzz '^FuzzAnswer$$' -fuzztime $(FUZZTIME) ./server/dns
	$(GO) test -run '^$$' -fuzz '^FuzzParseReceived$$' -fuzztime $(FUZZTIME) ./server/relays
