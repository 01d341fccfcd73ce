# Side-by-side benchmark (Scilla next to bogofilter, optionally SpamAssassin):
# same corpus split, same client (drive.py), same scorer (score.py), one run.
# Writes bench/anchors/results/ and the tables in docs/benchmarks.md.
# WITH_SA=1 adds SpamAssassin (slow); see bench/anchors/run.sh for the knobs.
.PHONY: bench-anchors

bench-anchors:
	bash bench/anchors/run.sh
