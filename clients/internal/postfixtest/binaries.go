package postfixtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// Build compiles a main package of this module (e.g.
// "./clients/milter/cmd/scilla-milter") once per test process and returns
// the binary's path.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		// One fixed directory per test package, reused by every run, so
		// nothing piles up in /tmp (a per-run temporary directory would
		// outlive the test process, which has no hook to remove it).
		wd, _ := os.Getwd()
		d := filepath.Join(os.TempDir(), "scilla-test-bin", filepath.Base(filepath.Dir(wd))+"-"+filepath.Base(wd))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// ModuleRoot returns the repository's root: the nearest directory above
// the working directory that holds go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
}

// Process is a started helper binary, killed when the test ends.
type Process struct {
	Cmd  *exec.Cmd
	out  *LockedBuffer
	done chan struct{}
}

// StartProcess runs bin with args, logging its output into the test log on
// failure, and waits until addr (a "tcp:host:port" or "unix:/path", or "")
// accepts connections.
func StartProcess(t testing.TB, name, addr, bin string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), out: &LockedBuffer{}, done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = p.out, p.out
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.Cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	if addr != "" {
		network, a, _ := strings.Cut(addr, ":")
		deadline := time.Now().Add(20 * time.Second)
		for {
			c, err := net.DialTimeout(network, a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-p.done:
				t.Fatalf("%s exited: %s", name, p.Output())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not listen on %s: %v\n%s", name, addr, err, p.Output())
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	return p
}

// Kill stops the process (SIGKILL) and waits for it.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Wait waits for the process to exit.
func (p *Process) Wait() { <-p.done }

// Output returns what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// LockedBuffer collects a process's output from several goroutines.
type LockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

// Write appends p.
func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
