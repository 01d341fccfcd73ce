// Package qmail_test exercises the qmail integration files in this folder:
// install.sh in both modes, the tcp.smtp rule and the example scilla.yaml.
package qmail_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	"github.com/scilla-mail/scilla/clients/qmail"
)

// fakeQueue records what the "original qmail-queue" got: the message
// from descriptor 0, then the envelope from descriptor 1, and QMAILQUEUE.
const fakeQueue = `#!/bin/sh
cat > "$REC.msg" || exit 54
cat <&1 > "$REC.env" || exit 54
printf '%s' "$QMAILQUEUE" > "$REC.qmailqueue"
`

func build(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "scilla-qmail")
	cmd := exec.Command("go", "build", "-o", out, "./clients/qmail/cmd/scilla-qmail")
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	return out
}

// qmailTree makes $QMAIL/bin/qmail-queue (the fake) under a temp dir.
func qmailTree(t *testing.T) (qmailDir, rec string) {
	t.Helper()
	dir := t.TempDir()
	qmailDir = filepath.Join(dir, "var", "qmail")
	os.MkdirAll(filepath.Join(qmailDir, "bin"), 0o755)
	if err := os.WriteFile(filepath.Join(qmailDir, "bin", "qmail-queue"), []byte(fakeQueue), 0o755); err != nil {
		t.Fatal(err)
	}
	return qmailDir, filepath.Join(dir, "record")
}

func installSh(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"install.sh"}, args...)...)
	cmd.Env = append(os.Environ(), append(env, "OWNER="+fmt.Sprint(os.Getuid()), "GROUP="+fmt.Sprint(os.Getgid()))...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// smtpd runs the installed binary the way qmail-smtpd runs qmail-queue.
func smtpd(t *testing.T, bin, config string, env []string) {
	t.Helper()
	msgR, msgW, _ := os.Pipe()
	envR, envW, _ := os.Pipe()
	cmd := exec.Command(bin, "-config", config)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout = msgR, envR
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	msgR.Close()
	envR.Close()
	msgW.WriteString("From: alice@example.org\nTo: bob@example.com\nSubject: hello\n\nHi Bob.\n")
	msgW.Close()
	e := &qmail.Envelope{From: "alice@example.org", To: []string{"bob@example.com"}}
	envW.Write(e.Bytes())
	envW.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scilla-qmail: %v\n%s", err, stderr.String())
	}
}

// config writes the example scilla.yaml with the test's scanner and queue.
func config(t *testing.T, server, queue string) string {
	t.Helper()
	b, err := os.ReadFile("scilla.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), `servers: ["tcp:127.0.0.1:2277"]`, fmt.Sprintf("servers: [%q]", server), 1)
	s = strings.Replace(s, "queue: /var/qmail/bin/qmail-queue.orig", "queue: "+queue, 1)
	p := filepath.Join(t.TempDir(), "scilla.yaml")
	os.WriteFile(p, []byte(s), 0o644)
	return p
}

func checkRecord(t *testing.T, rec string) {
	t.Helper()
	msg, err := os.ReadFile(rec + ".msg")
	if err != nil {
		t.Fatalf("nothing queued: %v", err)
	}
	if !strings.Contains(string(msg), "X-Spamtest-Status-Extended: Not detected") || !strings.HasSuffix(string(msg), "\nHi Bob.\n") {
		t.Errorf("queued message:\n%s", msg)
	}
	env, _ := os.ReadFile(rec + ".env")
	if string(env) != "Falice@example.org\x00Tbob@example.com\x00\x00" {
		t.Errorf("queued envelope %q", env)
	}
	if qq, _ := os.ReadFile(rec + ".qmailqueue"); len(qq) != 0 {
		t.Errorf("QMAILQUEUE=%q reached the original qmail-queue", qq)
	}
}

func TestExampleConfig(t *testing.T) {
	if _, err := clients.LoadSettings("scilla.yaml"); err != nil {
		t.Errorf("client section: %v", err)
	}
	cfg, err := qmail.LoadConfig("scilla.yaml", false)
	if err != nil {
		t.Fatal(err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Errorf("qmail section: %v", errs)
	}
}

func TestInstallReplace(t *testing.T) {
	bin := build(t)
	srv := clienttest.Start(t, clienttest.Policy())
	qdir, rec := qmailTree(t)
	installSh(t, []string{"QMAIL=" + qdir}, "replace", bin)
	q := filepath.Join(qdir, "bin", "qmail-queue")
	orig, _ := os.ReadFile(q + ".orig")
	if string(orig) != fakeQueue {
		t.Fatal("qmail-queue.orig is not the original")
	}
	fi, err := os.Stat(q)
	if err != nil || fi.Mode()&os.ModeSetuid == 0 || fi.Mode().Perm() != 0o711 {
		t.Fatalf("installed qmail-queue mode %v (%v), want setuid 0711", fi.Mode(), err)
	}
	smtpd(t, q, config(t, srv.Addr, q+".orig"), []string{"REC=" + rec, "TCPREMOTEIP=192.0.2.9"})
	checkRecord(t, rec)
	if got := srv.Requests()[0].GetEnvelope().GetClientIp(); got != "192.0.2.9" {
		t.Errorf("client ip %q", got)
	}
	// Installing twice keeps the real original.
	installSh(t, []string{"QMAIL=" + qdir}, "replace", bin)
	if orig, _ := os.ReadFile(q + ".orig"); string(orig) != fakeQueue {
		t.Fatal("second install overwrote qmail-queue.orig")
	}
	installSh(t, []string{"QMAIL=" + qdir}, "uninstall")
	if b, _ := os.ReadFile(q); string(b) != fakeQueue {
		t.Error("uninstall did not restore qmail-queue")
	}
}

func TestInstallQMAILQUEUE(t *testing.T) {
	bin := build(t)
	srv := clienttest.Start(t, clienttest.Policy())
	qdir, rec := qmailTree(t)
	bindir := filepath.Join(t.TempDir(), "bin")
	installSh(t, []string{"QMAIL=" + qdir, "BINDIR=" + bindir}, "qmailqueue", bin)
	// The tcp.smtp rule names the installed binary for outside clients.
	rule := ""
	f, err := os.Open("tcp.smtp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), ":allow,QMAILQUEUE="); ok {
			rule = strings.Trim(v, `"`)
		}
	}
	if rule != "/usr/local/bin/scilla-qmail" {
		t.Fatalf("tcp.smtp rule names %q", rule)
	}
	installed := filepath.Join(bindir, filepath.Base(rule))
	smtpd(t, installed, config(t, srv.Addr, filepath.Join(qdir, "bin", "qmail-queue")),
		[]string{"REC=" + rec, "QMAILQUEUE=" + installed})
	checkRecord(t, rec)
}
