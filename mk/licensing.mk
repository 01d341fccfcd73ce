# Licensing (issue 8): the scan-path licence check benchmark (8 concurrent
# scanners; the bar is under 2 µs per check) and a longer fuzz run of the key
# parser than `make test` does.
.PHONY: bench-license fuzz-license

bench-license:
	$(GO) test -run '^$$' -bench 'BenchmarkAdmitParallel8' -benchtime 3s -cpu 2,8 ./licensing/

fuzz-license:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./licensing/
