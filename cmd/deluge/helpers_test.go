package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/examples"
	"github.com/deluge-go/deluge/internal/azureharness"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/llm/llmtest"
	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
	"github.com/deluge-go/deluge/registry"
)

// Test models, registered once for the package's tests. Their IDs cannot
// clash with real catalog entries.
var testModels = []registry.Model{
	{ID: "clitest-small", Provider: "clitest", Name: "small", BaseModel: "clitest-small",
		InputCost: 1, CachedInputCost: 0.5, OutputCost: 2, ContextWindow: 1000, MaxOutputTokens: 100,
		SupportsJSON: true, SupportsTools: true},
	{ID: "clitest-big", Provider: "clitest", Name: "big", BaseModel: "clitest-big",
		InputCost: 10, OutputCost: 30, ContextWindow: 128000, SupportsImages: true, Reasoning: true},
	{ID: "clitest-other-small", Provider: "clitest-other", Name: "other-small", BaseModel: "clitest-small",
		InputCost: 2, OutputCost: 4, MaxOutputTokens: 50},
}

// testProvider serves the "clitest" models (not "clitest-other", whose
// provider is deliberately missing): an echoing fake.
var testProvider = llmtest.New()

func init() {
	for _, m := range testModels {
		registry.MustRegister(m)
	}
	llm.RegisterProvider("clitest", func() (llm.Provider, error) { return testProvider, nil })
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// cli runs the CLI in-process.
type cli struct {
	stdin   string
	environ map[string]string
	// signals, when set, receives the signals the run waits for.
	signals chan os.Signal
	// onNotify is called when the command starts watching signals.
	onNotify func()
	ctx      context.Context
	// engine, when set, replaces the llm.Client engine.
	engine engine
	// stderrTTY pretends stderr is a terminal (progress bar).
	stderrTTY bool
	// inMemory serves the demo's emulator over in-memory connections, for
	// a run inside a testing/synctest bubble.
	inMemory bool
}

type cliResult struct {
	code           int
	stdout, stderr string
}

func (c cli) run(t testing.TB, args ...string) cliResult {
	t.Helper()
	var stdout, stderr syncBuffer
	e := &env{
		stdin:     strings.NewReader(c.stdin),
		stdout:    &stdout,
		stderr:    &stderr,
		getenv:    func(k string) string { return c.environ[k] },
		stderrTTY: c.stderrTTY,
		notify: func(ch chan<- os.Signal) func() {
			if c.signals == nil {
				return func() {}
			}
			done := make(chan struct{})
			go func() {
				for {
					select {
					case s := <-c.signals:
						ch <- s
					case <-done:
						return
					}
				}
			}()
			if c.onNotify != nil {
				c.onNotify()
			}
			return func() { close(done) }
		},
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = t.Context()
	}
	a := &app{env: e}
	if c.engine != nil {
		a.newEngine = func(*runConfig) (engine, error) { return c.engine, nil }
	}
	if c.inMemory {
		a.startEmulator = azureharness.InMemory
	}
	code := executeApp(ctx, a, args)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// runCLI runs the CLI with no stdin and an empty environment.
func runCLI(t testing.TB, args ...string) cliResult {
	t.Helper()
	return cli{}.run(t, args...)
}

// writeFile writes content to name in a fresh temp dir and returns its path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func osWriteFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

// TestMain keeps the tests away from the user's cache directory: the
// default cache of "deluge run" lands in a temporary one.
//
// With DELUGE_CLI_SUBPROCESS=1 the test binary is the deluge command
// instead: the end-to-end tests run it as a child process that they can
// interrupt and SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("DELUGE_CLI_SUBPROCESS") == "1" {
		os.Exit(execute(context.Background(), os.Args[1:], defaultEnv()))
	}
	dir, err := os.MkdirTemp("", "deluge-cli-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CACHE_HOME", dir)
	os.Setenv("HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func examplesFile(t *testing.T) string {
	t.Helper()
	return writeFile(t, "prompts.jsonl", string(examples.Prompts))
}

// requireEachOnce checks that each of the 200 example IDs has exactly one
// successful line.
func requireEachOnce(t *testing.T, rs []result) {
	t.Helper()
	counts := successCounts(rs)
	for i := 1; i <= 200; i++ {
		id := fmt.Sprintf("p%03d", i)
		require.Equal(t, 1, counts[id], "successful lines of %s", id)
	}
	require.Len(t, counts, 200)
}

// settle waits until the emulator has finished the requests a killed run
// left in its hands (answered to a closed connection), so that counting
// the rerun's requests does not count theirs.
func settle(t *testing.T, srv *azuretest.Server) {
	t.Helper()
	require.Eventually(t, func() bool { return srv.InFlight() == 0 }, 10*time.Second, 5*time.Millisecond,
		"the emulator still has requests of the killed run")
}
