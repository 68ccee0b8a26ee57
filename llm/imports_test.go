package llm_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Modules a program that uses only llm and a provider must not inherit:
// terminal libraries (the progress bar and its helpers) and what only the
// benchmark program needs.
var unwanted = []string{
	"github.com/schollz/progressbar",
	"golang.org/x/term",
	"github.com/mitchellh/colorstring",
	"github.com/rivo/uniseg",
	"github.com/mattn/go-runewidth",
	"github.com/openai/openai-go",
	"golang.org/x/time",
	"github.com/deluge-go/deluge/bench",
}

// TestLeanImports: the packages llm and providers/azurefoundry pull in
// nothing that draws on a terminal or only serves the benchmarks, nor
// deluge's progress display, nor OpenTelemetry, nor the Redis client (a
// program that does not use pacing/redispacing or cache/rediscache does not
// link it: the Redis limiter switched off costs nothing).
func TestLeanImports(t *testing.T) {
	root := moduleRoot(t)
	out, err := goCommand(t, root, nil, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"./llm", "./providers/azurefoundry")
	require.NoError(t, err, "%s", out)
	deps := strings.Fields(out)
	require.Contains(t, deps, "github.com/deluge-go/deluge/llm")
	for _, p := range deps {
		for _, bad := range append(unwanted, "github.com/mattn/go-isatty", "github.com/deluge-go/deluge/progress",
			// OpenTelemetry is package telemetry's: llm only defines the
			// Observer hooks. Its modules are in deluge's go.mod (for
			// telemetry and the CLI), so a program's module graph lists
			// them, but a program that does not import telemetry builds
			// none of their packages.
			"go.opentelemetry.io", "google.golang.org/grpc", "google.golang.org/protobuf",
			"github.com/deluge-go/deluge/telemetry", "github.com/redis/go-redis") {
			assert.False(t, p == bad || strings.HasPrefix(p, bad+"/"), "%s is imported", p)
		}
	}
}

// TestLeanModuleGraph: the module graph of a program that imports only
// llm and providers/azurefoundry lists no terminal or benchmark module.
// (github.com/mattn/go-isatty is in it: modernc.org/libc, under the SQLite
// cache, requires it, and deluge's go.mod must list what any of its
// packages needs.)
func TestLeanModuleGraph(t *testing.T) {
	root := moduleRoot(t)
	dir := t.TempDir()
	gomod := "module example.com/tiny\n\ngo 1.26.0\n\n" +
		"require github.com/deluge-go/deluge v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/deluge-go/deluge => " + root + "\n"
	main := `package main

import (
	"github.com/deluge-go/deluge/llm"
	_ "github.com/deluge-go/deluge/providers/azurefoundry"
)

func main() { _, _ = llm.NewClient("azure-gpt-4o") }
`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o644))
	sums, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sums, 0o644))

	// Offline: every module the graph needs is in the module cache already.
	out, err := goCommand(t, dir, []string{"GOPROXY=off", "GOFLAGS=-mod=mod"}, "mod", "graph")
	require.NoError(t, err, "%s", out)
	require.Contains(t, out, "github.com/deluge-go/deluge@")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 2, "go mod graph line %q", line)
		for _, bad := range unwanted {
			assert.False(t, strings.HasPrefix(f[1], bad+"@") || strings.HasPrefix(f[1], bad+"/"), "%s requires %s", f[0], f[1])
		}
	}
}
