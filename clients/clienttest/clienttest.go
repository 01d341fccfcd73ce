// Package clienttest provides an in-process scillav1.ScannerService for the
// unit tests of Scilla's mail-server clients. The end-to-end tests use the
// real scillad instead.
package clienttest

import (
	"context"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// ScanFunc answers one scan.
type ScanFunc func(*scillav1.ScanRequest) (*scillav1.ScanResponse, error)

// Server is a running fake scanner.
type Server struct {
	scillav1.UnimplementedScannerServiceServer
	// Addr is the client address, "tcp:127.0.0.1:PORT".
	Addr  string
	fn    ScanFunc
	srv   *grpc.Server
	calls atomic.Int64
	mu    sync.Mutex
	reqs  []*scillav1.ScanRequest
}

// Start runs a fake scanner on a loopback port until the test ends.
func Start(t testing.TB, fn ScanFunc) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: "tcp:" + ln.Addr().String(), fn: fn, srv: grpc.NewServer()}
	scillav1.RegisterScannerServiceServer(s.srv, s)
	go func() { _ = s.srv.Serve(ln) }()
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server at once.
func (s *Server) Stop() { s.srv.Stop() }

// Calls returns the number of scans served.
func (s *Server) Calls() int64 { return s.calls.Load() }

// Requests returns copies of the requests served so far.
func (s *Server) Requests() []*scillav1.ScanRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*scillav1.ScanRequest(nil), s.reqs...)
}

// Scan implements scillav1.ScannerServiceServer.
func (s *Server) Scan(_ context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	s.calls.Add(1)
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	return s.fn(req)
}

// Rule says what a Policy does for recipients matching a prefix.
type Rule struct {
	// Prefix of the recipient address (e.g. "boss@"); "" matches all.
	Prefix string
	// Action for spam in this group.
	Action scillav1.Action
	// To are the copy or redirect addresses.
	To []string
	// Text is the reject text.
	Text string
}

// Policy returns a ScanFunc that rates a message SPAM when it contains
// the word "XJS*C4JDBQADN1" (GTUBE) and NOT_DETECTED otherwise, puts
// recipients into one group per matching Rule (in order, group id = index
// +2; unmatched recipients in group 1 "All" which accepts), and applies the
// rule's action to spam. Headers follow DESIGN §2 in a reduced form.
func Policy(rules ...Rule) ScanFunc {
	return func(req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
		spam := strings.Contains(string(req.GetMessage()), "XJS*C4JDBQADN1")
		groups := map[int][]string{}
		var order []int
		for _, r := range req.GetEnvelope().GetRcptTo() {
			g := -1
			for i, rule := range rules {
				if strings.HasPrefix(r, rule.Prefix) {
					g = i
					break
				}
			}
			if _, ok := groups[g]; !ok {
				order = append(order, g)
			}
			groups[g] = append(groups[g], r)
		}
		resp := &scillav1.ScanResponse{ScanId: "fake-1", StripHeaders: []string{"X-Spamtest-Status-Extended", "X-Spam-Flag"}}
		for _, g := range order {
			id, name := uint32(1), "All"
			rule := Rule{Action: scillav1.Action_ACTION_ACCEPT}
			if g >= 0 {
				id, name, rule = uint32(g+2), "G"+string(rune('A'+g)), rules[g]
			}
			gr := &scillav1.GroupResult{GroupId: id, GroupName: name, Recipients: groups[g],
				Status: scillav1.Status_STATUS_NOT_DETECTED, Info: scillav1.Info_INFO_NONE, Action: scillav1.Action_ACTION_ACCEPT,
				Modifications: &scillav1.Modifications{}}
			st := "Not detected"
			if spam {
				st = "SPAM"
				gr.Status, gr.Action, gr.Score, gr.Rate = scillav1.Status_STATUS_SPAM, rule.Action, 1000, 100
				gr.Modifications.SubjectPrefix = "[!! SPAM] "
				gr.RejectText = rule.Text
				switch rule.Action {
				case scillav1.Action_ACTION_COPY:
					gr.CopyTo = rule.To
				case scillav1.Action_ACTION_REDIRECT:
					gr.RedirectTo = rule.To
				}
				gr.Modifications.AddHeaders = append(gr.Modifications.AddHeaders, &scillav1.Header{Name: "X-Spam-Flag", Value: "YES"})
			}
			gr.Modifications.AddHeaders = append(gr.Modifications.AddHeaders,
				&scillav1.Header{Name: "X-Spamtest-Status-Extended", Value: st},
				&scillav1.Header{Name: "X-Spamtest-Group-ID", Value: sprintf8(id)})
			resp.Results = append(resp.Results, gr)
		}
		return resp, nil
	}
}

func sprintf8(n uint32) string {
	s := []byte("00000000")
	for i := 7; i >= 0 && n > 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}
