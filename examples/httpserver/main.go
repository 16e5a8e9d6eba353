// Httpserver runs an HTTP server as a scope manager: Enter listens and
// serves; the exit shuts down gracefully within one deadline, letting
// requests in flight finish, and then closes. The server and its client carry
// the timeouts a production server needs.
//
// With no flags it starts on 127.0.0.1, sends itself a request, starts a slow
// one, shuts down while that one is in flight (it completes), and exits:
//
//	go -C examples run ./httpserver
//	go -C examples run ./httpserver -serve -addr 127.0.0.1:8080   # until Ctrl-C
//
// With -serve, the first Ctrl-C (or SIGTERM) shuts down gracefully: requests
// in flight get -shutdown-timeout to finish, and the program exits 0 when the
// shutdown was clean, 1 when the deadline cut requests off. A second Ctrl-C
// exits at once, with code 130. Usage errors exit 2; -h exits 0.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-scope/scope"
	"github.com/go-scope/scope/examples/internal/cli"
)

func main() {
	ctx, stop := signalContext(os.Stderr)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitForced is the exit code after a second interrupt.
const exitForced = 130

// signalContext returns a context that the first Ctrl-C (SIGINT) or SIGTERM
// cancels, so that the server shuts down gracefully; the second one exits at
// once, for an operator who will not wait for the shutdown's deadline.
func signalContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			fmt.Fprintf(stderr, "httpserver: second %v: exiting without waiting for the shutdown\n", sig)
			os.Exit(exitForced)
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		cancel()
	}
}

// Server is an http.Server as a scope.Manager. It is also a
// scope.ContextExiter, so a Scope closed with CloseContext gives its shutdown
// the teardown's deadline.
type Server struct {
	Addr    string
	Handler http.Handler

	// The timeouts of a server that faces the internet: a client that sends
	// its headers too slowly, or never reads its response, does not hold a
	// connection for ever.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	srv    *http.Server
	ln     net.Listener
	served chan error
}

// Enter listens on s.Addr and serves in a new goroutine.
func (s *Server) Enter() (*Server, error) {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler,
		ReadHeaderTimeout: s.ReadHeaderTimeout,
		ReadTimeout:       s.ReadTimeout,
		WriteTimeout:      s.WriteTimeout,
		IdleTimeout:       s.IdleTimeout,
	}
	s.served = make(chan error, 1)
	go func() { s.served <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Exit shuts the server down with no deadline of its own: requests in flight
// finish however long they take.
func (s *Server) Exit(err error) error { return s.ExitContext(context.Background(), err) }

// ExitContext shuts the server down gracefully: it stops accepting, lets the
// requests in flight finish until ctx's deadline, then closes whatever is
// left. Its error says what went wrong; a deadline that passed is reported
// by the Scope, once.
func (s *Server) ExitContext(ctx context.Context, _ error) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		err = errors.Join(err, s.srv.Close()) // past the deadline: cut the rest off
	}
	if serveErr := <-s.served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// newClient is an HTTP client with a timeout at every stage, for the same
// reason as the server's: a peer that stalls must not stall us.
func newClient() (*http.Client, *http.Transport) {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		IdleConnTimeout:       30 * time.Second,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr
}

// handler serves /hello at once and /slow after a delay. When a slow request
// begins, it tells started if started has room, and never waits for it.
func handler(slow time.Duration, started chan<- struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello, world")
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-time.After(slow):
			fmt.Fprintf(w, "done after %v\n", slow)
		case <-r.Context().Done(): // the server was closed past its deadline
		}
	})
	return mux
}

type config struct {
	addr              string
	serve             bool
	shutdownTimeout   time.Duration
	readHeaderTimeout time.Duration
	slow              time.Duration
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("httpserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.addr, "addr", "127.0.0.1:0", "the address to listen on")
	fs.BoolVar(&c.serve, "serve", false, "serve until interrupted, instead of the demonstration")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 5*time.Second, "how long requests in flight get to finish")
	fs.DurationVar(&c.readHeaderTimeout, "read-header-timeout", 5*time.Second, "how long a client gets to send its headers")
	fs.DurationVar(&c.slow, "slow", 300*time.Millisecond, "how long /slow takes")
	if code, ok := cli.Parse(fs, args); !ok {
		return code
	}
	if err := serve(ctx, c, stdout); err != nil {
		fmt.Fprintln(stderr, "httpserver:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, c config, stdout io.Writer) (err error) {
	var s scope.Scope
	// One deadline for the whole teardown, server and client alike.
	defer func() { err = errors.Join(err, s.CloseTimeout(c.shutdownTimeout)) }()

	started := make(chan struct{}, 1)
	srv, err := scope.Enter(&s, &Server{
		Addr:              c.addr,
		Handler:           handler(c.slow, started),
		ReadHeaderTimeout: c.readHeaderTimeout,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "listening on %s\n", srv.URL())
	if c.serve {
		<-ctx.Done()
		fmt.Fprintln(stdout, "interrupted: shutting down")
		return nil
	}

	client, tr := newClient()
	s.Defer(func() error { tr.CloseIdleConnections(); return nil })
	body, err := get(client, srv.URL()+"/hello")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GET /hello: %s", body)

	// A slow request, still in flight when the server shuts down.
	slow := make(chan string, 1)
	go func() {
		body, err := get(client, srv.URL()+"/slow")
		if err != nil {
			body = "error: " + err.Error() + "\n"
		}
		slow <- body
	}()
	<-started
	fmt.Fprintln(stdout, "shutting down with a request in flight")
	if err := s.CloseTimeout(c.shutdownTimeout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "GET /slow: %s", <-slow)
	fmt.Fprintln(stdout, "shut down cleanly")
	return nil
}

func get(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), nil
}
