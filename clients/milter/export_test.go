package milter

import (
	gomilter "github.com/d--j/go-milter"

	"github.com/scilla-mail/scilla/internal/gopool"
)

// NullServer returns a milter server that accepts every message without a
// scan but negotiates scilla-milter's actions and protocol options, so
// Postfix sends it the same events, and serves them through the same
// connection handling (Serve): the Postfix benchmark's ceiling. With
// headers it adds, like scilla-milter with the default policy, twelve
// verdict headers to every message.
func NullServer(headers bool) *Server {
	newMilter := func() gomilter.Milter { return gomilter.NoOpMilter{} }
	if headers {
		newMilter = func() gomilter.Milter { return headerMilter{} }
	}
	return &Server{
		srv: gomilter.NewServer(
			gomilter.WithMilter(newMilter),
			gomilter.WithActions(actions),
			gomilter.WithProtocols(protocol),
			gomilter.WithNegotiationCallback(negotiate),
			gomilter.WithReadTimeout(0),
			gomilter.WithWriteTimeout(0),
		),
		runs: new(gopool.Pool),
		idle: idleTimeout,
	}
}

// headerMilter adds the default policy's twelve verdict headers (fixed
// values of typical length) to every message.
type headerMilter struct{ gomilter.NoOpMilter }

func (headerMilter) EndOfMessage(m gomilter.Modifier) (*gomilter.Response, error) {
	for _, h := range [][2]string{
		{"X-Spamtest-Version", "scilla/1.0 (database default-1)"},
		{"X-Spamtest-Envelope-From", "<alice@example.net>"},
		{"X-Spamtest-Group-ID", "00000001"},
		{"X-Spamtest-Status-Extended", "Not detected"},
		{"X-Spamtest-Rate", "0"},
		{"X-SpamTest-Method", "none"},
		{"X-SpamTest-Categories", "none"},
		{"X-Spamtest-Report", "BAYES_20=-3.05, MISSING_DATE=1, MISSING_MESSAGE_ID=0.8"},
		{"X-Spam-Flag", "NO"},
		{"X-Spam-Status", "No, score=-1.3 required=6.0 tests=BAYES_20,MISSING_DATE,MISSING_MESSAGE_ID"},
		{"X-Spam-Score", "-1.3"},
		{"X-Spam-Level", ""},
	} {
		if err := m.AddHeader(h[0], h[1]); err != nil {
			return nil, err
		}
	}
	return gomilter.RespAccept, nil
}
