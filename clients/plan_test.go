package clients

import (
	"errors"
	"slices"
	"strings"
	"testing"

	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

func group(id uint32, action scillav1.Action, rcpts []string, mod func(*scillav1.GroupResult)) *scillav1.GroupResult {
	g := &scillav1.GroupResult{GroupId: id, Recipients: rcpts, Action: action, Status: scillav1.Status_STATUS_SPAM,
		Modifications: &scillav1.Modifications{SubjectPrefix: "[!! SPAM] ",
			AddHeaders: []*scillav1.Header{{Name: "X-Spamtest-Version", Value: "1"}, {Name: "X-Spamtest-Group-ID", Value: strings.Repeat("0", 7) + string(rune('0'+id))}}}}
	if mod != nil {
		mod(g)
	}
	return g
}

func TestNewPlan(t *testing.T) {
	A, R, C, D, X := scillav1.Action_ACTION_ACCEPT, scillav1.Action_ACTION_REDIRECT, scillav1.Action_ACTION_COPY, scillav1.Action_ACTION_DELETE, scillav1.Action_ACTION_REJECT
	tests := []struct {
		name       string
		groups     []*scillav1.GroupResult
		outcome    Outcome
		reply      string
		add, del   string
		headers    string
		partial    int
		perGroupTo []string
	}{
		{name: "accept", groups: []*scillav1.GroupResult{group(1, A, []string{"a@x", "b@x"}, nil)},
			headers: "X-Spamtest-Version: 1|X-Spamtest-Group-ID: 00000001", perGroupTo: []string{"a@x,b@x"}},
		{name: "copy adds recipients", groups: []*scillav1.GroupResult{group(1, C, []string{"a@x"}, func(g *scillav1.GroupResult) { g.CopyTo = []string{"q@x"} })},
			add: "q@x", headers: "X-Spamtest-Version: 1|X-Spamtest-Group-ID: 00000001", perGroupTo: []string{"a@x,q@x"}},
		{name: "redirect adds and deletes", groups: []*scillav1.GroupResult{group(1, R, []string{"a@x", "b@x"}, func(g *scillav1.GroupResult) { g.RedirectTo = []string{"q@x", "a@x"} })},
			add: "q@x", del: "b@x", headers: "X-Spamtest-Version: 1|X-Spamtest-Group-ID: 00000001", perGroupTo: []string{"q@x,a@x"}},
		{name: "all reject", groups: []*scillav1.GroupResult{group(1, X, []string{"a@x"}, func(g *scillav1.GroupResult) { g.RejectText = "No spam\r\nplease" }), group(2, X, []string{"b@x"}, nil)},
			outcome: Reject, reply: "550 5.7.1 No spam  please", perGroupTo: []string{"", ""}},
		{name: "reject without text", groups: []*scillav1.GroupResult{group(1, X, []string{"a@x"}, nil)},
			outcome: Reject, reply: "550 5.7.1 Message rejected as spam", perGroupTo: []string{""}},
		{name: "all delete", groups: []*scillav1.GroupResult{group(1, D, []string{"a@x"}, nil)}, outcome: Discard, perGroupTo: []string{""}},
		{name: "reject plus delete rejects", groups: []*scillav1.GroupResult{group(1, D, []string{"a@x"}, nil), group(2, X, []string{"b@x"}, nil)},
			outcome: Reject, reply: "550 5.7.1 Message rejected as spam", perGroupTo: []string{"", ""}},
		{name: "partial reject delivers tagged", groups: []*scillav1.GroupResult{group(1, A, []string{"a@x"}, nil), group(2, X, []string{"b@x"}, nil)},
			partial: 1, headers: "X-Spamtest-Version: 1|X-Spamtest-Group-ID: 00000001|X-Spamtest-Group-ID: 00000002", perGroupTo: []string{"a@x", ""}},
		{name: "delete one group of two", groups: []*scillav1.GroupResult{group(1, A, []string{"a@x"}, nil), group(2, D, []string{"b@x"}, nil)},
			del: "b@x", headers: "X-Spamtest-Version: 1|X-Spamtest-Group-ID: 00000001", perGroupTo: []string{"a@x", ""}},
		{name: "header injection folded away", groups: []*scillav1.GroupResult{group(1, A, []string{"a@x"}, func(g *scillav1.GroupResult) {
			g.Modifications.AddHeaders = []*scillav1.Header{{Name: "X-Spam-Status", Value: "Yes\r\nBcc: evil@x"}, {Name: "X-Spamtest-Report", Value: "a\r\n b"}}
		})}, headers: "X-Spam-Status: Yes Bcc: evil@x|X-Spamtest-Report: a\n b", perGroupTo: []string{"a@x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPlan(&scillav1.ScanResponse{ScanId: "s1", StripHeaders: []string{"X-Spam-Flag", "x-spam-flag"}, Results: tt.groups})
			if p.Outcome != tt.outcome {
				t.Fatalf("outcome = %s, want %s", p.Outcome, tt.outcome)
			}
			if tt.reply != "" && p.Reply.String() != tt.reply {
				t.Errorf("reply = %q, want %q", p.Reply.String(), tt.reply)
			}
			if got := strings.Join(p.AddRecipients, ","); got != tt.add {
				t.Errorf("add rcpts = %q, want %q", got, tt.add)
			}
			if got := strings.Join(p.DeleteRecipients, ","); got != tt.del {
				t.Errorf("del rcpts = %q, want %q", got, tt.del)
			}
			var hs []string
			for _, h := range p.Merged.AddHeaders {
				hs = append(hs, h.Name+": "+h.Value)
			}
			if got := strings.Join(hs, "|"); got != tt.headers {
				t.Errorf("headers = %q, want %q", got, tt.headers)
			}
			if len(p.PartialReject) != tt.partial {
				t.Errorf("partial rejects = %d, want %d", len(p.PartialReject), tt.partial)
			}
			if p.Outcome == Deliver && (len(p.Merged.StripHeaders) != 1 || p.Merged.SubjectPrefix != "[!! SPAM] ") {
				t.Errorf("merged = %+v", p.Merged)
			}
			for i, gp := range p.Groups {
				if got := strings.Join(gp.Deliver, ","); got != tt.perGroupTo[i] {
					t.Errorf("group %d deliver = %q, want %q", i, got, tt.perGroupTo[i])
				}
			}
		})
	}
}

func TestFallbackPlan(t *testing.T) {
	err := errors.New("down")
	if p := FallbackPlan(OnErrorTempFail, nil, err); p.Outcome != TempFail || p.Reply.Code != 451 || p.Err != err {
		t.Errorf("tempfail plan = %+v", p)
	}
	if p := FallbackPlan(OnErrorReject, nil, err); p.Outcome != Reject || p.Reply.Code/100 != 5 {
		t.Errorf("reject plan = %+v", p)
	}
	p := FallbackPlan(OnErrorAccept, []string{"a@x"}, err)
	if p.Outcome != Deliver || len(p.Merged.AddHeaders) != 1 || p.Merged.AddHeaders[0] != (Header{"X-SpamTest-Info", "Not processed"}) || !p.Merged.Strips("x-spam-flag") {
		t.Errorf("accept plan = %+v", p)
	}
	if len(p.Groups) != 1 || p.Groups[0].Deliver[0] != "a@x" {
		t.Errorf("accept plan groups = %+v", p.Groups)
	}
}

// TestDedupFold checks the strip list: trimmed, empty names dropped,
// duplicates (any case) kept once in first-seen spelling and order, for
// short lists and for long ones (the map path).
func TestDedupFold(t *testing.T) {
	in := []string{" X-Spam-Flag", "x-spam-flag", "", "X-Spamtest-Rate ", "X-SPAM-FLAG", "  ", "X-Spamtest-Rate"}
	want := []string{"X-Spam-Flag", "X-Spamtest-Rate"}
	long := append([]string(nil), in...)
	for i := 0; i < 40; i++ {
		long = append(long, "X-Same", "x-same")
	}
	for _, tc := range []struct {
		in, want []string
	}{
		{in, want},
		{long, append(append([]string(nil), want...), "X-Same")},
		{nil, nil},
	} {
		if got := dedupFold(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("dedupFold(%d names) = %q, want %q", len(tc.in), got, tc.want)
		}
	}
}
