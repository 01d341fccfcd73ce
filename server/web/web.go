// Package web is the Control Center: the web console scillad serves on
// web.listen for mail administrators. Its pages show what the admin API
// reports (status, statistics, licence), act through it (database updates
// and reloads, learning), and run test scans that show a message's verdict
// as a mail server would receive it.
//
// The console is a thin face on the services gRPC serves: it calls
// scillav1.AdminServiceServer, scillav1.LicenseServiceServer and the
// ScannerService in-process, with the deadlines the scilla CLI gives the
// same calls, and decides nothing itself. Pages are rendered on the server
// from templates embedded in the binary; there is no JavaScript and nothing
// is loaded from elsewhere.
//
// Signing in takes the admin token (admin.token_file); sessions live in
// memory (a restart of scillad signs everyone out). Scripts may send
// "Authorization: Bearer TOKEN" with every request instead. auth.go has the
// sessions, the CSRF tokens and the backoff after wrong tokens.
package web

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/scilla-mail/scilla/licensing"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Options are what the console shows and acts through.
type Options struct {
	Admin   scillav1.AdminServiceServer
	License scillav1.LicenseServiceServer
	// Scanner is the service gRPC Scan calls reach; requests are validated
	// here first, as the gRPC interceptor does.
	Scanner scillav1.ScannerServiceServer
	// Token is the admin token (admin.token_file) the console signs in
	// with; it must not be empty.
	Token string
	// Secure is set when the console is served over TLS: the session
	// cookie is then sent over HTTPS only.
	Secure bool
	// MaxMessageBytes bounds the message of a test scan
	// (server.max_message_bytes); see SetMaxMessageBytes.
	MaxMessageBytes int
	// Log receives sign-ins, refused tokens and actions; nil discards.
	Log *slog.Logger
	// Now is the clock; nil = time.Now.
	Now func() time.Time
}

// Deadlines of the calls, the ones the scilla CLI gives the same calls. A
// request's own context is the parent, so a browser that goes away cancels
// its call as a gRPC client would.
const (
	statusTimeout  = 10 * time.Second
	statsTimeout   = 30 * time.Second
	licenseTimeout = 10 * time.Second
	reloadTimeout  = time.Minute
	policyTimeout  = 30 * time.Second
	updateTimeout  = 10 * time.Minute
	learnTimeout   = 30 * time.Minute
	scanTimeout    = time.Minute
)

// Server is the console, an http.Handler.
type Server struct {
	o          Options
	log        *slog.Logger
	now        func() time.Time
	pages      map[string]*template.Template
	mux        *http.ServeMux
	sessions   *sessions
	guard      *tokenGuard
	maxMessage atomic.Int64
}

//go:embed templates
var templates embed.FS

// New returns the console. The templates are parsed here, once.
func New(o Options) (*Server, error) {
	if o.Token == "" {
		return nil, errors.New("web: the console needs the admin token (admin.token_file)")
	}
	if o.Admin == nil || o.License == nil || o.Scanner == nil {
		return nil, errors.New("web: the admin, licence and scanner services are required")
	}
	s := &Server{o: o, log: o.Log, now: o.Now, pages: map[string]*template.Template{}, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "web")
	if s.now == nil {
		s.now = time.Now
	}
	s.sessions = newSessions(s.now)
	s.guard = newTokenGuard(o.Token, s.now)
	s.SetMaxMessageBytes(o.MaxMessageBytes)
	funcs := s.funcs()
	for _, page := range []string{"signin", "overview", "statistics", "license", "database", "scan", "learn"} {
		t, err := template.New(page).Funcs(funcs).ParseFS(templates, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse the %s page: %w", page, err)
		}
		s.pages[page] = t
	}

	s.mux.HandleFunc("GET /signin", s.signinPage)
	s.mux.HandleFunc("POST /signin", s.signin)
	s.mux.Handle("POST /signout", s.form(smallForm, s.signout))
	s.mux.HandleFunc("GET /{$}", s.overview)
	s.mux.HandleFunc("GET /statistics", s.statistics)
	s.mux.HandleFunc("GET /license", s.license)
	s.mux.HandleFunc("GET /database", s.database)
	s.mux.Handle("POST /database", s.form(smallForm, s.databaseAction))
	s.mux.HandleFunc("GET /scan", s.scanPage)
	s.mux.Handle("POST /scan", s.form(func() int64 { return s.maxMessage.Load() + formOverhead }, s.scan))
	s.mux.HandleFunc("GET /learn", s.learnPage)
	s.mux.Handle("POST /learn", s.form(func() int64 { return maxLearnBytes }, s.learn))
	return s, nil
}

// SetMaxMessageBytes changes the largest test scan message (on reload).
func (s *Server) SetMaxMessageBytes(n int) { s.maxMessage.Store(int64(n)) }

// ServeHTTP implements http.Handler: every response gets the security
// headers, and every page but the sign-in page needs a session or the
// bearer token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.URL.Path != "/signin" {
		sess, ok := s.authenticate(w, r)
		if !ok {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess))
	}
	s.mux.ServeHTTP(w, r)
}

// view is what every page template gets.
type view struct {
	// Page names the page (its template), for the nav bar.
	Page string
	// CSRF is the session's token for the forms; "" with a bearer token.
	CSRF string
	// SignedIn shows the sign-out button (a browser session).
	SignedIn bool
	// Error is the failed call's message, shown above the page.
	Error string
	Data  any
}

// render writes a page. A failed call (err) is shown on the page, and the
// response status says what kind of failure it was, for scripts.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page string, data any, err error) {
	code, msg := http.StatusOK, ""
	if err != nil {
		msg, code = callError(err)
	}
	s.renderStatus(w, r, code, page, data, msg)
}

// renderStatus writes a page with the status code and, when not "", an
// error message above the page.
func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, code int, page string, data any, msg string) {
	v := view{Page: page, Data: data, Error: msg}
	if sess := sessionFrom(r); sess != nil {
		v.CSRF, v.SignedIn = sess.csrf, true
	}
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// callError returns the message of a failed call and the HTTP status for
// its gRPC code.
func callError(err error) (string, int) {
	st := status.Convert(err)
	code := http.StatusInternalServerError
	switch st.Code() {
	case codes.InvalidArgument:
		code = http.StatusBadRequest
	case codes.FailedPrecondition, codes.AlreadyExists:
		code = http.StatusConflict
	case codes.ResourceExhausted:
		code = http.StatusRequestEntityTooLarge
	case codes.Unavailable, codes.Unimplemented:
		code = http.StatusServiceUnavailable
	case codes.DeadlineExceeded:
		code = http.StatusGatewayTimeout
	case codes.Unauthenticated:
		code = http.StatusUnauthorized
	case codes.PermissionDenied:
		code = http.StatusForbidden
	}
	return st.Message(), code
}

// call runs one service call with its deadline.
func call[Req, Resp any](r *http.Request, timeout time.Duration, fn func(context.Context, Req) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	return fn(ctx, req)
}

// funcs are the template helpers: they format what the protobuf messages
// hold for people.
func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		"time": func(t *timestamppb.Timestamp) string {
			if t == nil {
				return "—"
			}
			return t.AsTime().UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"age": func(t *timestamppb.Timestamp) string {
			if t == nil {
				return ""
			}
			return age(s.now().Sub(t.AsTime()))
		},
		"duration": func(d *durationpb.Duration) string { return d.AsDuration().Round(time.Second).String() },
		"elapsed":  func(d *durationpb.Duration) string { return d.AsDuration().Round(time.Microsecond).String() },
		"bytes":    licensing.FormatBytes,
		"enum":     enumName,
		"percent":  percent,
		"groupID":  func(id uint32) string { return fmt.Sprintf("%08d", id) },
		"join":     strings.Join,
	}
}

// enumName is a protobuf enum's value without its type prefix:
// STATUS_SPAM → SPAM, ACTION_ACCEPT → ACCEPT.
func enumName(e fmt.Stringer) string {
	n := e.String()
	for _, prefix := range [...]string{"STATUS_", "INFO_", "ACTION_", "LICENSE_TYPE_", "LABEL_"} {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			return rest
		}
	}
	return n
}

// age is how long ago something happened, for people: "less than a
// minute", "3h12m", "9 days".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < 48*time.Hour:
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return fmt.Sprintf("%d days", d/(24*time.Hour))
}

// percent is n as a share of of, "12.5 %"; "—" when of is 0.
func percent(n, of uint64) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(n)/float64(of))
}
