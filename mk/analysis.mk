# Message analysis (issue 3): parser, formal signs, header rules, structure,
# Eastern encodings, obscene language, scoring. See docs/analysis.md.
ANALYSIS_PKGS := ./server/message/... ./server/check/formal/ ./server/check/headers/ \
	./server/check/structure/ ./server/check/eastern/ ./server/check/obscene/ ./server/engine/
FUZZTIME ?= 30s

.PHONY: test-analysis bench-analysis fuzz-analysis golden-analysis analysis-corpus

# Tests of the analysis packages, with the race detector.
test-analysis:
	$(GO) test -race $(ANALYSIS_PKGS)

# Parsing plus the analysis checks over the corpus test split, one core:
# messages/second per core and allocations per message.
bench-analysis: analysis-corpus
	$(GO) test -run '^$$' -bench 'BenchmarkAnalysis|BenchmarkParseCorpus' -benchtime 3s -count 3 -cpu 1 ./server/message/

# Each fuzz target for FUZZTIME.
fuzz-analysis:
	for f in FuzzParse FuzzHeader FuzzHTML FuzzRTF FuzzWord; do \
		$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) ./server/message/ || exit 1; \
	done

# Rewrite the golden files after a deliberate change (review the diff!).
golden-analysis:
	$(GO) test ./server/message/ ./server/check/formal/ ./server/check/headers/ \
		./server/check/structure/ ./server/check/eastern/ ./server/check/obscene/ -update

# Fetch the SpamAssassin corpus into ~/.cache/scilla/corpus when absent.
analysis-corpus:
	bash .ci/install.d/20-corpus.sh
