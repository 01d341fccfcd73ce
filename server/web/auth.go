package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Signing in.
//
// The console knows one secret, the admin token. A browser signs in by
// pasting it once and gets a session: a random id in an HttpOnly,
// SameSite=Strict cookie (Secure over TLS) that names a session kept in
// memory for sessionTTL. Each session has its own random CSRF token, which
// every form carries in a hidden field and every POST made with the cookie
// must send back; SameSite=Strict already keeps the cookie off requests
// from other sites, the token covers browsers that ignore it. A script
// sends "Authorization: Bearer TOKEN" with each request instead: no cookie
// is involved, so no CSRF token is needed.
//
// Every check of a presented token (sign-in or bearer) goes through
// tokenGuard: after a wrong token an address must wait before its next try
// is even looked at, 1 s after the first failure, doubling up to 64 s, so
// guessing is slow; every failure is logged.

const (
	cookieName  = "scilla_console"
	sessionTTL  = 12 * time.Hour
	maxSessions = 1000
	// guardQuiet: an address that has not failed for this long starts
	// again from a clean slate; guardMaxTracked bounds the table.
	guardQuiet      = 15 * time.Minute
	guardMaxTracked = 10000
)

// session is one signed-in browser.
type session struct {
	id, csrf string
	expires  time.Time
}

// sessions are the signed-in browsers, in memory.
type sessions struct {
	now  func() time.Time
	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, byID: map[string]*session{}}
}

// create starts a session. At most maxSessions are kept: the one that
// expires first makes room.
func (ss *sessions) create() *session {
	now := ss.now()
	sess := &session{id: randomToken(), csrf: randomToken(), expires: now.Add(sessionTTL)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, s := range ss.byID {
		if !now.Before(s.expires) {
			delete(ss.byID, id)
		}
	}
	if len(ss.byID) >= maxSessions {
		var first *session
		for _, s := range ss.byID {
			if first == nil || s.expires.Before(first.expires) {
				first = s
			}
		}
		delete(ss.byID, first.id)
	}
	ss.byID[sess.id] = sess
	return sess
}

// get returns the live session with id, or nil.
func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[id]
	if s == nil {
		return nil
	}
	if !ss.now().Before(s.expires) {
		delete(ss.byID, id)
		return nil
	}
	return s
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// randomToken returns 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenGuard checks presented admin tokens and slows down guessing.
type tokenGuard struct {
	token []byte
	now   func() time.Time
	mu    sync.Mutex
	by    map[netip.Prefix]*failures
}

// failures are an address's wrong tokens in a row.
type failures struct {
	n    int
	next time.Time // no try is looked at before
}

func newTokenGuard(token string, now func() time.Time) *tokenGuard {
	return &tokenGuard{token: []byte(token), now: now, by: map[netip.Prefix]*failures{}}
}

// check compares token with the admin token in constant time, unless the
// caller's address must still wait after earlier failures (wait > 0). The
// whole check holds the lock, so parallel guesses from one address count
// one after another.
func (g *tokenGuard) check(from netip.Prefix, token string) (ok bool, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	f := g.by[from]
	if f != nil && now.Before(f.next) {
		return false, f.next.Sub(now)
	}
	if subtle.ConstantTimeCompare([]byte(token), g.token) == 1 {
		delete(g.by, from)
		return true, 0
	}
	if f == nil || now.Sub(f.next) > guardQuiet {
		g.makeRoom(now)
		f = &failures{}
		g.by[from] = f
	}
	f.n++
	f.next = now.Add(time.Second << min(f.n-1, 6)) // 1 s, 2 s … 64 s
	return false, 0
}

// makeRoom drops addresses that have been quiet long enough, and when the
// table is still full the one that failed longest ago.
func (g *tokenGuard) makeRoom(now time.Time) {
	if len(g.by) < guardMaxTracked {
		return
	}
	var oldest netip.Prefix
	for p, f := range g.by {
		if now.Sub(f.next) > guardQuiet {
			delete(g.by, p)
		} else if !oldest.IsValid() || f.next.Before(g.by[oldest].next) {
			oldest = p
		}
	}
	if len(g.by) >= guardMaxTracked {
		delete(g.by, oldest)
	}
}

// clientPrefix is the network a request comes from as the guard counts
// it: the IPv4 address, or the IPv6 /64 (one host's usual share).
func clientPrefix(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// sessionKey is the request context key of the caller's *session (nil
// for a bearer token).
type sessionKey struct{}

// sessionFrom returns the request's browser session; nil with a bearer token.
func sessionFrom(r *http.Request) *session {
	s, _ := r.Context().Value(sessionKey{}).(*session)
	return s
}

// authenticate finds the caller: a bearer token or a session cookie. When
// there is neither it answers the request itself (the sign-in page for a
// GET, 401 otherwise; 429 while the address must wait) and returns false.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*session, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		token, _ := strings.CutPrefix(h, "Bearer ")
		ok, wait := s.guard.check(clientPrefix(r), token)
		switch {
		case wait > 0:
			http.Error(w, fmt.Sprintf("too many wrong admin tokens from this address: try again in %d s", retryAfter(w, wait)), http.StatusTooManyRequests)
		case !ok:
			s.log.Warn("console: wrong admin token in the Authorization header", "remote", r.RemoteAddr, "path", r.URL.Path)
			http.Error(w, "the admin token does not match", http.StatusUnauthorized)
		}
		return nil, ok
	}
	if c, err := r.Cookie(cookieName); err == nil {
		if sess := s.sessions.get(c.Value); sess != nil {
			return sess, true
		}
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	} else {
		http.Error(w, "sign in first, or send Authorization: Bearer TOKEN", http.StatusUnauthorized)
	}
	return nil, false
}

// retryAfter sets the Retry-After header for wait and returns it in whole
// seconds.
func retryAfter(w http.ResponseWriter, wait time.Duration) int {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(secs))
	return secs
}

// signinView is the sign-in page's data.
type signinView struct{ Next string }

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, "signin", signinView{Next: localPath(r.URL.Query().Get("next"))}, nil)
}

// signin checks the pasted token and starts a session.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if err := readForm(w, r, smallFormBytes); err != nil {
		formError(w, err)
		return
	}
	next := localPath(r.PostFormValue("next"))
	ok, wait := s.guard.check(clientPrefix(r), strings.TrimSpace(r.PostFormValue("token")))
	if !ok {
		msg, code := "The admin token does not match.", http.StatusUnauthorized
		if wait > 0 {
			msg, code = fmt.Sprintf("Too many wrong tokens from this address: try again in %d s.", retryAfter(w, wait)), http.StatusTooManyRequests
		} else {
			s.log.Warn("console: sign-in refused: wrong admin token", "remote", r.RemoteAddr)
		}
		s.renderStatus(w, r, code, "signin", signinView{Next: next}, msg)
		return
	}
	sess := s.sessions.create()
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: sess.id, Path: "/",
		Expires: sess.expires, MaxAge: int(sessionTTL / time.Second),
		HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode,
	})
	s.log.Info("console: signed in", "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session (a POST with its CSRF token).
func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	if sess := sessionFrom(r); sess != nil {
		s.sessions.remove(sess.id)
		s.log.Info("console: signed out", "remote", r.RemoteAddr)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.o.Secure, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// validCSRF reports whether a form sent with a session carries its token.
func validCSRF(sess *session, token string) bool {
	return subtle.ConstantTimeCompare([]byte(token), []byte(sess.csrf)) == 1
}

// localPath returns next when it is a path on this server, else "/": the
// page to go to after signing in must not lead elsewhere.
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}
