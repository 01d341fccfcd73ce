// Package check is the registry of the engine's checks: which checks run and
// in what order. Each check lives in its own package under server/check/ and
// follows the engine.Check contract. Cheap checks that can force a status come
// first; checks that wait on the network implement engine.Waiter and start
// concurrently.
package check

import (
	"log/slog"

	"github.com/scilla-mail/scilla/server/check/gtube"
	"github.com/scilla-mail/scilla/server/check/lists"
	"github.com/scilla-mail/scilla/server/engine"
)

// Deps are the shared dependencies checks are built with.
type Deps struct {
	Log *slog.Logger
}

// All returns every check in pipeline order.
func All(d Deps) []engine.Check {
	return []engine.Check{
		lists.New(), // first: a white list hit ends the scan (TRUSTED)
		gtube.New(),
	}
}
