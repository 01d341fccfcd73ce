package cgp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/scilla-mail/scilla/clients"
)

// LoopSigner makes and checks the loop header that marks a copy scilla-cgp
// resubmitted itself. The value is "v1 <unix time> <HMAC-SHA256>" over the
// time and the SHA-256 of the message body, keyed with a secret only the
// helper knows: a sender cannot forge it, and a header copied from another
// message does not match this body. Only the body is bound because the
// resubmitted copy's header is what scilla-cgp changed and its recipients
// may be rewritten by CommuniGate's routing; a wrong match would make the
// copy loop.
type LoopSigner struct {
	Key    []byte
	MaxAge time.Duration
	Now    func() time.Time
}

func (s *LoopSigner) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *LoopSigner) mac(ts string, body []byte) string {
	sum := sha256.Sum256(body)
	m := hmac.New(sha256.New, s.Key)
	fmt.Fprintf(m, "scilla-cgp-loop v1|%s|%x", ts, sum)
	return hex.EncodeToString(m.Sum(nil))
}

// Sign returns the loop header value for a message whose body is body.
func (s *LoopSigner) Sign(body []byte) string {
	ts := strconv.FormatInt(s.now().Unix(), 10)
	return "v1 " + ts + " " + s.mac(ts, body)
}

// Verify reports whether value is a loop header this signer made for body
// within MaxAge.
func (s *LoopSigner) Verify(value string, body []byte) bool {
	f := strings.Fields(value)
	if len(f) != 3 || f[0] != "v1" {
		return false
	}
	t, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return false
	}
	age := s.now().Sub(time.Unix(t, 0))
	if age < -5*time.Minute || age > s.MaxAge {
		return false
	}
	return hmac.Equal([]byte(f[2]), []byte(s.mac(f[1], body)))
}

// Body returns the part of msg after the header section (the empty line
// included), the part the loop header is bound to.
func Body(msg []byte) []byte {
	_, rest := clients.SplitHeader(msg)
	return rest
}

// LoadOrCreateKey reads the loop key from path, creating a random 32-byte
// key (mode 0600) when the file does not exist.
func LoadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key := []byte(strings.TrimSpace(string(b)))
		if len(key) < 16 {
			return nil, fmt.Errorf("loop key %s: shorter than 16 bytes", path)
		}
		return key, nil
	}
	if !os.IsNotExist(err) {
		return nil, fmt.Errorf("read loop key: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("make loop key: %w", err)
	}
	key := []byte(hex.EncodeToString(raw))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("make loop key directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) { // another helper instance won the race
			return LoadOrCreateKey(path)
		}
		return nil, fmt.Errorf("write loop key: %w", err)
	}
	defer f.Close()
	if _, err := f.Write(append(key, '\n')); err != nil {
		return nil, fmt.Errorf("write loop key: %w", err)
	}
	return key, nil
}
