package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/validator"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"

	"github.com/scilla-mail/scilla/internal/conf"
	"github.com/scilla-mail/scilla/internal/rawconn"
	scillav1 "github.com/scilla-mail/scilla/proto/scilla/v1"
)

// Options configure the gRPC server.
type Options struct {
	Log *slog.Logger
	// Metrics records the gRPC server metrics; nil records none. Create it
	// once with NewServerMetrics and share it between servers.
	Metrics *grpcprom.ServerMetrics
	// MaxMessageBytes bounds the Scan message; the transport limit is set a
	// little above so the service can answer with a clear error.
	MaxMessageBytes int
	// AllowedNetworks may call Scan over TCP; unix-socket callers always may.
	AllowedNetworks *Networks
	// AdminAuth authenticates AdminService and LicenseService calls; nil
	// refuses them all with UNAUTHENTICATED.
	AdminAuth AdminAuthenticator
	// StreamWorkers is how many long-lived goroutines serve calls (more
	// calls at once each get a new goroutine); 0 = a new goroutine per call.
	// A call that runs on a fresh goroutine grows its stack again every
	// time; set it to about the number of scans in flight.
	StreamWorkers int
	// Extra server options (e.g. TLS credentials).
	ServerOptions []grpc.ServerOption
}

// AdminAuthenticator decides whether an admin call may proceed. It returns a
// status error (UNAUTHENTICATED or PERMISSION_DENIED) when it may not.
type AdminAuthenticator interface {
	Authenticate(ctx context.Context, fullMethod string) error
}

// Networks is a swappable list of allowed client networks.
type Networks struct {
	p atomic.Pointer[[]netip.Prefix]
}

// NewNetworks parses CIDR or plain addresses.
func NewNetworks(cidrs []string) (*Networks, error) {
	n := &Networks{}
	return n, n.Set(cidrs)
}

// Set replaces the list.
func (n *Networks) Set(cidrs []string) error {
	ps, err := ParsePrefixes(cidrs)
	if err != nil {
		return err
	}
	n.p.Store(&ps)
	return nil
}

// ParsePrefixes parses CIDR prefixes or single addresses.
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, c := range cidrs {
		if !strings.Contains(c, "/") {
			a, err := netip.ParseAddr(c)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR network", c)
			}
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR network", c)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// Allows reports whether the peer address may scan.
func (n *Networks) Allows(addr net.Addr) bool {
	if addr == nil {
		return false
	}
	var ip netip.Addr
	switch a := addr.(type) {
	case *UnixPeer:
		return true
	case *net.TCPAddr:
		// Every TCP caller: read the address as it is rather than format
		// and parse it back (a string per scan).
		ip = a.AddrPort().Addr()
	default:
		if addr.Network() == "unix" {
			return true
		}
		ap, err := netip.ParseAddrPort(addr.String())
		if err != nil {
			return false
		}
		ip = ap.Addr()
	}
	ip = ip.Unmap()
	for _, p := range *n.p.Load() {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// NewServerMetrics registers the gRPC server metrics (grpc_server_*) on reg.
func NewServerMetrics(reg prometheus.Registerer) *grpcprom.ServerMetrics {
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	reg.MustRegister(m)
	return m
}

// Server bundles the grpc.Server and its health service.
type Server struct {
	*grpc.Server
	Health *health.Server
}

// NewServer builds a grpc.Server with the interceptor chain (scan id and
// logging, panic recovery, metrics, admin authentication, client networks,
// request validation), health and reflection. Register services on it,
// then Serve.
func NewServer(o Options) *Server {
	log := o.Log
	logger := logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		log.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	// One line per call, at debug when it succeeded: every scan already
	// logs its own "scanned" line with the scan id and the verdict.
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithLevels(func(c codes.Code) logging.Level {
			if c == codes.OK {
				return logging.LevelDebug
			}
			return logging.DefaultServerCodeToLevel(c)
		}),
	}
	recoverOpts := []recovery.Option{recovery.WithRecoveryHandler(func(p any) error {
		log.Error("panic in gRPC handler", "panic", p)
		return status.Errorf(codes.Internal, "internal error")
	})}

	unary := []grpc.UnaryServerInterceptor{scanLogging(logging.UnaryServerInterceptor(logger, logOpts...), log)}
	stream := []grpc.StreamServerInterceptor{logging.StreamServerInterceptor(logger, logOpts...)}
	srvMetrics := o.Metrics
	if srvMetrics != nil {
		unary = append(unary, srvMetrics.UnaryServerInterceptor())
		stream = append(stream, srvMetrics.StreamServerInterceptor())
	}
	unary = append(unary,
		recovery.UnaryServerInterceptor(recoverOpts...),
		accessUnary(o.AllowedNetworks, o.AdminAuth),
		validator.UnaryServerInterceptor(),
	)
	stream = append(stream, recovery.StreamServerInterceptor(recoverOpts...), accessStream(o.AdminAuth))

	opts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(o.MaxMessageBytes + 1<<20),
		// Fixed flow-control windows: no bandwidth-probing PINGs per call.
		grpc.StaticStreamWindowSize(1 << 20),
		grpc.StaticConnWindowSize(4 << 20),
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
	}, o.ServerOptions...)
	if o.StreamWorkers > 0 {
		opts = append(opts, grpc.NumStreamWorkers(uint32(o.StreamWorkers)))
	}
	s := &Server{Server: grpc.NewServer(opts...), Health: health.NewServer()}
	healthpb.RegisterHealthServer(s.Server, s.Health)
	reflection.Register(s.Server)
	if srvMetrics != nil {
		defer srvMetrics.InitializeMetrics(s.Server)
	}
	return s
}

// scanLogging runs the logging interceptor i for every call but Scan. A
// Scan that succeeded logs its own "scanned" line with the scan id and the
// verdict, so the interceptor's line (at debug) would say nothing new, and
// preparing it (fields, start time, deadline, formatted per call) is a
// noticeable share of a small scan's CPU. A Scan that failed (refused by an
// interceptor, over the size limit, client gone) is logged here as the
// interceptor would, at the level for its code.
func scanLogging(i grpc.UnaryServerInterceptor, log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if info.FullMethod != scillav1.ScannerService_Scan_FullMethodName {
			return i(ctx, req, info, h)
		}
		start := time.Now()
		resp, err := h(ctx, req)
		if err != nil {
			code := status.Code(err)
			var addr string
			if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
				addr = p.Addr.String()
			}
			log.LogAttrs(ctx, slog.Level(logging.DefaultServerCodeToLevel(code)), "finished call",
				slog.String("protocol", "grpc"), slog.String("grpc.component", "server"),
				slog.String("grpc.service", scillav1.ScannerService_ServiceDesc.ServiceName), slog.String("grpc.method", "Scan"),
				slog.String("grpc.method_type", "unary"), slog.String("peer.address", addr),
				slog.String("grpc.code", code.String()), slog.Any("grpc.error", err),
				slog.String("grpc.time_ms", strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 3, 64)))
		}
		return resp, err
	}
}

// isAdmin reports whether a method belongs to a service that needs authentication.
func isAdmin(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, "/"+scillav1.AdminService_ServiceDesc.ServiceName+"/") ||
		strings.HasPrefix(fullMethod, "/"+scillav1.LicenseService_ServiceDesc.ServiceName+"/")
}

func authorize(ctx context.Context, method string, nets *Networks, auth AdminAuthenticator) error {
	if isAdmin(method) {
		if auth == nil {
			return status.Error(codes.Unauthenticated, "admin calls need authentication: configure admin.token_file or use the unix socket")
		}
		return auth.Authenticate(ctx, method)
	}
	if method == scillav1.ScannerService_Scan_FullMethodName && nets != nil {
		p, _ := peer.FromContext(ctx)
		var addr net.Addr
		if p != nil {
			addr = p.Addr
		}
		if !nets.Allows(addr) {
			return status.Errorf(codes.PermissionDenied, "client %v is not in server.allowed_networks", addr)
		}
	}
	return nil
}

func accessUnary(nets *Networks, auth AdminAuthenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := authorize(ctx, info.FullMethod, nets, auth); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
}

func accessStream(auth AdminAuthenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := authorize(ss.Context(), info.FullMethod, nil, auth); err != nil {
			return err
		}
		return h(srv, ss)
	}
}

// Listen opens a listener from "tcp:host:port" or "unix:/path". A stale
// unix socket file is replaced.
func Listen(addr string) (net.Listener, error) {
	network, address, err := conf.ParseAddress(addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	switch network {
	case "tcp":
		l, err := net.Listen("tcp", address)
		if err != nil {
			return nil, err
		}
		return rawconn.Listener(l), nil // cheaper reads and writes (see rawconn)
	case "unix":
		if c, err := net.Dial("unix", address); err == nil {
			c.Close()
			return nil, fmt.Errorf("listen %s: another server is listening there", addr)
		}
		_ = removeSocket(address)
		l, err := net.Listen("unix", address)
		if err != nil {
			return nil, err
		}
		return rawconn.Listener(PeerCredListener(l)), nil
	}
	return nil, fmt.Errorf("listen %q: network must be tcp or unix", addr)
}
