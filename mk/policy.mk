# Policy, lists and headers (issue 5).
.PHONY: bench-lists policy-check-example

# bench-lists prints list matching and policy resolution figures for lists of
# 100,000 entries.
bench-lists:
	$(GO) test -run '^$$' -bench 'Match100k|Build100k|Resolve100k|LoadExample' -benchmem ./server/addrlist ./server/policy

# policy-check-example loads the example policy the way `scilla policy check` does.
policy-check-example:
	$(GO) test -run 'TestExampleFile' ./server/policy
