package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/registry"
)

func TestModelsTable(t *testing.T) {
	r := runCLI(t, "models", "--provider", "clitest")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	assert.Regexp(t, `^ID\s+PROVIDER\s+WIRE NAME\s+IN \$/1M\s+CACHED \$/1M\s+OUT \$/1M\s+CONTEXT\s+MAX OUT\s+CAPABILITIES$`, lines[0])
	assert.Regexp(t, `^clitest-big\s+clitest\s+big\s+10\s+-\s+30\s+128k\s+-\s+images,reasoning$`, lines[1])
	assert.Regexp(t, `^clitest-small\s+clitest\s+small\s+1\s+0.5\s+2\s+1k\s+100\s+json,tools$`, lines[2])
}

func TestModelsAllProviders(t *testing.T) {
	r := runCLI(t, "models")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "clitest-other-small")
	assert.Contains(t, r.stdout, "clitest-small")
}

func TestModelsJSON(t *testing.T) {
	r := runCLI(t, "models", "--provider", "clitest-other", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ms []registry.Model
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ms))
	require.Len(t, ms, 1)
	assert.Equal(t, "clitest-other-small", ms[0].ID)
	assert.Equal(t, 2.0, ms[0].InputCost)
}

func TestModelsUnknownProvider(t *testing.T) {
	r := runCLI(t, "models", "--provider", "nope")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `no models for provider "nope"`)
	assert.Contains(t, r.stderr, "clitest-other")
}

func TestLookupModel(t *testing.T) {
	m, err := lookupModel("clitest-small", "")
	require.NoError(t, err)
	assert.Equal(t, "clitest", m.Provider)

	m, err = lookupModel("clitest-small", "clitest-other")
	require.NoError(t, err)
	assert.Equal(t, "clitest-other-small", m.ID, "--provider switches to the same base model")

	_, err = lookupModel("clitest-smal", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown model "clitest-smal" (did you mean "clitest-small"`)
	assert.Contains(t, err.Error(), "deluge models")

	_, err = lookupModel("clitest-big", "clitest-other")
	assert.ErrorContains(t, err, `provider "clitest-other" has no model with base model "clitest-big"`)

	_, err = lookupModel("clitest-big", "nope")
	assert.ErrorContains(t, err, `unknown provider "nope"`)
}
