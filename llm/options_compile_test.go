package llm_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The split between Option (a call's settings) and ClientOption (the
// engine's) is enforced by the compiler: an engine option handed to a call
// does not compile. A test cannot express non-compilation in Go itself, so
// these tests compile small programs with the go command, through an
// overlay (nothing is written to the repository), and read its errors.

// misuse holds one engine option handed to a call per line, each marked
// with "// want"; every marked line, and no other, must fail to compile.
const misuse = `package check

import (
	"context"
	"log/slog"
	"time"

	"github.com/deluge-go/deluge/llm"
)

func misuse(ctx context.Context, c *llm.Client) {
	c.Generate(ctx, nil, llm.WithMaxAttempts(3)) // want
	c.Process(ctx, nil, llm.WithCache(nil)) // want
	c.Stream(ctx, nil, llm.WithRequestTimeout(time.Second)) // want
	c.ProcessSeq(ctx, nil, llm.WithLogger(slog.Default())) // want
	c.ProcessJobs(ctx, nil, llm.WithMaxConcurrency(4)) // want
	_ = llm.Job{Options: []llm.Option{llm.WithModelWeights(nil)}} // want
	_ = []llm.Option{llm.WithProgressFunc(nil)} // want
	_ = []llm.Option{llm.WithProvider("azure-foundry")} // want
	var o llm.Option = llm.WithMaxRequestsPerMinute(1) // want
	_ = o
}
`

// fine holds what must compile: call options on calls and on NewClient,
// engine and call options mixed in one []llm.ClientOption.
const fine = `package check

import (
	"context"

	"github.com/deluge-go/deluge/llm"
)

func fine(ctx context.Context) {
	c, _ := llm.NewClient("m", llm.WithMaxAttempts(3), llm.WithTemperature(0), llm.WithStrictContentFilter())
	opts := []llm.ClientOption{llm.WithCache(nil), llm.WithMaxNewTokens(10), llm.WithProgressTotal(5)}
	c, _ = llm.NewClient("m", opts...)
	c.Generate(ctx, nil, llm.WithTemperature(1), llm.WithStrictContentFilter())
	c.Process(ctx, nil, llm.WithMaxNewTokens(5))
	c.ProcessSeq(ctx, nil, llm.WithProgressTotal(100))
	_ = llm.Job{Options: []llm.Option{llm.WithJSONMode()}}
}
`

func TestEngineOptionsOnACallDoNotCompile(t *testing.T) {
	out, err := buildOverlay(t, misuse)
	require.Error(t, err, "the misuse compiled:\n%s", out)
	want := map[int]bool{}
	for i, line := range strings.Split(misuse, "\n") {
		if strings.HasSuffix(line, "// want") {
			want[i+1] = true
		}
	}
	got := map[int]bool{}
	for _, m := range regexp.MustCompile(`check\.go:(\d+):\d+: (.*)`).FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(m[1])
		got[n] = true
		assert.Contains(t, m[2], "llm.ClientOption", "line %d: the error names the option's type", n)
	}
	assert.Equal(t, want, got, "compiler output:\n%s", out)
}

func TestCallOptionsCompileEverywhere(t *testing.T) {
	out, err := buildOverlay(t, fine)
	require.NoError(t, err, "%s", out)
}

// buildOverlay compiles src as package check inside the llm module,
// without writing it there, and returns the go command's output.
func buildOverlay(t *testing.T, src string) (string, error) {
	t.Helper()
	root := moduleRoot(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "check.go")
	require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
	target := filepath.Join(root, "llm", "internal", "overlaycheck", "check.go")
	overlay := filepath.Join(dir, "overlay.json")
	require.NoError(t, os.WriteFile(overlay, []byte(`{"Replace":{`+strconv.Quote(target)+`:`+strconv.Quote(file)+`}}`), 0o644))
	return goCommand(t, root, nil, "build", "-overlay", overlay, "./llm/internal/overlaycheck")
}
