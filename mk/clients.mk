# Client benchmarks (clients/, scilla-milter, scilla-pipe).
#
#   make bench-clients        overhead per message of the milter and the pipe
#                             against a direct Check (in-process fake scanner)
#   make bench-clients-sessions scilla-milter and scillad (real binaries)
#                             driven as Postfix drives them, one milter
#                             connection per message, without Postfix: CPU
#                             and context switches per message of each
#   make bench-clients-postfix  end to end through a real Postfix with
#                             smtp-source (1,000 small messages, 4 sessions):
#                             no milter, scilla-milter on unix: and inet:
#                             sockets, real scillad behind it (needs root,
#                             postfix, swaks; see .ci/install.d/30-postfix.sh)
.PHONY: bench-clients bench-clients-sessions bench-clients-postfix

bench-clients:
	$(GO) test -run '^$$' -bench 'BenchmarkCheckDirect|BenchmarkMilterMessage|BenchmarkPipeMessage' -benchtime 3s -benchmem \
		./clients/ ./clients/milter/ ./clients/pipe/

bench-clients-sessions:
	$(GO) test -run '^$$' -bench 'BenchmarkMilterSessions' -benchtime 5000x -count 3 -timeout 10m ./clients/milter/

bench-clients-postfix:
	$(GO) test -run '^$$' -bench 'BenchmarkPostfixThroughput' -benchtime 3x -timeout 10m ./clients/milter/
