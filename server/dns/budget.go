package dns

import (
	"context"
	"sync"
	"time"
)

// budget remembers when each message's DNS work started so that all DNS
// checks of one message, in every recipient group, share one deadline.
type budget struct {
	mu     sync.Mutex
	m      map[string]time.Time
	pruned time.Time
}

// MessageContext returns ctx limited by the message's overall DNS deadline
// (Config.Deadline), counted from the first call with this scanID. The
// scan's own deadline still applies when it is earlier.
func (r *Resolver) MessageContext(ctx context.Context, scanID string) (context.Context, context.CancelFunc) {
	now := r.now()
	b := &r.budget
	b.mu.Lock()
	start, ok := b.m[scanID]
	if !ok {
		start = now
		if scanID != "" {
			b.m[scanID] = now
		}
	}
	// Forget messages whose deadline is long past, at most once a second.
	if now.Sub(b.pruned) > time.Second {
		for id, t := range b.m {
			if now.Sub(t) > 2*r.cfg.Deadline.D() {
				delete(b.m, id)
			}
		}
		b.pruned = now
	}
	b.mu.Unlock()
	return context.WithDeadline(ctx, start.Add(r.cfg.Deadline.D()))
}
