package clients_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/clients"
	"github.com/scilla-mail/scilla/clients/clienttest"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func settings(servers ...string) clients.Settings {
	s := clients.DefaultSettings()
	s.Servers = servers
	s.ConnectTimeout, s.DataTimeout = time.Second, 2*time.Second
	return s
}

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return "tcp:" + a
}

func TestCheckSpreadsAndFailsOver(t *testing.T) {
	a := clienttest.Start(t, clienttest.Policy())
	b := clienttest.Start(t, clienttest.Policy())
	c, err := clients.New(settings(a.Addr, deadAddr(t), b.Addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 30
	for i := 0; i < n; i++ {
		p := c.Check(context.Background(), &scillav1.Envelope{RcptTo: []string{"bob@example.com"}}, []byte("Subject: x\r\n\r\nhi\r\n"), fmt.Sprint(i))
		if p.Err != nil || p.Outcome != clients.Deliver {
			t.Fatalf("message %d: plan %+v", i, p)
		}
	}
	if a.Calls()+b.Calls() != n {
		t.Fatalf("calls a=%d b=%d, want %d in total", a.Calls(), b.Calls(), n)
	}
	if a.Calls() < n/4 || b.Calls() < n/4 {
		t.Errorf("load not spread: a=%d b=%d", a.Calls(), b.Calls())
	}
}

func TestCheckOnError(t *testing.T) {
	for _, tc := range []struct {
		onError clients.OnError
		outcome clients.Outcome
		code    int
	}{
		{clients.OnErrorTempFail, clients.TempFail, 451},
		{clients.OnErrorReject, clients.Reject, 554},
		{clients.OnErrorAccept, clients.Deliver, 0},
	} {
		t.Run(string(tc.onError), func(t *testing.T) {
			s := settings(deadAddr(t), deadAddr(t))
			s.OnError = tc.onError
			c, err := clients.New(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			p := c.Check(context.Background(), &scillav1.Envelope{RcptTo: []string{"bob@example.com"}}, []byte("Subject: x\r\n\r\n"), "r1")
			if p.Err == nil || p.Outcome != tc.outcome || p.Reply.Code != tc.code {
				t.Fatalf("plan = %+v", p)
			}
			if tc.onError == clients.OnErrorAccept {
				out := string(p.Merged.Apply([]byte("X-SpamTest-Info: forged\r\nSubject: x\r\n\r\n")))
				if out != "Subject: x\r\nX-SpamTest-Info: Not processed\r\n\r\n" {
					t.Errorf("tagged message = %q", out)
				}
			}
		})
	}
}

func TestCheckServerError(t *testing.T) {
	srv := clienttest.Start(t, func(*scillav1.ScanRequest) (*scillav1.ScanResponse, error) { return nil, errors.New("boom") })
	c, _ := clients.New(settings(srv.Addr), nil)
	defer c.Close()
	p := c.Check(context.Background(), &scillav1.Envelope{RcptTo: []string{"a@x"}}, []byte("\r\n"), "r")
	if p.Outcome != clients.TempFail || !strings.Contains(p.Err.Error(), "boom") {
		t.Errorf("plan = %+v", p)
	}
}

func TestCheckSizeLimitAndDefaultDomain(t *testing.T) {
	srv := clienttest.Start(t, clienttest.Policy())
	s := settings(srv.Addr)
	s.SizeLimit, s.DefaultDomain = 100, "example.com"
	c, _ := clients.New(s, nil)
	defer c.Close()
	p := c.Check(context.Background(), &scillav1.Envelope{RcptTo: []string{"bob"}}, []byte("Subject: big\r\n\r\n"+strings.Repeat("x", 200)), "r")
	if p.Outcome != clients.Deliver || p.Err == nil || p.Merged.AddHeaders[0].Value != "Not processed" || srv.Calls() != 0 {
		t.Fatalf("over-size plan = %+v, calls %d", p, srv.Calls())
	}
	env := &scillav1.Envelope{MailFrom: "<alice>", RcptTo: []string{"<bob>", "carol@example.org"}}
	p = c.Check(context.Background(), env, []byte("Subject: small\r\n\r\n"), "r")
	if p.Err != nil {
		t.Fatal(p.Err)
	}
	got := srv.Requests()[0].GetEnvelope()
	if got.GetMailFrom() != "alice@example.com" || strings.Join(got.GetRcptTo(), ",") != "bob@example.com,carol@example.org" {
		t.Errorf("envelope sent = %v", got)
	}
}

func ExampleNewPlan() {
	resp := &scillav1.ScanResponse{
		StripHeaders: []string{"X-Spam-Flag"},
		Results: []*scillav1.GroupResult{{
			Recipients: []string{"bob@example.com"}, Action: scillav1.Action_ACTION_REDIRECT, RedirectTo: []string{"spam@example.com"},
			Modifications: &scillav1.Modifications{SubjectPrefix: "[!! SPAM] ", AddHeaders: []*scillav1.Header{{Name: "X-Spam-Flag", Value: "YES"}}},
		}},
	}
	p := clients.NewPlan(resp)
	fmt.Println(p.Outcome, p.AddRecipients, p.DeleteRecipients)
	fmt.Printf("%q\n", p.Merged.Apply([]byte("Subject: hi\r\nX-Spam-Flag: NO\r\n\r\nbody\r\n")))
	// Output:
	// deliver [spam@example.com] [bob@example.com]
	// "Subject: [!! SPAM] hi\r\nX-Spam-Flag: YES\r\n\r\nbody\r\n"
}
