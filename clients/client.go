package clients

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/internal/rawconn"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Client scans messages on a set of scillad servers. It is safe for
// concurrent use; create one per process.
type Client struct {
	settings Settings
	servers  []server
	next     atomic.Uint64
	log      *slog.Logger
}

type server struct {
	addr string
	conn *grpc.ClientConn
	scan scillav1.ScannerServiceClient
}

// New connects (lazily) to every server in s.Servers. log may be nil.
func New(s Settings, log *slog.Logger) (*Client, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("client settings: %w", errors.Join(errs...))
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{settings: s, log: log}
	for _, a := range s.Servers {
		network, addr, _ := conf.ParseAddress(a)
		dialer := &net.Dialer{Timeout: s.ConnectTimeout}
		conn, err := grpc.NewClient("passthrough:///"+a,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return rawconn.Wrap(c), nil // cheaper reads and writes (see rawconn)
			}),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20), grpc.MaxCallSendMsgSize(64<<20)),
			// Fixed flow-control windows switch off gRPC's bandwidth
			// estimation, which otherwise answers nearly every Scan
			// response with a window update and a PING (and the server
			// with a PING ACK): several syscalls on both sides per message
			// for nothing on a loopback or LAN link carrying small
			// requests and responses.
			grpc.WithStaticStreamWindowSize(1<<20),
			grpc.WithStaticConnWindowSize(4<<20),
		)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("set up connection to %s: %w", a, err)
		}
		c.servers = append(c.servers, server{addr: a, conn: conn, scan: scillav1.NewScannerServiceClient(conn)})
	}
	return c, nil
}

// Settings returns the settings the client was built with.
func (c *Client) Settings() Settings { return c.settings }

// Close closes every server connection.
func (c *Client) Close() error {
	var errs []error
	for _, s := range c.servers {
		if err := s.conn.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Scan sends req to the servers, starting with the next one in turn (load
// spreading) and trying each other server once when one fails (failover).
// Each attempt has the data timeout; ctx bounds them all.
func (c *Client) Scan(ctx context.Context, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	n := len(c.servers)
	start := int(c.next.Add(1) % uint64(n))
	var errs []error
	for i := 0; i < n; i++ {
		s := c.servers[(start+i)%n]
		resp, err := c.scanOne(ctx, s, req)
		if err == nil {
			return resp, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", s.addr, err))
		if ctx.Err() != nil || status.Code(err) == codes.InvalidArgument {
			break
		}
		c.log.Warn("scan failed, trying next server", "server", s.addr, "request_id", req.GetRequestId(), "err", err)
	}
	return nil, fmt.Errorf("scan: %w", errors.Join(errs...))
}

func (c *Client) scanOne(ctx context.Context, s server, req *scillav1.ScanRequest) (*scillav1.ScanResponse, error) {
	// The connect timeout applies inside the dialer; a server that cannot
	// be reached fails fast (no WaitForReady), so failover is quick.
	ctx, cancel := context.WithTimeout(ctx, c.settings.ConnectTimeout+c.settings.DataTimeout)
	defer cancel()
	return s.scan.Scan(ctx, req)
}

// Check scans one message and returns its Plan. It never fails: a message
// over the size limit passes tagged Not processed, and a scan error yields
// the on-error plan (Plan.Err says why). env's addresses are normalised
// with the default domain (in place); env.RcptTo must list every
// envelope recipient.
func (c *Client) Check(ctx context.Context, env *scillav1.Envelope, msg []byte, requestID string) *Plan {
	start := time.Now()
	env.MailFrom = NormalizeAddress(env.GetMailFrom(), c.settings.DefaultDomain)
	for i, r := range env.RcptTo {
		env.RcptTo[i] = NormalizeAddress(r, c.settings.DefaultDomain)
	}
	if c.settings.SizeLimit > 0 && int64(len(msg)) > int64(c.settings.SizeLimit) {
		c.log.Info("message over size limit, passed unscanned", "request_id", requestID, "size", len(msg), "limit", int64(c.settings.SizeLimit))
		return NotProcessedPlan(env.RcptTo, fmt.Errorf("message of %d bytes is over the size limit of %d", len(msg), int64(c.settings.SizeLimit)))
	}
	resp, err := c.Scan(ctx, &scillav1.ScanRequest{Envelope: env, Message: msg, RequestId: requestID})
	if err != nil {
		p := FallbackPlan(c.settings.OnError, env.RcptTo, err)
		c.log.Error("message not scanned", "request_id", requestID, "on_error", string(c.settings.OnError), "outcome", p.Outcome.String(), "err", err)
		return p
	}
	p := NewPlan(resp)
	if !c.log.Enabled(ctx, slog.LevelDebug) { // spare building the line's values
		return p
	}
	c.log.Debug("scanned", "scan_id", p.ScanID, "request_id", requestID, "outcome", p.Outcome.String(), "elapsed", time.Since(start))
	return p
}
