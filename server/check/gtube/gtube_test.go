package gtube

import (
	"context"
	"os"
	"testing"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/message"
	"github.com/scilla-mail/scilla/server/verdict"
)

func TestGTUBE(t *testing.T) {
	tests := []struct {
		file string
		want bool
	}{
		{"testdata/gtube.eml", true},
		{"testdata/gtube-base64.eml", true},
		{"testdata/ham.eml", false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			in := &engine.Input{Msg: message.Parse(raw, message.DefaultLimits)}
			r, err := New().Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			got := len(r.Signs) == 1 && r.Signs[0].Status == verdict.Spam
			if got != tt.want {
				t.Errorf("GTUBE found = %v, want %v (signs %+v)", got, tt.want, r.Signs)
			}
		})
	}
}
