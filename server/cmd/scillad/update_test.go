package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/contentdb/contentdbtest"
	"github.com/scilla-mail/scilla/updater/update/updatetest"
)

// TestUpdateWithCLI: the real scillad with a directory update source,
// driven by `scilla update` and `scilla status` over the admin socket.
func TestUpdateWithCLI(t *testing.T) {
	pub := filepath.Join(t.TempDir(), "pub")
	key := updatetest.Key("cli")
	s := startServer(t, "content:\n  trusted_keys: [\""+updatetest.PublicKey("cli")+"\"]\nupdate:\n  source: file://"+pub+"\n")

	updatetest.Publish(t, pub, "2026112201", time.Now(), contentdbtest.Files(t, "a"), key)
	out, code := scilla(t, "update", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "installed 2026112201") {
		t.Fatalf("scilla update: exit %d:\n%s", code, out)
	}
	updatetest.Publish(t, pub, "2026112202", time.Now(), contentdbtest.Files(t, "b"), key)
	out, code = scilla(t, "update", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "installed 2026112202 (from 2026112201): 1 file fetched") {
		t.Fatalf("second scilla update: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "status", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "database:  2026112202") || !strings.Contains(out, "updates:   from file://"+pub+", 2026112201 kept for rollback") ||
		!strings.Contains(out, "  next:") {
		t.Fatalf("scilla status: exit %d:\n%s", code, out)
	}
	out, code = scilla(t, "update", "--rollback", "--state-dir", s.state)
	if code != 0 || !strings.Contains(out, "rolled back from 2026112202 to 2026112201") {
		t.Fatalf("scilla update --rollback: exit %d:\n%s", code, out)
	}
	// Admin calls need authentication: not over TCP without a token.
	out, code = scilla(t, "update", "--server", "tcp:"+s.addr)
	if code == 0 || !strings.Contains(out, "unauthenticated") {
		t.Fatalf("update over TCP without a token: exit %d: %s", code, out)
	}
}
