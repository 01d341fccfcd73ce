package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scilla-mail/scilla/server/config"
)

// syncBuffer is a bytes.Buffer safe for the flush timer's goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestLogWriter(t *testing.T) {
	tests := []struct {
		name       string
		log        func(*slog.Logger)
		wantAtOnce []string // written before any timer could fire
		wantLater  []string // written within the delay
	}{
		{
			name:      "info lines wait and leave together",
			log:       func(l *slog.Logger) { l.Info("one"); l.Info("two") },
			wantLater: []string{"msg=one", "msg=two"},
		},
		{
			name:       "a warning flushes what came before it",
			log:        func(l *slog.Logger) { l.Info("before"); l.Warn("trouble", "err", "x") },
			wantAtOnce: []string{"msg=before", "msg=trouble"},
		},
		{
			name:       "an error through a derived logger flushes too",
			log:        func(l *slog.Logger) { l.With("k", "v").WithGroup("g").Error("bad", "a", 1) },
			wantAtOnce: []string{"msg=bad", "k=v", "g.a=1"},
		},
		{
			name: "a full batch is written without waiting",
			log: func(l *slog.Logger) {
				for i := 0; i < logBatchBytes/20; i++ {
					l.Info("filler line")
				}
			},
			wantAtOnce: []string{"msg=\"filler line\""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &syncBuffer{}
			lw := NewLogWriter(out, 200*time.Millisecond)
			log, _ := NewLogger(config.Log{}, lw)
			tt.log(log)
			got, _ := out.String()
			for _, w := range tt.wantAtOnce {
				if !strings.Contains(got, w) {
					t.Errorf("written at once %q, want it to contain %q", got, w)
				}
			}
			if len(tt.wantAtOnce) == 0 && got != "" {
				t.Errorf("written at once %q, want nothing before the delay", got)
			}
			deadline := time.Now().Add(5 * time.Second)
			for _, w := range tt.wantLater {
				for got, _ = out.String(); !strings.Contains(got, w) && time.Now().Before(deadline); got, _ = out.String() {
					time.Sleep(10 * time.Millisecond)
				}
				if !strings.Contains(got, w) {
					t.Errorf("written %q, want it to contain %q after the delay", got, w)
				}
			}
			if len(tt.wantLater) > 1 {
				if _, writes := out.String(); writes != 1 {
					t.Errorf("%d writes, want the lines in one", writes)
				}
			}
			if err := lw.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
