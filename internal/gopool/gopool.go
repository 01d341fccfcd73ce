// Package gopool runs functions on long-lived goroutines. A server that
// starts a goroutine per request for work with a deep stack (a gRPC call, a
// network check) grows a fresh stack to that depth every time; handing the
// work to a goroutine that already has the stack is cheaper. Idle
// goroutines exit after a minute, or when the pool is stopped.
package gopool

import (
	"sync"
	"time"
)

// Pool is a set of reusable goroutines. The zero value is ready to use.
type Pool struct {
	once     sync.Once
	jobs     chan func()
	quit     chan struct{}
	stopOnce sync.Once
}

// idle is how long a goroutine waits for work before it exits.
const idle = time.Minute

func (p *Pool) init() {
	p.once.Do(func() {
		p.jobs = make(chan func())
		p.quit = make(chan struct{})
	})
}

// Go runs fn on an idle goroutine of the pool, or on a new one, and returns
// at once. As with the go statement, a panic in fn ends the process unless
// fn recovers it.
func (p *Pool) Go(fn func()) {
	p.init()
	select {
	case p.jobs <- fn:
	default:
		go p.work(fn)
	}
}

// Run runs fn on a goroutine of the pool and waits for it. A panic in fn is
// raised again in the caller, as if fn had run there.
func (p *Pool) Run(fn func()) {
	done := make(chan any, 1)
	p.Go(func() {
		defer func() { done <- recover() }()
		fn()
	})
	if v := <-done; v != nil {
		panic(v)
	}
}

// Stop makes idle goroutines exit; functions in progress finish.
func (p *Pool) Stop() {
	p.init()
	p.stopOnce.Do(func() { close(p.quit) })
}

func (p *Pool) work(fn func()) {
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		fn()
		t.Reset(idle)
		select {
		case fn = <-p.jobs:
		case <-t.C:
			return
		case <-p.quit:
			return
		}
	}
}
