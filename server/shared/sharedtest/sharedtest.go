// Package sharedtest starts a throw-away redis-server for tests: on
// 127.0.0.1 and a free port, in a temporary directory, without
// persistence. Tests skip when redis-server is not installed.
package sharedtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/internal/freeport"
	"github.com/scilla-mail/scilla/server/shared"
)

// Server is a running redis-server (or Redis Sentinel).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
	// args are the command line after the binary.
	args []string
}

// Start starts redis-server, stopped when the test ends. It skips the
// test when redis-server is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	s := newServer(t)
	s.args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "yes"}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// StartReplica starts a redis-server that replicates master.
func StartReplica(t testing.TB, master *Server) *Server {
	t.Helper()
	s := newServer(t)
	s.args = []string{"--port", strconv.Itoa(s.Port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--protected-mode", "yes",
		"--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}
	s.Start()
	t.Cleanup(s.Stop)
	s.waitLinked()
	return s
}

// waitLinked waits until a replica has synchronised with its master: on
// a loaded machine the first sync takes seconds, and a test that writes
// before it asks the master for an acknowledgement no replica can give.
func (s *Server) waitLinked() {
	s.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer rdb.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := rdb.Info(ctx, "replication").Result()
		cancel()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("replica on %s did not sync with its master in 30 s: %v", s.Addr(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartSentinel starts a Redis Sentinel that monitors master under name,
// alone (quorum 1) and quickly: the master is down after 500 ms without
// an answer and a replica is promoted then.
func StartSentinel(t testing.TB, name string, master *Server) *Server {
	t.Helper()
	s := newServer(t)
	cfg := filepath.Join(s.dir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds %[3]s 500\nsentinel failover-timeout %[3]s 3000\nsentinel parallel-syncs %[3]s 1\n",
		s.Port, s.dir, name, master.Port)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.args = []string{cfg, "--sentinel", "--loglevel", "warning"}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

func newServer(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed (Debian package redis-server; .ci/install.d/50-redis.sh): skipping the shared-state test")
	}
	// go-redis logs every failed dial to the standard logger; the tests
	// stop Redis on purpose.
	shared.RouteLibraryLog(slog.New(slog.DiscardHandler))
	return &Server{t: t, bin: bin, dir: t.TempDir(), Port: freeport.Get(t)}
}

// Addr is the server's HOST:PORT.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// Start (re)starts the server on its port, empty.
func (s *Server) Start() {
	s.t.Helper()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, s.args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(out)) }()
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.t.Fatalf("redis-server on %s did not start: %v", s.Addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (its data is gone: no persistence).
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server dies too
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): it keeps its data but answers
// nothing, so clients time out as with a Redis that is unreachable.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume undoes Pause.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil {
		s.t.Fatal("redis-server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

// Config returns a redis section for the server with short timeouts.
func (s *Server) Config() shared.Config {
	c := shared.DefaultConfig()
	c.Address = s.Addr()
	c.Timeout = conf.Duration(500 * time.Millisecond)
	c.SyncInterval = conf.Duration(200 * time.Millisecond)
	return c
}

// Client returns a client for the server, closed when the test ends.
func (s *Server) Client(t testing.TB) *shared.Client {
	t.Helper()
	c, err := shared.New(s.Config(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Flush empties the server.
func (s *Server) Flush(t testing.TB) {
	t.Helper()
	c := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Redis().FlushAll(ctx).Err(); err != nil {
		t.Fatal(fmt.Errorf("flushall: %w", err))
	}
}
