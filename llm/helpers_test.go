package llm_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/conversation"
	"github.com/deluge-go/deluge/llm"
)

// fast are options that keep unit tests quick and quiet: no rate limits,
// millisecond backoff, no logs.
func fast() []llm.ClientOption {
	return []llm.ClientOption{
		llm.WithMaxRequestsPerMinute(-1),
		llm.WithMaxTokensPerMinute(-1),
		llm.WithRetryBackoff(time.Millisecond, 5*time.Millisecond),
		llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
}

// newClient returns a client for model "test-model" served by p, with the
// fast options followed by opts.
func newClient(t testing.TB, p llm.Provider, opts ...llm.ClientOption) *llm.Client {
	t.Helper()
	c, err := llm.NewClient("test-model", append(append(fast(), llm.WithProviderInstance(p)), opts...)...)
	require.NoError(t, err)
	return c
}

func prompts(n int) []*conversation.Conversation {
	out := make([]*conversation.Conversation, n)
	for i := range out {
		out[i] = conversation.New().User(fmt.Sprintf("prompt %d", i))
	}
	return out
}

func user(text string) *conversation.Conversation { return conversation.New().User(text) }

// mapCache is an in-memory llm.Cache that counts its use.
type mapCache struct {
	mu         sync.Mutex
	m          map[string]llm.Response
	gets, puts int
	err        error
}

func newMapCache() *mapCache { return &mapCache{m: map[string]llm.Response{}} }

func (c *mapCache) Get(_ context.Context, key string) (*llm.Response, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	if c.err != nil {
		return nil, false, c.err
	}
	r, ok := c.m[key]
	if !ok {
		return nil, false, nil
	}
	return &r, true, nil
}

func (c *mapCache) Put(_ context.Context, key string, r *llm.Response) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	if c.err != nil {
		return c.err
	}
	c.m[key] = *r
	return nil
}

func (c *mapCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// logRecorder is a slog.Handler that keeps the records it handles.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r.Clone())
	return nil
}
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records have the message msg at level.
func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.records {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

// byModel is a provider that dispatches on the request's model ID, for
// routing tests.
type byModel map[string]llm.Provider

func (p byModel) Generate(ctx context.Context, req *llm.Request) (*llm.Response, error) {
	return p[req.Model.ID].Generate(ctx, req)
}

// goCommand runs the go command of the toolchain running the tests in dir,
// with env added to the environment, and returns its combined output. It
// skips the test under -short, and when the go command cannot be found.
func goCommand(t *testing.T, dir string, env []string, args ...string) (string, error) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the go command")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go command at %s", goTool)
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off"), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// moduleRoot returns the directory of the deluge module.
func moduleRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	return filepath.Dir(wd) // the tests run in llm/
}
