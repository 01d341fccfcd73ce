package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/freeport"
)

// Integration tests: they build the real scillad and scilla binaries, start
// scillad on a loopback port and drive it with the CLI and grpcurl.

var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scillad-test")
	if err != nil {
		panic(err)
	}
	binDir = dir
	out, err := exec.Command("go", "build", "-o", dir+"/", "github.com/scilla-mail/scilla/server/cmd/scillad", "github.com/scilla-mail/scilla/server/cmd/scilla").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(freeport.Get(t))
}

type server struct {
	cmd   *exec.Cmd
	addr  string
	cfg   string
	state string
}

func startServer(t *testing.T, extra string) *server {
	t.Helper()
	dir := t.TempDir()
	addr := freePort(t)
	cfg := filepath.Join(dir, "scillad.yaml")
	body := fmt.Sprintf("server:\n  listen: [\"tcp:%s\"]\n  state_dir: %s\n%s", addr, filepath.Join(dir, "state"), extra)
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir, "scillad"), "-config", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, addr: addr, cfg: cfg, state: filepath.Join(dir, "state")}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("scillad log:\n%s", b)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatal("scillad did not start listening")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runCmd(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return out.String(), code
}

func scilla(t *testing.T, args ...string) (string, int) {
	return runCmd(t, filepath.Join(binDir, "scilla"), args...)
}

const testdata = "../../check/gtube/testdata/"

func TestScanWithCLI(t *testing.T) {
	s := startServer(t, "")
	tests := []struct{ file, want string }{
		{"gtube.eml", "SPAM"},
		{"ham.eml", "NOT_DETECTED"},
	}
	for _, tt := range tests {
		out, code := scilla(t, "scan", "--server", "tcp:"+s.addr, "--from", "a@example.org", "--rcpt", "b@example.com", "--ip", "192.0.2.7", testdata+tt.file)
		if code != 0 || !strings.HasPrefix(out, tt.want+"\t") {
			t.Errorf("scan %s: exit %d, output:\n%s\nwant it to start with %s", tt.file, code, out, tt.want)
		}
	}
	out, code := scilla(t, "scan", "--json", "--server", "tcp:"+s.addr, testdata+"gtube.eml")
	var resp struct {
		Results []struct{ Status string }
	}
	if code != 0 || json.Unmarshal([]byte(out), &resp) != nil || len(resp.Results) != 1 || resp.Results[0].Status != "STATUS_SPAM" {
		t.Errorf("scan --json: exit %d, output %s", code, out)
	}
}

func TestStatusOverAdminSocket(t *testing.T) {
	s := startServer(t, "")
	out, code := scilla(t, "status", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "pool:") || !strings.Contains(out, "policy:") {
		t.Fatalf("status over the admin socket: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "reload", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "reloaded policy embedded defaults") || !strings.Contains(out, "reloaded database") {
		t.Fatalf("reload over the admin socket: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "policy", "reload", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "1 groups") {
		t.Fatalf("policy reload over the admin socket: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "status", "--server", "tcp:"+s.addr)
	if code == 0 || !strings.Contains(out, "unauthenticated") {
		t.Fatalf("status over TCP without a token: exit %d: %s", code, out)
	}
}

func TestCLIServerUnreachable(t *testing.T) {
	out, code := scilla(t, "scan", "--server", "tcp:"+freePort(t), testdata+"ham.eml")
	if code == 0 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "unavailable") {
		t.Fatalf("unreachable server: exit %d, output %q; want non-zero and one line", code, out)
	}
}

func grpcurl(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	p, _ := filepath.Abs("../../../.bin/grpcurl")
	if _, err := os.Stat(p); err != nil {
		t.Skip("grpcurl not installed: run `make tools` (CI does)")
	}
	return p
}

func TestGrpcurl(t *testing.T) {
	g := grpcurl(t)
	s := startServer(t, "")
	out, code := runCmd(t, g, "-plaintext", s.addr, "list")
	for _, svc := range []string{"scilla.v1.ScannerService", "scilla.v1.AdminService", "grpc.health.v1.Health"} {
		if code != 0 || !strings.Contains(out, svc) {
			t.Fatalf("grpcurl list: exit %d, missing %s in:\n%s", code, svc, out)
		}
	}
	out, code = runCmd(t, g, "-plaintext", s.addr, "describe", "scilla.v1.ScanRequest")
	if code != 0 || !strings.Contains(out, "bytes message") {
		t.Fatalf("grpcurl describe: exit %d:\n%s", code, out)
	}
	out, code = runCmd(t, g, "-plaintext", s.addr, "grpc.health.v1.Health/Check")
	if code != 0 || !strings.Contains(out, "SERVING") {
		t.Fatalf("health check: exit %d:\n%s", code, out)
	}
	gtube, err := os.ReadFile(testdata + "gtube.eml")
	if err != nil {
		t.Fatal(err)
	}
	reqJSON, _ := json.Marshal(map[string]any{
		"message":  gtube,
		"envelope": map[string]any{"mailFrom": "a@example.org", "rcptTo": []string{"b@example.com"}},
	})
	out, code = runCmd(t, g, "-plaintext", "-d", string(reqJSON), s.addr, "scilla.v1.ScannerService/Scan")
	if code != 0 || !strings.Contains(out, "STATUS_SPAM") {
		t.Fatalf("grpcurl Scan: exit %d:\n%s", code, out)
	}
	out, _ = runCmd(t, g, "-plaintext", "-d", `{"envelope":{"rcptTo":["b@example.com"]}}`, s.addr, "scilla.v1.ScannerService/Scan")
	if !strings.Contains(out, "InvalidArgument") || !strings.Contains(out, "message: empty") {
		t.Fatalf("grpcurl Scan with empty message:\n%s", out)
	}
}

func TestSignals(t *testing.T) {
	s := startServer(t, "")
	scan := func() string {
		out, _ := scilla(t, "scan", "--server", "tcp:"+s.addr, testdata+"ham.eml")
		return out
	}
	// SIGHUP with an invalid config: refused, the old config keeps serving.
	orig, _ := os.ReadFile(s.cfg)
	if err := os.WriteFile(s.cfg, append(orig, []byte("pool:\n  max_workerz: 3\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if out := scan(); !strings.HasPrefix(out, "NOT_DETECTED") {
		t.Fatalf("after invalid SIGHUP reload the server does not scan: %s", out)
	}
	// SIGHUP with a valid config that forbids loopback: applied.
	if err := os.WriteFile(s.cfg, append(orig, []byte("  allowed_networks: [\"10.0.0.0/8\"]\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(scan(), "allowed_networks") {
		if time.Now().After(deadline) {
			t.Fatal("valid SIGHUP reload was not applied")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// SIGTERM: drain and exit 0.
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("scillad did not exit after SIGTERM")
	}
}

func TestConfigFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("server:\n  listen: [\"tcp:127.0.0.1:2277\"]\n  max_mesage_bytes: 10\nscan:\n  deadline: 1h\n"), 0o644)
	out, code := runCmd(t, filepath.Join(binDir, "scillad"), "-check-config", bad)
	if code == 0 || !strings.Contains(out, bad+":3: unknown key \"max_mesage_bytes\"") {
		t.Fatalf("-check-config with a mistyped key: exit %d:\n%s", code, out)
	}
	os.WriteFile(bad, []byte("scan:\n  deadline: 1h\n"), 0o644)
	out, code = runCmd(t, filepath.Join(binDir, "scillad"), "-check-config", bad)
	if code == 0 || !strings.Contains(out, bad+":2: scan.deadline: must be 100ms..10m") {
		t.Fatalf("-check-config with a bad value: exit %d:\n%s", code, out)
	}
	out, code = runCmd(t, filepath.Join(binDir, "scillad"), "-print-config")
	for _, want := range []string{"tcp:127.0.0.1:2277", "max_workers: 10", "deadline: 25s", "idle_timeout: 5m0s", "state_dir: /var/lib/scilla"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("-print-config: exit %d, missing %q:\n%s", code, want, out)
		}
	}
}
