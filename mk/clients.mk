# Client benchmarks (clients/, scilla-milter, scilla-pipe).
#
#   make bench-clients        overhead per message of the milter and the pipe
#                             against a direct Check (in-process fake scanner)
#   make bench-clients-postfix  end to end through a real Postfix with
#                             smtp-source (1,000 small messages, 4 sessions):
#                             no milter, scilla-milter on unix: and inet:
#                             sockets, real scillad behind it (needs root,
#                             postfix, swaks; see .ci/install.d/30-postfix.sh)
.PHONY: bench-clients bench-clients-postfix

bench-clients:
	$(GO) test -run '^$$' -bench 'BenchmarkCheckDirect|BenchmarkMilterMessage|BenchmarkPipeMessage' -benchtime 3s -benchmem \
		./clients/ ./clients/milter/ ./clients/pipe/

bench-clients-postfix:
	$(GO) test -run '^$$' -bench 'BenchmarkPostfixThroughput' -benchtime 3x -timeout 10m ./clients/milter/
