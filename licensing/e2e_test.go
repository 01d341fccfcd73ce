package licensing_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestEndToEnd issues a key with scilla-license, installs it with `scilla
// license install` into a running scillad, sees it active in `scilla
// license info` and through grpcurl, scans mail before (No License) and
// after (rated), then stops scillad and reads the persisted usage offline.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts scillad; skipped with -short")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	grpcurl := findGrpcurl(root)
	if grpcurl == "" {
		t.Skip("grpcurl not found: `make tools` installs .bin/grpcurl")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./server/cmd/scillad", "./server/cmd/scilla", "./licensing/cmd/scilla-license")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	run := func(name string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		t.Logf("$ %s %s\n%s", name, strings.Join(args, " "), out.String())
		return out.String(), err
	}
	must := func(name string, args ...string) string {
		t.Helper()
		out, err := run(name, args...)
		if err != nil {
			t.Fatalf("%s %v: %v", name, args, err)
		}
		return out
	}

	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	must("scilla-license", "keygen", "-out", filepath.Join(dir, "issuer"))
	pub, err := os.ReadFile(filepath.Join(dir, "issuer.pub"))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "customer.key")
	must("scilla-license", "issue", "-issuer-key", filepath.Join(dir, "issuer.key"), "-serial", "SC-E2E-1",
		"-licensee", "End To End Ltd", "-period", "365d", "-mailboxes", "50", "-daily-traffic", "1GiB", "-out", keyFile)
	must("scilla-license", "verify", "-issuer-file", filepath.Join(dir, "issuer.pub"), keyFile)

	token := filepath.Join(dir, "token")
	if err := os.WriteFile(token, []byte("e2e-admin-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "scilla.yaml")
	cfg := fmt.Sprintf("server:\n  listen: [\"tcp:127.0.0.1:0\"]\n  state_dir: %s\nadmin:\n  token_file: %s\nlicense:\n  trial: false\n  issuers: [%q]\n",
		state, token, strings.TrimSpace(string(pub)))
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	tcp, stopScillad := startScillad(t, filepath.Join(bin, "scillad"), cfgFile)
	grpc := func(method string, data any, extra ...string) (map[string]any, error) {
		t.Helper()
		body, _ := json.Marshal(data)
		args := append([]string{"-plaintext", "-max-time", "10"}, extra...)
		args = append(args, "-d", string(body), tcp, method)
		cmd := exec.Command(grpcurl, args...)
		out, err := cmd.CombinedOutput()
		t.Logf("$ grpcurl %s\n%s", strings.Join(args, " "), out)
		if err != nil {
			return nil, fmt.Errorf("%v: %s", err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			return nil, fmt.Errorf("grpcurl output: %v", err)
		}
		return m, nil
	}
	auth := []string{"-H", "authorization: Bearer e2e-admin-token-0123456789"}

	msg := "From: alice@sender.example\r\nTo: bob@customer.example\r\nSubject: hello\r\nMessage-ID: <e2e@sender.example>\r\n\r\nLunch at noon?\r\n"
	// scan returns the info of the one result and its X-SpamTest-Info header.
	scan := func() (info, header string) {
		t.Helper()
		resp, err := grpc("scilla.v1.ScannerService/Scan", map[string]any{
			"envelope": map[string]any{"clientIp": "192.0.2.1", "helo": "mx.sender.example", "mailFrom": "alice@sender.example", "rcptTo": []string{"bob@customer.example"}},
			"message":  base64.StdEncoding.EncodeToString([]byte(msg)),
		})
		if err != nil {
			t.Fatal(err)
		}
		results, _ := resp["results"].([]any)
		if len(results) != 1 {
			t.Fatalf("scan: want one result, got %v", resp)
		}
		r, _ := results[0].(map[string]any)
		info, _ = r["info"].(string)
		mods, _ := r["modifications"].(map[string]any)
		hs, _ := mods["addHeaders"].([]any)
		for _, h := range hs {
			if h, _ := h.(map[string]any); strings.EqualFold(fmt.Sprint(h["name"]), "X-SpamTest-Info") {
				header = fmt.Sprint(h["value"])
			}
		}
		return info, header
	}

	// No key and the trial off: mail passes, tagged No License.
	if info, header := scan(); info != "INFO_NO_LICENSE" || header != "No License" {
		t.Fatalf("before install: info %q, X-SpamTest-Info %q; want INFO_NO_LICENSE and No License", info, header)
	}
	if out := must("scilla", "license", "info", "--state-dir", state); !strings.Contains(out, "no licence: no key installed") {
		t.Errorf("info before install:\n%s", out)
	}

	// Install through the admin socket (the default for admin commands).
	out := must("scilla", "license", "install", keyFile, "--state-dir", state)
	if !strings.Contains(out, "installed key SC-E2E-1 as the active key") {
		t.Errorf("install output:\n%s", out)
	}
	// Info over TCP with the bearer token.
	out = must("scilla", "license", "info", "--server", "tcp:"+tcp, "--token-file", token)
	for _, want := range []string{"state:     active: commercial key SC-E2E-1 for End To End Ltd, 365 days left", "active:    SC-E2E-1 (active commercial key for End To End Ltd)", "50 protected mailboxes, 1 GiB a day", "reserve:   none"} {
		if !strings.Contains(out, want) {
			t.Errorf("info lacks %q:\n%s", want, out)
		}
	}
	if _, err := grpc("scilla.v1.LicenseService/Info", map[string]any{}); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Errorf("LicenseService/Info without a token: %v, want Unauthenticated", err)
	}
	info, err := grpc("scilla.v1.LicenseService/Info", map[string]any{}, auth...)
	if err != nil {
		t.Fatal(err)
	}
	active, _ := info["active"].(map[string]any)
	if active["serial"] != "SC-E2E-1" || active["state"] != "active" || active["type"] != "LICENSE_TYPE_COMMERCIAL" || active["maxMailboxes"] != "50" {
		t.Errorf("grpcurl Info active = %v", active)
	}

	// Mail is rated now, and counted.
	if info, header := scan(); info != "INFO_NONE" || header != "" {
		t.Fatalf("after install: info %q, X-SpamTest-Info %q; want INFO_NONE and no header", info, header)
	}
	info, err = grpc("scilla.v1.LicenseService/Info", map[string]any{}, auth...)
	if err != nil {
		t.Fatal(err)
	}
	if info["mailboxesUsed"] != "1" || info["bytesToday"] != fmt.Sprint(len(msg)) {
		t.Errorf("usage after one scan: mailboxes %v bytes %v, want 1 and %d", info["mailboxesUsed"], info["bytesToday"], len(msg))
	}

	// A second key becomes the reserve; a wrong one is refused clearly.
	must("scilla-license", "issue", "-issuer-key", filepath.Join(dir, "issuer.key"), "-serial", "SC-E2E-2",
		"-licensee", "End To End Ltd", "-period", "365d", "-out", filepath.Join(dir, "renewal.key"))
	if out := must("scilla", "license", "install", "--state-dir", state, filepath.Join(dir, "renewal.key")); !strings.Contains(out, "as the reserve key") {
		t.Errorf("second install:\n%s", out)
	}
	bad, _ := os.ReadFile(keyFile)
	os.WriteFile(filepath.Join(dir, "bad.key"), bytes.Replace(bad, []byte("Mailboxes: 50"), []byte("Mailboxes: 99"), 1), 0o644)
	if out, err := run("scilla", "license", "install", "--state-dir", state, filepath.Join(dir, "bad.key")); err == nil || !strings.Contains(out, "signature does not match") {
		t.Errorf("tampered key: %v\n%s", err, out)
	}

	// Stopped: the command works on the state directory and usage persisted.
	stopScillad()
	out = must("scilla", "license", "remove", "--reserve", "--state-dir", state, "--config", cfgFile)
	for _, want := range []string{"working on " + state + " directly", "removed 1 key file(s)", "active:    SC-E2E-1", "reserve:   none", "usage:     1 protected mailboxes"} {
		if !strings.Contains(out, want) {
			t.Errorf("offline remove lacks %q:\n%s", want, out)
		}
	}
}

func findGrpcurl(root string) string {
	if p := filepath.Join(root, ".bin", "grpcurl"); fileExists(p) {
		return p
	}
	if p, err := exec.LookPath("grpcurl"); err == nil {
		return p
	}
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

var listening = regexp.MustCompile(`listening.*addr=tcp:(127\.0\.0\.1:\d+)`)

// startScillad starts scillad and returns its TCP address once it listens,
// and a function that stops it (also run at cleanup). Its log is shown when
// the test fails.
func startScillad(t *testing.T, bin, cfg string) (string, func()) {
	t.Helper()
	cmd := exec.Command(bin, "-config", cfg)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		logs strings.Builder
	)
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { <-copied; cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			mu.Lock()
			t.Logf("scillad log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	select {
	case a := <-addr:
		return a, stop
	case <-copied:
		cmd.Wait()
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("scillad exited before listening: %v\n%s", cmd.ProcessState, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("scillad did not start listening within 30s")
	}
	return "", stop
}
