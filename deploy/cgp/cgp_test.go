// Package cgp_test exercises the CommuniGate Pro integration files in this
// folder: the helper's program path is started as CommuniGate would start
// it and given real-format queue files; the rule's size limit and the
// example scilla.yaml are checked against each other.
package cgp_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/cgp"
	"github.com/scilla-mail/scilla/clients/clienttest"
)

// field returns the value of "Name: value" in a deploy file.
func field(t *testing.T, file, name string) string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s has no %q", file, name)
	return ""
}

func TestRuleMatchesSizeLimit(t *testing.T) {
	cond := strings.Split(field(t, "scilla.rule", "Condition"), "|")
	if len(cond) != 3 || strings.TrimSpace(cond[0]) != "Message Size" || strings.TrimSpace(cond[1]) != "less than" {
		t.Fatalf("rule condition %q", cond)
	}
	limit, err := clients.ParseSize(strings.TrimSpace(cond[2]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := clients.LoadSettings("scilla.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.SizeLimit != limit {
		t.Errorf("rule limit %d, client.size_limit %d", limit, s.SizeLimit)
	}
	if a := field(t, "scilla.rule", "Action"); a != "ExternalFilter | "+field(t, "scilla-cgp.helper", "Name") {
		t.Errorf("rule action %q does not name the helper", a)
	}
	cfg, err := cgp.LoadConfig("scilla.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if errs := cfg.Validate(); len(errs) > 0 {
		t.Error(errs)
	}
}

func TestHelperProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "scilla-cgp")
	build := exec.Command("go", "build", "-o", bin, "./clients/cgp/cmd/scilla-cgp")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	srv := clienttest.Start(t, clienttest.Policy())

	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "Queue"), 0o755)
	os.MkdirAll(filepath.Join(base, "Submitted"), 0o755)
	yaml, _ := os.ReadFile("scilla.yaml")
	conf := strings.Replace(string(yaml), `servers: ["tcp:127.0.0.1:2277"]`, fmt.Sprintf("servers: [%q]", srv.Addr), 1)
	conf = strings.Replace(conf, "/var/lib/scilla/cgp-loop.key", filepath.Join(base, "loop.key"), 1)
	confPath := filepath.Join(base, "scilla.yaml")
	os.WriteFile(confPath, []byte(conf), 0o600)

	args := strings.Fields(field(t, "scilla-cgp.helper", "Program Path"))
	if args[0] != "/usr/local/bin/scilla-cgp" || len(args) != 3 || args[1] != "-config" {
		t.Fatalf("program path %q", args)
	}
	cmd := exec.Command(bin, "-config", confPath)
	cmd.Dir = base // CommuniGate starts helpers in its base directory
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 20)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), "* ") { // information lines go to CommuniGate's log
				lines <- sc.Text()
			}
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply; stderr: %s", stderr.String())
		}
		return ""
	}
	queue := func(name, body string) {
		q := "S SMTP [192.0.2.55]\nP I 22-11-2026_08:00:00 0000 ____ ____ <alice@example.org>\nR W 22-11-2026_08:00:00 0000 ____ _FY_ <bob@example.com>\n\n" +
			"From: alice@example.org\nTo: bob@example.com\nSubject: hello\n\n" + body + "\n"
		os.WriteFile(filepath.Join(base, "Queue", name), []byte(q), 0o644)
	}
	queue("1.msg", "Lunch?")
	queue("2.msg", "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X")
	io.WriteString(in, "1 INTF 3\n2 FILE Queue/1.msg\n3 FILE Queue/2.msg\n")
	got := map[string]string{}
	if l := next(); l != "1 INTF 3" {
		t.Fatalf("handshake %q", l)
	}
	for range 2 {
		seq, rest, _ := strings.Cut(next(), " ")
		got[seq] = rest
	}
	if !strings.HasPrefix(got["2"], `ADDHEADER "`) || !strings.Contains(got["2"], "X-Spamtest-Status-Extended: Not detected") {
		t.Errorf("ham reply %q", got["2"])
	}
	if got["3"] != "DISCARD" {
		t.Errorf("spam reply %q", got["3"])
	}
	subs, _ := filepath.Glob(filepath.Join(base, "Submitted", "*.sub"))
	if len(subs) != 1 {
		t.Errorf("%d resubmitted files", len(subs))
	}
	io.WriteString(in, "4 QUIT\n")
	if l := next(); l != "4 OK" {
		t.Errorf("QUIT reply %q", l)
	}
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("helper exit: %v\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("helper wrote to stderr: %s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(base, "loop.key")); err != nil {
		t.Errorf("loop key not created: %v", err)
	}
}
