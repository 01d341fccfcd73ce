package postfixtest

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Policy is the scillad policy of the end-to-end tests: example.com is
// protected; boss@ rejects spam with "Spam is not welcome here"; sales@ has
// spam redirected to quarantine@; mail from @spammer.test is black-listed.
// DNS methods are off so nothing leaves the machine.
const Policy = `protected_domains: ["example.com"]
default:
  methods: {dns: false, surbl: false}
  black_list: ["@spammer.test"]
groups:
  - id: 2
    name: Management
    recipients: [boss@example.com]
    actions:
      spam: {action: reject, reject_text: "Spam is not welcome here"}
      blacklisted: {action: reject, reject_text: "Spam is not welcome here"}
  - id: 3
    name: Sales
    recipients: [sales@example.com]
    actions:
      spam: {action: redirect, addresses: [quarantine@example.com]}
`

// Scillad is a running real scillad built from ./server/cmd/scillad.
type Scillad struct {
	// Addr is the client address "tcp:127.0.0.1:PORT".
	Addr string
	port int
	dir  string
	bin  string
	t    testing.TB
	args []string
	proc *Process
}

// StartScillad builds and starts scillad with Policy on a free loopback
// port, adding args to its command line (e.g. -cpuprofile FILE); it is
// killed when the test ends.
func StartScillad(t testing.TB, args ...string) *Scillad {
	t.Helper()
	s := &Scillad{bin: Build(t, "./server/cmd/scillad"), dir: t.TempDir(), t: t, port: FreePort(t), args: args}
	s.Addr = fmt.Sprintf("tcp:127.0.0.1:%d", s.port)
	policy := filepath.Join(s.dir, "policy.yaml")
	if err := os.WriteFile(policy, []byte(Policy), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("server:\n  listen: [%q]\n  policy_file: %q\nadmin:\n  socket: \"\"\n", s.Addr, policy)
	if err := os.WriteFile(filepath.Join(s.dir, "scillad.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	s.Start()
	return s
}

// Start (re)starts the server on the same port.
func (s *Scillad) Start() {
	s.t.Helper()
	s.proc = StartProcess(s.t, "scillad", s.Addr, s.bin, append([]string{"-config", filepath.Join(s.dir, "scillad.yaml"), "-state-dir", filepath.Join(s.dir, "state")}, s.args...)...)
}

// Process returns the running server process.
func (s *Scillad) Process() *Process { return s.proc }

// Stop ends the server with SIGTERM (it drains and exits, writing a CPU
// profile if it was asked for one) and waits for it.
func (s *Scillad) Stop() {
	_ = s.proc.Cmd.Process.Signal(syscall.SIGTERM)
	<-s.proc.done
}

// Kill stops the server abruptly.
func (s *Scillad) Kill() { s.proc.Kill() }
