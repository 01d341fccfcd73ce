package exim_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/internal/freeport"
)

const gtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

// eximUser is the user the Debian build runs deliveries as (EXIM_USER).
const eximUser = "Debian-exim"

// findExim returns an Exim binary with content scanning, or skips.
func findExim(t *testing.T, needSpam bool) string {
	t.Helper()
	cands := []string{os.Getenv("SCILLA_EXIM"), "/opt/scilla-exim/usr/sbin/exim4"}
	for _, n := range []string{"exim4", "exim"} {
		if p, err := exec.LookPath(n); err == nil {
			cands = append(cands, p)
		}
	}
	for _, c := range cands {
		if c == "" {
			continue
		}
		out, err := exec.Command(c, "-bV", "-C", "/dev/null").CombinedOutput()
		if err != nil {
			continue
		}
		if needSpam && !bytes.Contains(out, []byte("Content_Scanning")) {
			continue
		}
		return c
	}
	t.Skip("no usable Exim (install with .ci/install.d/40-exim.sh: exim4-daemon-heavy unpacked in /opt/scilla-exim, user Debian-exim)")
	return ""
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds scillad and scilla-pipe once into a directory Exim's
// delivery user can read.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp(sharedTemp(), "scilla-exim-bin-")
		if buildErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./server/cmd/scillad", "./clients/pipe/cmd/scilla-pipe")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build scillad/scilla-pipe: %v", buildErr)
	}
	return binDir
}

// sharedTemp is where files for Exim's delivery user go: /tmp, which that
// user can traverse whatever TMPDIR says.
func sharedTemp() string {
	if fi, err := os.Stat("/tmp"); err == nil && fi.Mode().Perm()&0o001 != 0 {
		return "/tmp"
	}
	return ""
}

// workDir is a directory Exim's delivery user can traverse, removed at
// the end.
func workDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp(sharedTemp(), "scilla-exim-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// chownExim gives dir to the Exim user.
func chownExim(t *testing.T, dir string) {
	t.Helper()
	u, err := user.Lookup(eximUser)
	if err != nil {
		t.Skipf("user %s missing (created by .ci/install.d/40-exim.sh): %v", eximUser, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Skipf("cannot chown to %s (run as root): %v", eximUser, err)
	}
}

// proc is a started process, killed at the end of the test.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) stop() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Kill()
		<-p.done
	}
}

// start runs a program and waits until it accepts connections on port.
func start(t *testing.T, name string, port int, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", name, p.output())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not listen on %d:\n%s", name, port, p.output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// policyYAML: group Strict rejects spam with its own text, everyone else
// gets the default (tag and deliver). DNS checks are off: no network here.
const policyYAML = `protected_domains: ["example.com"]
default:
  methods:
    dns: false
    surbl: false
groups:
  - id: 2
    name: Strict
    recipients: [strict@example.com]
    actions:
      spam:
        action: reject
        reject_text: "Spam is not welcome here"
`

// scillad is a running scillad with its gRPC address and, when it has the
// listener, its spamd port.
type scillad struct {
	grpc      string
	spamdPort int
	proc      *proc
}

// startScillad starts the real scillad; withSpamd turns on its spamd
// listener (the `spamd:` section) on a free port.
func startScillad(t *testing.T, dir string, withSpamd bool) *scillad {
	t.Helper()
	bin := binaries(t)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(policyYAML), 0o644)
	ports := freeport.GetN(t, 2) // gRPC, spamd
	s := &scillad{grpc: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	cfg := fmt.Sprintf("server:\n  listen: [\"tcp:%s\"]\n  state_dir: %s\n  policy_file: %s\n",
		s.grpc, filepath.Join(dir, "state"), filepath.Join(dir, "policy.yaml"))
	if withSpamd {
		s.spamdPort = ports[1]
		cfg += fmt.Sprintf("spamd:\n  listen: [\"tcp:127.0.0.1:%d\"]\n", s.spamdPort)
	}
	path := filepath.Join(dir, "scillad.yaml")
	os.WriteFile(path, []byte(cfg), 0o644)
	s.proc = start(t, "scillad", ports[0], filepath.Join(bin, "scillad"), "-config", path)
	if withSpamd {
		waitPort(t, s.spamdPort)
	}
	return s
}

func waitPort(t *testing.T, port int) {
	t.Helper()
	for range 300 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %d", port)
}

// eximRig is a running Exim daemon with a throw-away configuration.
type eximRig struct {
	t      *testing.T
	bin    string
	dir    string
	conf   string
	port   int
	daemon *proc
}

type eximOptions struct {
	// lmtp routes every message through scilla-pipe (scilla-router.conf,
	// scilla-transport.conf).
	lmtp bool
	// spamdAddress enables the spam ACL (scilla-spamd-*.conf).
	spamdAddress string
	// scillaConfig is the scilla.yaml scilla-pipe reads.
	scillaConfig string
}

func startExim(t *testing.T, opt eximOptions) *eximRig {
	t.Helper()
	bin := findExim(t, opt.spamdAddress != "")
	dir := workDir(t)
	for _, d := range []string{"spool", "log", "mail"} {
		chownExim(t, filepath.Join(dir, d))
	}
	snippets, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	ports := freeport.GetN(t, 2) // Exim, re-injection
	r := &eximRig{t: t, bin: bin, dir: dir, conf: filepath.Join(dir, "exim.conf"), port: ports[0]}
	reinject := ports[1]
	var b strings.Builder
	fmt.Fprintf(&b, "SCILLA_PIPE = %s\n", filepath.Join(binaries(t), "scilla-pipe"))
	fmt.Fprintf(&b, "SCILLA_CONFIG = %s\n", opt.scillaConfig)
	fmt.Fprintf(&b, "SCILLA_REINJECT_PORT = %d\n", reinject)
	fmt.Fprintf(&b, "SCILLA_LOGFILE = %s/log/scilla-pipe.log\n", dir)
	if opt.spamdAddress != "" {
		fmt.Fprintf(&b, "SCILLA_SPAMD_ADDRESS = %s\n", opt.spamdAddress)
	}
	// Exim re-execs itself for deliveries; an unpacked binary is not at
	// its compiled-in path.
	fmt.Fprintf(&b, "exim_path = %s\n", bin)
	fmt.Fprintf(&b, `primary_hostname = mx.example.com
qualify_domain = example.com
domainlist local_domains = example.com
local_interfaces = <; 127.0.0.1.%d ; 127.0.0.1.%d
spool_directory = %s/spool
log_file_path = %s/log/%%slog
pid_file_path = %s/exim.pid
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
keep_environment =
log_selector = +received_recipients +smtp_confirmation
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
`, r.port, reinject, dir, dir, dir)
	if opt.spamdAddress != "" {
		fmt.Fprintf(&b, ".include %s/scilla-spamd-main.conf\n", snippets)
	}
	b.WriteString("\nbegin acl\n\nacl_rcpt:\n  accept domains = +local_domains\n  deny message = relaying denied\n\nacl_data:\n")
	if opt.spamdAddress != "" {
		fmt.Fprintf(&b, ".include %s/scilla-spamd-acl.conf\n", snippets)
	}
	b.WriteString("  accept\n\nbegin routers\n\n")
	if opt.lmtp {
		fmt.Fprintf(&b, ".include %s/scilla-router.conf\n\n", snippets)
	}
	fmt.Fprintf(&b, `local_user:
  driver = accept
  domains = +local_domains
  local_parts = alice : bob : carol : strict
  transport = local_maildir

begin transports

`)
	if opt.lmtp {
		fmt.Fprintf(&b, ".include %s/scilla-transport.conf\n\n", snippets)
	}
	fmt.Fprintf(&b, `local_maildir:
  driver = appendfile
  directory = %s/mail/$local_part_data
  maildir_format
  create_directory
  user = %s
  envelope_to_add
  return_path_add

begin retry

*  *  F,1h,10m
`, dir, eximUser)
	if err := os.WriteFile(r.conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-C", r.conf, "-bV").CombinedOutput(); err != nil {
		t.Fatalf("exim rejects the configuration: %v\n%s\n%s", err, out, b.String())
	}
	r.daemon = start(t, "exim", r.port, bin, "-C", r.conf, "-bdf")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("exim mainlog:\n%s\npaniclog:\n%s\nscilla-pipe log:\n%s", r.log("main"), r.log("panic"), r.log("scilla-pipe."))
		}
	})
	return r
}

func (r *eximRig) log(name string) string {
	b, _ := os.ReadFile(filepath.Join(r.dir, "log", name+"log"))
	return string(b)
}

// swaks sends one message to Exim's SMTP port.
func (r *eximRig) swaks(args ...string) (string, error) {
	cmd := exec.Command("swaks", append([]string{"--server", fmt.Sprintf("127.0.0.1:%d", r.port), "--timeout", "60", "--hide-informational"}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// mailbox waits for n messages in the maildir of local part lp.
func (r *eximRig) mailbox(lp string, n int, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		files, _ := filepath.Glob(filepath.Join(r.dir, "mail", lp, "new", "*"))
		if len(files) >= n || time.Now().After(deadline) {
			var out []string
			for _, f := range files {
				b, _ := os.ReadFile(f)
				out = append(out, string(b))
			}
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// find returns the messages of a mailbox whose Subject contains s.
func find(msgs []string, s string) []string {
	var out []string
	for _, m := range msgs {
		for _, v := range headers(m, "Subject") {
			if strings.Contains(v, s) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// headers returns the unfolded values of a header field.
func headers(msg, name string) []string {
	head, _, _ := strings.Cut(strings.ReplaceAll(msg, "\r\n", "\n"), "\n\n")
	var out []string
	lines := strings.Split(head, "\n")
	for i := 0; i < len(lines); i++ {
		n, v, ok := strings.Cut(lines[i], ":")
		if !ok || !strings.EqualFold(n, name) {
			continue
		}
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], " ") || strings.HasPrefix(lines[i+1], "\t")) {
			i++
			v += " " + strings.TrimSpace(lines[i])
		}
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

func header(msg, name string) string {
	if v := headers(msg, name); len(v) > 0 {
		return v[0]
	}
	return ""
}

func requireRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the Exim tests run Exim as root with a throw-away configuration (-C)")
	}
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("swaks not installed (.ci/install.d/30-postfix.sh)")
	}
}

// TestLMTPTransport: Exim routes every message through scilla-pipe as an
// lmtp transport (the snippets in this folder); scilla-pipe scans on the
// real scillad and re-injects on the loopback port. Per-recipient LMTP
// replies become deliver (tagged), fail (bounce) and defer.
func TestLMTPTransport(t *testing.T) {
	requireRoot(t)
	findExim(t, false)
	dir := workDir(t)
	sd := startScillad(t, dir, false)
	scillaConf := filepath.Join(dir, "scilla.yaml")
	os.WriteFile(scillaConf, []byte(fmt.Sprintf("client:\n  servers: [\"tcp:%s\"]\n  connect_timeout: 2s\n  data_timeout: 20s\n  on_error: tempfail\n", sd.grpc)), 0o644)
	r := startExim(t, eximOptions{lmtp: true, scillaConfig: scillaConf})

	if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: lunch", "--header", "X-Spam-Flag: YES", "--body", "Shall we have lunch on Friday?"); err != nil {
		t.Fatalf("swaks ham: %v\n%s", err, out)
	}
	if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com,strict@example.com", "--header", "Subject: gtube test", "--body", gtube); err != nil {
		t.Fatalf("swaks gtube: %v\n%s", err, out)
	}
	bob := r.mailbox("bob", 2, 60*time.Second)
	ham := find(bob, "lunch")
	if len(ham) != 1 {
		t.Fatalf("bob has %d lunch messages, want 1 (%d in all)", len(ham), len(bob))
	}
	if v := header(ham[0], "X-Spamtest-Status-Extended"); !strings.Contains(v, "Not detected") {
		t.Errorf("ham status header %q", v)
	}
	if v := headers(ham[0], "X-Spam-Flag"); slices.Contains(v, "YES") {
		t.Errorf("forged X-Spam-Flag kept: %q", v)
	}
	spam := find(bob, "gtube test")
	if len(spam) != 1 {
		t.Fatalf("bob has %d gtube messages, want 1", len(spam))
	}
	if s := header(spam[0], "Subject"); !strings.HasPrefix(s, "[!! SPAM]") {
		t.Errorf("spam subject %q", s)
	}
	if v := header(spam[0], "X-Spamtest-Status-Extended"); !strings.Contains(v, "SPAM") {
		t.Errorf("spam status header %q", v)
	}
	// strict@ refused per recipient: Exim bounces it to alice.
	alice := r.mailbox("alice", 1, 60*time.Second)
	if len(alice) != 1 || !strings.Contains(alice[0], "strict@example.com") || !strings.Contains(alice[0], "Spam is not welcome here") {
		t.Errorf("bounce for strict@: %d messages\n%s", len(alice), strings.Join(alice, "\n----\n"))
	}
	if strict := r.mailbox("strict", 0, 0); len(strict) != 0 {
		t.Errorf("strict@ got %d messages", len(strict))
	}
	if l := r.log("scilla-pipe."); !strings.Contains(l, "message done") {
		t.Errorf("scilla-pipe's log did not reach SCILLA_LOGFILE: %q", l)
	}

	// scillad down: on_error tempfail answers 451 and Exim keeps the mail.
	sd.proc.stop()
	if out, err := r.swaks("--from", "alice@example.com", "--to", "carol@example.com", "--header", "Subject: while down", "--body", "hello"); err != nil {
		t.Fatalf("swaks while scillad is down: %v\n%s", err, out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(r.log("main"), "== carol@example.com") {
		if time.Now().After(deadline) {
			t.Fatal("no deferral for carol@ while scillad is down")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if out, _ := exec.Command(r.bin, "-C", r.conf, "-bpc").Output(); strings.TrimSpace(string(out)) != "1" {
		t.Errorf("queue holds %q messages, want 1", strings.TrimSpace(string(out)))
	}
	if carol := r.mailbox("carol", 0, 0); len(carol) != 0 {
		t.Errorf("carol got mail while scillad was down")
	}
}

// TestSpamACL: Exim's `spam =` condition against scillad's spamd listener,
// both protocol variants.
func TestSpamACL(t *testing.T) {
	requireRoot(t)
	findExim(t, true)
	dir := workDir(t)
	sd := startScillad(t, dir, true)

	t.Run("rspamd", func(t *testing.T) {
		r := startExim(t, eximOptions{spamdAddress: fmt.Sprintf("127.0.0.1 %d variant=rspamd", sd.spamdPort)})
		if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: lunch", "--header", "X-Spam-Flag: YES", "--body", "Shall we have lunch on Friday?"); err != nil {
			t.Fatalf("swaks ham: %v\n%s", err, out)
		}
		if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: gtube test", "--body", gtube); err != nil {
			t.Fatalf("swaks gtube: %v\n%s", err, out)
		}
		out, err := r.swaks("--from", "alice@example.com", "--to", "strict@example.com", "--header", "Subject: gtube strict", "--body", gtube)
		if err == nil || !strings.Contains(out, "550 5.7.1 Message rejected as spam") {
			t.Errorf("strict@: want 550 at DATA, got err=%v\n%s", err, out)
		}
		bob := r.mailbox("bob", 2, 30*time.Second)
		ham, spam := find(bob, "lunch"), find(bob, "gtube test")
		if len(ham) != 1 || len(spam) != 1 {
			t.Fatalf("bob: %d ham, %d spam messages", len(ham), len(spam))
		}
		if a := header(ham[0], "X-Spam-Action"); a != "no action" || len(headers(ham[0], "X-Spam-Flag")) != 0 {
			t.Errorf("ham: action %q flags %q", a, headers(ham[0], "X-Spam-Flag"))
		}
		if a := header(spam[0], "X-Spam-Action"); a != "rewrite subject" {
			t.Errorf("spam action %q", a)
		}
		if f := header(spam[0], "X-Spam-Flag"); f != "YES" {
			t.Errorf("spam flag %q", f)
		}
		if rep := header(spam[0], "X-Spam-Report"); !strings.Contains(rep, "Scilla-Status: SPAM") {
			t.Errorf("spam report %q", rep)
		}
		score := header(spam[0], "X-Spam-Score")
		if i := strings.Index(score, "("); i < 0 || score[i+1:] == "0)" {
			t.Errorf("spam score %q", score)
		}
		if strict := r.mailbox("strict", 0, 0); len(strict) != 0 {
			t.Errorf("strict@ got %d messages", len(strict))
		}
	})

	t.Run("spamassassin", func(t *testing.T) {
		r := startExim(t, eximOptions{spamdAddress: fmt.Sprintf("127.0.0.1 %d", sd.spamdPort)})
		if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: lunch", "--body", "Shall we have lunch on Friday?"); err != nil {
			t.Fatalf("swaks ham: %v\n%s", err, out)
		}
		if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: gtube test", "--body", gtube); err != nil {
			t.Fatalf("swaks gtube: %v\n%s", err, out)
		}
		out, err := r.swaks("--from", "alice@example.com", "--to", "strict@example.com", "--header", "Subject: gtube strict", "--body", gtube)
		if err == nil || !strings.Contains(out, "550 5.7.1 Message rejected as spam") {
			t.Errorf("strict@: want 550 at DATA, got err=%v\n%s", err, out)
		}
		bob := r.mailbox("bob", 2, 30*time.Second)
		ham, spam := find(bob, "lunch"), find(bob, "gtube test")
		if len(ham) != 1 || len(spam) != 1 {
			t.Fatalf("bob: %d ham, %d spam messages", len(ham), len(spam))
		}
		// SpamAssassin's protocol has no action: Exim derives "reject"
		// from score >= threshold.
		if a, f := header(spam[0], "X-Spam-Action"), header(spam[0], "X-Spam-Flag"); a != "reject" || f != "YES" {
			t.Errorf("spam: action %q flag %q", a, f)
		}
		if a := header(ham[0], "X-Spam-Action"); a != "no action" || len(headers(ham[0], "X-Spam-Flag")) != 0 {
			t.Errorf("ham: action %q", a)
		}
		if rep := header(spam[0], "X-Spam-Report"); !strings.Contains(rep, "Scilla status: SPAM") {
			t.Errorf("report %q", rep)
		}
	})

	// scillad down: the listener (or nothing at all) cannot answer; with
	// defer_ok Exim accepts the mail without a verdict.
	t.Run("scillad down", func(t *testing.T) {
		sd.proc.stop()
		r := startExim(t, eximOptions{spamdAddress: fmt.Sprintf("127.0.0.1 %d variant=rspamd", sd.spamdPort)})
		if out, err := r.swaks("--from", "alice@example.com", "--to", "bob@example.com", "--header", "Subject: gtube down", "--body", gtube); err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		bob := r.mailbox("bob", 1, 30*time.Second)
		if len(bob) != 1 {
			t.Fatalf("bob has %d messages", len(bob))
		}
		if f := headers(bob[0], "X-Spam-Flag"); len(f) != 0 {
			t.Errorf("unscanned mail flagged %q", f)
		}
	})
}
