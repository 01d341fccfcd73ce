//go:build linux

// Package sendmailtest runs a throw-away Sendmail daemon for scilla-milter's
// end-to-end test of deploy/sendmail/scilla.mc. The sendmail.cf is built
// with m4 from the real cf templates of the Debian sendmail-cf package; the
// daemon listens on a free loopback port, keeps its queue, pid and
// statistics files in a temporary directory and relays every message by SMTP
// to a next hop the test controls (postfixtest's sink).
//
// Debian's sendmail-bin conflicts with the postfix package the other
// end-to-end tests need, so CI unpacks it into /opt/scilla-sendmail
// (.ci/install.d/45-sendmail.sh); without it, m4 or root the tests are
// skipped with a message.
//
// Sendmail looks up its own host name before it reads any configuration and,
// when the name has no dot and does not resolve to one (e.g. a container
// named "vm"), sleeps for 60 seconds. The daemon therefore runs in its own
// UTS namespace with the host name Hostname (which needs root, as running
// the daemon does anyway). Where no namespace may be created, the tests run
// only if the machine's host name is qualified already, and skip otherwise.
package sendmailtest

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pt "github.com/scilla-mail/scilla/clients/internal/postfixtest"
)

// Hostname is the daemon's host name ($j), set in its UTS namespace and in
// the configuration (confDOMAIN_NAME).
const Hostname = "scilla-test.localdomain"

// unpacked is where .ci/install.d/45-sendmail.sh puts the Debian packages.
const unpacked = "/opt/scilla-sendmail"

// Require returns the sendmail binary and the directory of the cf templates
// (the one holding m4/cf.m4), or skips the test. The binary is
// $SCILLA_SENDMAIL, else the unpacked Debian one, else an installed one; the
// templates are $SCILLA_SENDMAIL_CF, else the ones of the same tree.
func Require(t testing.TB) (bin, cfDir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("sendmail end-to-end test needs root (the daemon runs in its own UTS namespace); CI runs as root")
	}
	bin = os.Getenv("SCILLA_SENDMAIL")
	if bin == "" {
		for _, p := range []string{
			unpacked + "/usr/libexec/sendmail/sendmail", // Debian 12
			unpacked + "/usr/lib/sm.bin/sendmail",       // Debian 11 and older
			"/usr/libexec/sendmail/sendmail",
			"/usr/lib/sm.bin/sendmail",
		} {
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		t.Skip("sendmail end-to-end test needs Sendmail: set SCILLA_SENDMAIL or run .ci/install.d/45-sendmail.sh (unpacks Debian sendmail-bin and sendmail-cf into " + unpacked + ")")
	}
	cfDir = os.Getenv("SCILLA_SENDMAIL_CF")
	if cfDir == "" {
		// <root>/usr/libexec/sendmail/sendmail or <root>/usr/lib/sm.bin/sendmail
		// → <root>/usr/share/sendmail/cf
		root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(bin))))
		cfDir = filepath.Join(root, "usr", "share", "sendmail", "cf")
	}
	if _, err := os.Stat(filepath.Join(cfDir, "m4", "cf.m4")); err != nil {
		t.Skipf("sendmail end-to-end test needs the cf templates (Debian sendmail-cf) in %s; set SCILLA_SENDMAIL_CF: %v", cfDir, err)
	}
	for _, p := range []string{"m4", "hostname"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("sendmail end-to-end test needs %s on PATH", p)
		}
	}
	return bin, cfDir
}

// Config describes an instance.
type Config struct {
	// MC is m4 text added to the generated .mc before the MAILER lines,
	// e.g. deploy/sendmail/scilla.mc from Snippet.
	MC string
	// Relay is the "host:port" every message is relayed to by SMTP.
	Relay string
}

// Instance is a running Sendmail daemon.
type Instance struct {
	// Dir holds sendmail.mc, sendmail.cf, the queue and the logs.
	Dir string
	// Port is the SMTP port on 127.0.0.1.
	Port int
	t    testing.TB
	cmd  *exec.Cmd
	out  *pt.LockedBuffer
	done chan struct{}
	once sync.Once
}

// Start builds the configuration and starts the daemon; it is stopped and
// its directory removed when the test ends.
func Start(t testing.TB, cfg Config) *Instance {
	t.Helper()
	bin, cfDir := Require(t)
	dir, err := os.MkdirTemp("", "scilla-sm-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Instance{Dir: dir, Port: pt.FreePort(t), t: t, out: &pt.LockedBuffer{}, done: make(chan struct{})}
	t.Cleanup(func() {
		s.Stop()
		_ = os.RemoveAll(dir)
	})
	host, port, err := net.SplitHostPort(cfg.Relay)
	if err != nil {
		t.Fatalf("relay %q: %v", cfg.Relay, err)
	}
	if err := os.Mkdir(filepath.Join(dir, "mqueue"), 0o700); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		// No DNS: host names come from /etc/hosts only.
		"service.switch": "hosts files\naliases files\n",
		"aliases":        "",
		"statistics":     "",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mc := BaseMC(dir, s.Port, host, port, cfg.MC)
	if err := os.WriteFile(filepath.Join(dir, "sendmail.mc"), []byte(mc), 0o600); err != nil {
		t.Fatal(err)
	}
	cf, err := exec.Command("m4", filepath.Join(cfDir, "m4", "cf.m4"), filepath.Join(dir, "sendmail.mc")).Output()
	if err != nil {
		t.Fatalf("m4 sendmail.mc: %v\n%s", err, stderrOf(err))
	}
	if err := os.WriteFile(filepath.Join(dir, "sendmail.cf"), cf, 0o600); err != nil {
		t.Fatal(err)
	}
	// Sendmail reports most configuration errors and goes on without the
	// line; the milter's equates (-d64.5) only as debug output. Either
	// fails the test: the snippet must be taken as written.
	uts := true
	check, err := command(dir, bin, uts, "-bt", "-d64.5").CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		// No UTS namespace here (e.g. an unprivileged container): fine
		// only when the host name is qualified already.
		if h, _ := os.Hostname(); !strings.Contains(h, ".") {
			t.Skipf("sendmail end-to-end test: cannot create a UTS namespace (%v) and the host name %q has no dot: Sendmail would sleep 60 s at every start looking for its qualified name", err, h)
		}
		uts = false
		check, err = command(dir, bin, uts, "-bt", "-d64.5").CombinedOutput()
	}
	if err != nil {
		t.Fatalf("sendmail -bt: %v\n%s", err, check)
	}
	if bad := configErrors(string(check)); len(bad) > 0 {
		t.Fatalf("sendmail rejects parts of its configuration:\n%s\n--- sendmail.mc:\n%s", strings.Join(bad, "\n"), mc)
	}
	// -bD: daemon in the foreground; -X: SMTP traffic log for failures.
	s.cmd = command(dir, bin, uts, "-bD", "-X", filepath.Join(dir, "traffic.log"))
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start sendmail: %v", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-s.done:
			t.Fatalf("sendmail exited: %s", s.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("sendmail did not listen on %s: %v\n%s", s.Addr(), err, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// command runs sendmail with the instance's configuration in a process
// group of its own and, with uts, in a new UTS namespace whose host name is
// Hostname.
func command(dir, bin string, uts bool, args ...string) *exec.Cmd {
	args = append([]string{"-C", filepath.Join(dir, "sendmail.cf")}, args...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if uts {
		cmd = exec.Command("/bin/sh", append([]string{"-c", `hostname "$0" && exec "$@"`, Hostname, bin}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUTS, Setpgid: true}
	}
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	return cmd
}

// configErrors returns the lines of sendmail's output that complain about
// the configuration: "FILE: line N: ..." and, with -d64.5, unknown milter
// timeout letters ("Xname: W unknown").
func configErrors(out string) []string {
	var bad []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, ".cf: line ") || strings.HasPrefix(l, "X") && strings.HasSuffix(strings.TrimSpace(l), " unknown") {
			bad = append(bad, l)
		}
	}
	return bad
}

// BaseMC returns the .mc the instance is built from: a plain Linux
// configuration that keeps every file in dir, listens on 127.0.0.1:port,
// uses no DNS and relays all mail to relayHost:relayPort, with extra
// inserted before the MAILER lines.
func BaseMC(dir string, port int, relayHost, relayPort, extra string) string {
	p := func(name string) string { return filepath.Join(dir, name) }
	lines := []string{
		"divert(0)dnl",
		"OSTYPE(`linux')dnl",
		"define(`confDOMAIN_NAME', `" + Hostname + "')dnl",
		"define(`QUEUE_DIR', `" + p("mqueue") + "')dnl",
		"define(`confPID_FILE', `" + p("sendmail.pid") + "')dnl",
		"define(`STATUS_FILE', `" + p("statistics") + "')dnl",
		"define(`ALIAS_FILE', `" + p("aliases") + "')dnl",
		"define(`confSERVICE_SWITCH_FILE', `" + p("service.switch") + "')dnl",
		"define(`confHELP_FILE', `')dnl",
		"dnl The milter socket lives under the sticky /tmp, which Sendmail",
		"dnl otherwise calls an unsafe (world-writable) directory path.",
		"define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl",
		"dnl A busy shared test machine must not make Sendmail refuse or queue.",
		"define(`confREFUSE_LA', `1000')dnl",
		"define(`confQUEUE_LA', `1000')dnl",
		"define(`confDELAY_LA', `0')dnl",
		"define(`confTO_IDENT', `0')dnl",
		"define(`SMART_HOST', `esmtp:[" + relayHost + "]')dnl",
		"define(`ESMTP_MAILER_ARGS', `TCP $h " + relayPort + "')dnl",
		"FEATURE(`nocanonify')dnl",
		"FEATURE(`accept_unresolvable_domains')dnl",
		"FEATURE(`no_default_msa')dnl",
		"DAEMON_OPTIONS(`Port=" + strconv.Itoa(port) + ", Addr=127.0.0.1, Name=MTA')dnl",
		strings.TrimRight(extra, "\n"),
		"MAILER(`local')dnl",
		"MAILER(`smtp')dnl",
	}
	return strings.Join(lines, "\n") + "\n"
}

// Addr is the daemon's SMTP address.
func (s *Instance) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.Port) }

// Log returns what the daemon printed and the SMTP traffic it logged.
func (s *Instance) Log() string {
	traffic, _ := os.ReadFile(filepath.Join(s.Dir, "traffic.log"))
	return "output:\n" + s.out.String() + "\ntraffic:\n" + string(traffic)
}

// Queued counts the messages in the queue (qf files).
func (s *Instance) Queued() int {
	ents, _ := os.ReadDir(filepath.Join(s.Dir, "mqueue"))
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "qf") {
			n++
		}
	}
	return n
}

// Stop stops the daemon and its children (SIGTERM to the process group,
// SIGKILL after 5 s); it is safe to call twice.
func (s *Instance) Stop() {
	s.once.Do(func() {
		if s.t.Failed() {
			s.t.Logf("sendmail %s", s.Log())
		}
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		pgid := s.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-s.done
		}
	})
}

// Snippet returns deploy/sendmail/NAME verbatim, with each old string of
// repl (old, new, old, new...) replaced; an old string that does not occur
// fails the test, so the test always runs the documented lines.
func Snippet(t testing.TB, name string, repl ...string) string {
	t.Helper()
	root, err := pt.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "sendmail", name))
	if err != nil {
		t.Fatalf("read snippet: %v", err)
	}
	for i := 0; i+1 < len(repl); i += 2 {
		if !strings.Contains(string(b), repl[i]) {
			t.Fatalf("snippet %s does not contain %q", name, repl[i])
		}
	}
	return strings.NewReplacer(repl...).Replace(string(b))
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
