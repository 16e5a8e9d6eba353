package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/go-scope/scope"
)

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("HTTPSERVER_CHILD_ARGS"); ok {
		os.Exit(func() int {
			ctx, stop := signalContext()
			defer stop()
			return run(ctx, strings.Fields(args), os.Stdout, os.Stderr)
		}())
	}
	goleak.VerifyTestMain(m)
}

func TestDefaultRunFinishesInFlightRequest(t *testing.T) {
	var out, errOut strings.Builder
	require.Equal(t, 0, run(context.Background(), nil, &out, &errOut), errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 5, out.String())
	assert.True(t, strings.HasPrefix(lines[0], "listening on http://127.0.0.1:"))
	assert.Equal(t, []string{
		"GET /hello: hello, world",
		"shutting down with a request in flight",
		"GET /slow: done after 300ms",
		"shut down cleanly",
	}, lines[1:], "the request in flight completed during the shutdown")
}

func TestShutdownDeadline(t *testing.T) {
	// The slow request outlasts the shutdown deadline: it is cut off, and
	// the deadline is the error.
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"-slow", "2s", "-shutdown-timeout", "100ms"}, &out, &errOut)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut.String(), "context deadline exceeded")
}

func TestSlowHeadersCutOff(t *testing.T) {
	var s scope.Scope
	defer func() { assert.NoError(t, s.CloseTimeout(time.Second)) }()
	srv, err := scope.Enter(&s, &Server{
		Addr:              "127.0.0.1:0",
		Handler:           handler(0, nil),
		ReadHeaderTimeout: 200 * time.Millisecond,
	})
	require.NoError(t, err)

	conn, err := net.Dial("tcp", srv.ln.Addr().String())
	require.NoError(t, err)
	s.Defer(conn.Close)
	start := time.Now()
	_, err = io.WriteString(conn, "GET /hello HTTP/1.1\r\nHost: x\r\n") // and never the blank line
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = io.ReadAll(conn) // until the server hangs up
	assert.NoError(t, err, "the server closed the connection (not our read deadline)")
	elapsed := time.Since(start)
	assert.GreaterOrEqual(t, elapsed, 200*time.Millisecond)
	assert.Less(t, elapsed, 5*time.Second, "cut off by ReadHeaderTimeout")
}

func TestInterruptShutsDownCleanly(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HTTPSERVER_CHILD_ARGS=-serve")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(line, "listening on "), line)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	rest, _ := io.ReadAll(r)
	require.NoError(t, cmd.Wait(), "exit code 0 after Ctrl-C")
	assert.Contains(t, string(rest), "interrupted: shutting down")
}
