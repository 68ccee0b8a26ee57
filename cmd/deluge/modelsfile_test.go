package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/registry"
)

func TestModelsFileRegistersFineTunes(t *testing.T) {
	const id = "clitest-ft-support" // a second run (-count) finds it registered with the same fields
	path := writeFile(t, "models.json", `[
  {"id": "`+id+`", "provider": "clitest", "name": "support-bot-ft", "base_model": "small",
   "input_cost": 0.165, "cached_input_cost": 0.0825, "output_cost": 0.66, "context_window": 128000,
   "supports_tools": true}
]`)
	r := runCLI(t, "--models-file", path, "models", "--provider", "clitest")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `(?m)^`+id+`\s+clitest\s+support-bot-ft\s+0.165\s+0.0825\s+0.66\s+128k\s+-\s+tools$`, r.stdout)
	m, err := registry.Lookup(id)
	require.NoError(t, err)
	assert.Equal(t, "small", m.BaseModel)

	// The same file again (another invocation in this process) is fine;
	// the environment variable names it too.
	r = cli{environ: map[string]string{envModelsFile: path}}.run(t, "models", "--provider", "clitest")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, id)
}

func TestModelsFileErrors(t *testing.T) {
	for name, tc := range map[string]struct{ content, want string }{
		"not an array":  {`{"id": "x"}`, "want a JSON array of models"},
		"unknown field": {`[{"id": "clitest-ft-x", "provider": "clitest", "input_price": 1}]`, `unknown field "input_price"`},
		"invalid":       {`[{"id": "clitest-ft-y", "provider": "clitest", "input_cost": -1}]`, "model 0: registry: model \"clitest-ft-y\": InputCost is -1"},
		"taken":         {`[{"id": "clitest-small", "provider": "clitest", "input_cost": 99}]`, `"clitest-small" is already registered`},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, "--models-file", writeFile(t, "m.json", tc.content), "models")
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, strings.TrimSpace(r.stdout), "nothing listed on a bad file")
		})
	}
	r := runCLI(t, "--models-file", "/nonexistent/models.json", "models")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "models file")
}
