package milter

import (
	"sync"
	"time"
)

// runner runs the scan of each message on a long-lived goroutine. The
// milter library starts a goroutine per MTA connection, and Postfix opens a
// connection per SMTP session, often per message: the scan (gRPC call,
// protobuf) needs a deep stack, and growing a fresh goroutine's stack to it
// for every message costs more than handing the call to a goroutine that
// has it already. Idle goroutines exit after runnerIdle or on stop.
type runner struct {
	jobs     chan *call
	quit     chan struct{}
	stopOnce sync.Once
}

// runnerIdle is how long a runner goroutine waits for work before it exits.
const runnerIdle = time.Minute

// call is one function run on a runner goroutine. done receives the value
// of a panic in fn, or nil; a session reuses its call for every message.
type call struct {
	fn   func()
	done chan any
}

func newRunner() *runner {
	return &runner{jobs: make(chan *call), quit: make(chan struct{})}
}

// run runs c.fn on a runner goroutine and waits for it. A panic in fn is
// raised again in the caller, as if fn had run there.
func (r *runner) run(c *call) {
	select {
	case r.jobs <- c: // an idle goroutine takes it
	default:
		go r.work(c)
	}
	if p := <-c.done; p != nil {
		panic(p)
	}
}

func (r *runner) work(c *call) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		c.done <- c.exec()
		idle.Reset(runnerIdle)
		select {
		case c = <-r.jobs:
		case <-idle.C:
			return
		case <-r.quit:
			return
		}
	}
}

func (c *call) exec() (panicked any) {
	defer func() { panicked = recover() }()
	c.fn()
	return nil
}

// stop makes idle goroutines exit; calls in progress finish.
func (r *runner) stop() { r.stopOnce.Do(func() { close(r.quit) }) }
