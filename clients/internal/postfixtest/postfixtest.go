// Package postfixtest starts throw-away Postfix instances and an LMTP sink
// for the clients' end-to-end tests. A Postfix instance gets its own config
// directory, queue and data directories under a temporary directory and
// listens on loopback ports only; it is stopped when the test ends.
//
// The tests need the Debian postfix package and root (Postfix's master
// refuses to run otherwise); without them they are skipped with a message.
package postfixtest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/scilla-mail/scilla/internal/freeport"
)

// Require skips the test unless Postfix, swaks and root are available.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("postfix end-to-end test needs root (Postfix master runs as root); CI runs as root")
	}
	for _, p := range []string{"postfix", "swaks", "postconf"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("postfix end-to-end test needs %s (Debian packages postfix and swaks; .ci/install.d/30-postfix.sh installs them)", p)
		}
	}
	if _, err := user.Lookup("postfix"); err != nil {
		t.Skip("postfix end-to-end test needs the postfix user (install the Debian postfix package)")
	}
}

// FreePort returns a loopback TCP port that was free a moment ago
// (freeport.Get).
func FreePort(t testing.TB) int { return freeport.Get(t) }

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago (freeport.GetN): ask for every port a setup needs at once.
func FreePorts(t testing.TB, n int) []int { return freeport.GetN(t, n) }

// Instance is a running Postfix.
type Instance struct {
	// Dir is the config directory (main.cf, master.cf, queue/, data/).
	Dir string
	// Port is the SMTP port of the first smtpd.
	Port    int
	t       testing.TB
	stopped bool
}

// Config describes an instance. Main and Master are added to a minimal
// configuration that relays every domain to Relay (an LMTP next hop such as
// "lmtp:inet:127.0.0.1:2599").
type Config struct {
	Relay  string
	Main   map[string]string
	Master []string
	// SMTPDOptions are "-o key=value" options for the first smtpd.
	SMTPDOptions []string
	// Port is the SMTP port of the first smtpd; 0 picks a free one.
	Port int
	// NoSMTPD leaves out the first smtpd line: Master brings its own
	// listener on Port (e.g. from a deploy/postfix snippet).
	NoSMTPD bool
}

// Start writes the configuration and starts Postfix.
func Start(t testing.TB, cfg Config) *Instance {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("", "scilla-pf-")
	if err != nil {
		t.Fatal(err)
	}
	// Postfix daemons run as the postfix user and must reach the queue.
	_ = os.Chmod(dir, 0o755)
	p := &Instance{Dir: dir, Port: cfg.Port, t: t}
	if p.Port == 0 {
		p.Port = FreePort(t)
	}
	for _, d := range []string{"queue", "data"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "postfix", filepath.Join(dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("chown data dir: %v %s", err, out)
	}
	main := map[string]string{
		"compatibility_level":                 "3.6",
		"queue_directory":                     filepath.Join(dir, "queue"),
		"data_directory":                      filepath.Join(dir, "data"),
		"mail_owner":                          "postfix",
		"setgid_group":                        "postdrop",
		"myhostname":                          "scilla-test.localdomain",
		"mydestination":                       "",
		"inet_interfaces":                     "127.0.0.1",
		"inet_protocols":                      "ipv4",
		"mynetworks":                          "127.0.0.0/8",
		"relay_domains":                       "",
		"default_transport":                   cfg.Relay,
		"relay_transport":                     cfg.Relay,
		"maillog_file":                        filepath.Join(dir, "maillog"),
		"maillog_file_prefixes":               dir,
		"disable_dns_lookups":                 "yes",
		"smtp_dns_support_level":              "disabled",
		"lmtp_dns_support_level":              "disabled",
		"smtpd_recipient_restrictions":        "permit_mynetworks, reject",
		"smtpd_relay_restrictions":            "permit_mynetworks, reject",
		"biff":                                "no",
		"queue_run_delay":                     "2s",
		"minimal_backoff_time":                "2s",
		"maximal_backoff_time":                "4s",
		"smtpd_client_connection_count_limit": "0",
		"smtpd_client_connection_rate_limit":  "0",
		"smtpd_client_message_rate_limit":     "0",
		"default_process_limit":               "100",
		"in_flow_delay":                       "0",
		"lmtp_connection_cache_on_demand":     "yes",
		"smtp_connection_cache_on_demand":     "yes",
	}
	for k, v := range cfg.Main {
		main[k] = v
	}
	var mb strings.Builder
	for k, v := range main {
		fmt.Fprintf(&mb, "%s = %s\n", k, v)
	}
	var master []string
	if !cfg.NoSMTPD {
		master = append(master, fmt.Sprintf("127.0.0.1:%d inet n - n - - smtpd", p.Port))
	}
	for _, o := range cfg.SMTPDOptions {
		master = append(master, "  -o "+o)
	}
	master = append(master, strings.Split(strings.TrimSpace(`
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd`), "\n")...)
	master = append(master, cfg.Master...)
	write(t, filepath.Join(dir, "main.cf"), mb.String())
	write(t, filepath.Join(dir, "master.cf"), strings.Join(master, "\n")+"\n")
	if out, err := exec.Command("postfix", "-c", dir, "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "maillog"))
		os.RemoveAll(dir)
		t.Fatalf("postfix start: %v\n%s\n%s", err, out, log)
	}
	t.Cleanup(p.Stop)
	// Wait for smtpd's listener.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix did not listen on %s: %v\n%s", p.Addr(), err, p.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

func write(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Addr is the SMTP address of the first smtpd.
func (p *Instance) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Log returns Postfix's log so far.
func (p *Instance) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.Dir, "maillog"))
	return string(b)
}

// Queued counts the messages in Postfix's queue (incoming, active,
// deferred, hold).
func (p *Instance) Queued() int {
	n := 0
	for _, q := range []string{"incoming", "active", "deferred", "hold", "maildrop"} {
		_ = filepath.Walk(filepath.Join(p.Dir, "queue", q), func(_ string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				n++
			}
			return nil
		})
	}
	return n
}

// Flush asks Postfix to retry deferred mail now.
func (p *Instance) Flush() {
	_ = exec.Command("postqueue", "-c", p.Dir, "-f").Run()
}

// Stop stops Postfix and removes its directories; it is safe to call twice.
func (p *Instance) Stop() {
	if p.stopped {
		return
	}
	p.stopped = true
	if p.t.Failed() {
		p.t.Logf("postfix log:\n%s", p.Log())
	}
	if out, err := exec.Command("postfix", "-c", p.Dir, "stop").CombinedOutput(); err != nil {
		p.t.Logf("postfix stop: %v %s", err, out)
	}
	// postfix stop returns before master has exited; give it a moment so
	// the queue can be removed.
	pidFile := filepath.Join(p.Dir, "queue", "pid", "master.pid")
	for i := 0; i < 100; i++ {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			break
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if pid <= 0 || exec.Command("kill", "-0", strconv.Itoa(pid)).Run() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	os.RemoveAll(p.Dir)
}

// Swaks runs swaks against addr with args and returns its output and exit
// error.
func Swaks(t testing.TB, addr string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("swaks", append([]string{"--server", addr, "--timeout", "30", "--hide-informational"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Delivered is one message received by the sink.
type Delivered struct {
	From string
	To   []string
	Data []byte
}

// Header returns the first value of a header field of the delivered
// message ("" when absent), unfolded.
func (d Delivered) Header(name string) string {
	v, _ := headerValues(d.Data, name)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Headers returns every value of a header field.
func (d Delivered) Headers(name string) []string {
	v, _ := headerValues(d.Data, name)
	return v
}

func headerValues(msg []byte, name string) ([]string, bool) {
	head := msg
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		head = msg[:i+2]
	} else if i := bytes.Index(msg, []byte("\n\n")); i >= 0 {
		head = msg[:i+1]
	}
	unfolded := strings.NewReplacer("\r\n ", " ", "\r\n\t", " ", "\n ", " ", "\n\t", " ").Replace(string(head))
	var out []string
	for _, line := range strings.Split(unfolded, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if ok && strings.EqualFold(k, name) {
			out = append(out, strings.TrimSpace(v))
		}
	}
	return out, len(out) > 0
}

// Sink is an LMTP (or SMTP) server that stores what it receives.
type Sink struct {
	Addr string
	srv  *smtp.Server
	mu   sync.Mutex
	msgs []Delivered
}

// StartSink runs an LMTP sink on a loopback port until the test ends.
func StartSink(t testing.TB, lmtp bool) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{Addr: ln.Addr().String()}
	s.srv = smtp.NewServer(s)
	s.srv.LMTP = lmtp
	s.srv.Domain = "sink.test"
	s.srv.MaxMessageBytes = 64 << 20
	s.srv.MaxRecipients = 1000
	s.srv.ReadTimeout, s.srv.WriteTimeout = time.Minute, time.Minute
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// NewSession implements smtp.Backend.
func (s *Sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: s}, nil }

type sinkSession struct {
	sink *Sink
	from string
	to   []string
}

func (ss *sinkSession) AuthPlain(string, string) error { return nil }
func (ss *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from, ss.to = from, nil
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	ss.sink.msgs = append(ss.sink.msgs, Delivered{From: ss.from, To: append([]string(nil), ss.to...), Data: b})
	ss.sink.mu.Unlock()
	return nil
}
func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }

// Count returns how many messages arrived.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// Messages returns a copy of what arrived.
func (s *Sink) Messages() []Delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivered(nil), s.msgs...)
}

// Wait waits until at least n messages arrived or timeout passed, and
// returns what arrived.
func (s *Sink) Wait(n int, timeout time.Duration) []Delivered {
	deadline := time.Now().Add(timeout)
	for {
		if s.Count() >= n || time.Now().After(deadline) {
			return s.Messages()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Find returns the delivered messages whose Subject contains sub.
func (s *Sink) Find(sub string) []Delivered {
	var out []Delivered
	for _, m := range s.Messages() {
		if strings.Contains(m.Header("Subject"), sub) {
			out = append(out, m)
		}
	}
	return out
}
